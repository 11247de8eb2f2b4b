//! `#[rspar::test]` from a user's crate: runs `cargo test` in `tests/crate` (which depends
//! on rspar by path; its tests are `tests/crate/tests/ranks.rs`) and checks what the
//! issue asks: the ring passes at 1, 2 and 3 ranks, a failure on rank 2 names the rank
//! and shows its message, and a hang fails at its limit with a line that says so. Every
//! cargo run has a time limit (the runtime's own driver: process group killed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rspar::__private::test::driver::{self, Run};

/// The downstream crate's target directory: `<this target dir>/downstream`, as
/// scripts/test.sh uses (one per MPI: target/ or target/mpich).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // <target>/debug/deps/testmacro-<hash>
    let target = exe.ancestors().nth(3).expect("target dir");
    target.join("downstream")
}

fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crate/Cargo.toml")
}

/// `cargo test --test ranks <args>` in the downstream crate, within `limit`.
fn cargo_test(args: &[&str], limit: Duration) -> Run {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["test", "--quiet", "--manifest-path"])
        .arg(manifest())
        .args(["--test", "ranks"])
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("RUST_BACKTRACE", "0");
    driver::run(cmd, limit)
}

/// Build once (the first build of the crate compiles rspar and its dependencies).
fn build() {
    let job = cargo_test(&["--no-run"], Duration::from_secs(900));
    assert!(
        job.success(),
        "building tests/crate failed\n{}",
        job.report()
    );
}

#[test]
fn passing_and_failing_tests_from_a_user_crate() {
    build();
    let job = cargo_test(&["--", "--nocapture"], Duration::from_secs(300));
    let all = format!("{}{}", job.stdout, job.stderr);
    assert!(job.success(), "{}", job.report());
    for n in 1..=3 {
        let line = format!("rspar::test: ring_goes_round passed on {n} ranks");
        assert!(all.contains(&line), "missing '{line}'\n{}", job.report());
    }
    assert!(
        all.contains("rspar::test: waits passed on 2 ranks"),
        "{}",
        job.report()
    );
    // The rank-2 failure (a #[should_panic] test, so it passes): the rank and message.
    for text in [
        "rspar::test: fails_on_rank_2 failed on 3 ranks: rank 2 of 3 panicked at tests/ranks.rs:",
        "rank 2 refuses",
        "[rank 2/3] rspar::test: failed: rank 2 of 3 panicked",
        "rspar::test: err_on_rank_1 failed on 2 ranks: rank 1 of 2 returned Err: \"rank 1 has no answer\"",
        "test result: ok. 4 passed; 0 failed; 2 ignored",
    ] {
        assert!(all.contains(text), "missing '{text}'\n{}", job.report());
    }
}

#[test]
fn a_hang_fails_at_its_timeout() {
    build();
    // In an rspar call: the watchdog (set below the test's 5 s) names the wait.
    let job = cargo_test(
        &["--", "--ignored", "--exact", "hangs_in_receive"],
        Duration::from_secs(120),
    );
    let all = format!("{}{}", job.stdout, job.stderr);
    assert!(!job.timed_out && !job.success(), "{}", job.report());
    for text in [
        "rspar::test: hangs_in_receive on 2 ranks timed out (rspar's watchdog, set below the test's 5 s): rank 0 of 2 has waited",
        "in receive for a message from rank 1",
        "test result: FAILED. 0 passed; 1 failed",
    ] {
        assert!(all.contains(text), "missing '{text}'\n{}", job.report());
    }
    // Outside MPI: the driver kills the job at the test's 3 s.
    let job = cargo_test(
        &["--", "--ignored", "--exact", "hangs_in_sleep"],
        Duration::from_secs(120),
    );
    let all = format!("{}{}", job.stdout, job.stderr);
    assert!(!job.timed_out && !job.success(), "{}", job.report());
    let line = "rspar::test: hangs_in_sleep on 2 ranks timed out after 3 s (the job was killed)";
    assert!(all.contains(line), "missing '{line}'\n{}", job.report());
}
