//! `#[rspar::test]` from a user's crate: runs `cargo test` in `tests/crate` (which depends
//! on rspar by path; its tests are `tests/crate/tests/ranks.rs`) and checks what the
//! issue asks: the ring passes at 1, 2 and 3 ranks, a failure on rank 2 names the rank
//! and shows its message, and a hang fails at its limit with a line that says so. Every
//! cargo run has a time limit (the runtime's own driver: process group killed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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

/// The ranks of [`a_killed_driver_leaves_no_process`]'s job: each says it is running (a
/// file in `RSPAR_KILL_DIR`), then sleeps outside MPI until killed.
#[rspar::test(ranks = [2], timeout = 120)]
#[ignore = "run by a_killed_driver_leaves_no_process"]
fn sleeps_until_killed(world: &rspar::Communicator) -> rspar::Result<()> {
    world.barrier()?;
    let dir = std::env::var("RSPAR_KILL_DIR").expect("RSPAR_KILL_DIR");
    std::fs::write(format!("{dir}/ready.{}", world.rank()), b"").expect("ready file");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The processes whose environment has `RSPAR_KILL_DIR=dir`: (pid, command line).
fn marked(dir: &str) -> Vec<(u32, String)> {
    let mark = format!("RSPAR_KILL_DIR={dir}");
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == mark.as_bytes()))
        })
        .map(|pid| {
            let line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (pid, String::from_utf8_lossy(&line).replace('\0', " "))
        })
        .collect()
}

/// A test process (the driver of `sleeps_until_killed`, in a process group of its own
/// like a `cargo test` at a terminal) is ended mid-job three ways: SIGKILL to the driver
/// alone (a killed test process), SIGINT to its group (Ctrl-C), SIGKILL to its group (a
/// CI limit). Each time, no process of the job (launcher, ranks) may be left.
#[test]
fn a_killed_driver_leaves_no_process() {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().expect("current_exe");
    for (how, signal, group) in [
        ("SIGKILL to the driver", "-KILL", false),
        ("Ctrl-C (SIGINT to its group)", "-INT", true),
        ("SIGKILL to its group", "-KILL", true),
    ] {
        let dir = std::env::temp_dir().join(format!(
            "rspar-kill-{}-{}",
            std::process::id(),
            signal.trim_start_matches('-').to_lowercase() + if group { "g" } else { "" }
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let dir_text = dir.to_string_lossy().into_owned();
        let mut driver = std::process::Command::new(&exe)
            .args(["--exact", "sleeps_until_killed", "--ignored", "--nocapture"])
            .env("RSPAR_KILL_DIR", &dir_text)
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the driver");
        let pid = driver.id();
        let ready = Instant::now() + Duration::from_secs(60);
        while ["ready.0", "ready.1"].iter().any(|f| !dir.join(f).exists()) {
            if Instant::now() > ready || driver.try_wait().ok().flatten().is_some() {
                let _ = driver.kill();
                let left = marked(&dir_text);
                for (pid, _) in &left {
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                }
                panic!("{how}: the job's ranks did not start within 60 s; left: {left:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let target = if group {
            format!("-{pid}")
        } else {
            pid.to_string()
        };
        let killed = std::process::Command::new("kill")
            .args([signal, "--", &target])
            .status()
            .expect("kill");
        assert!(killed.success(), "{how}: kill {signal} {target} failed");
        let _ = driver.wait();
        // The job ends on its own (the launcher ends its ranks, a rank whose launcher is
        // gone ends itself); give it a generous while on a loaded machine.
        let gone = Instant::now() + Duration::from_secs(30);
        let mut left = marked(&dir_text);
        while !left.is_empty() && Instant::now() < gone {
            std::thread::sleep(Duration::from_millis(100));
            left = marked(&dir_text);
        }
        for (pid, _) in &left {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            left.is_empty(),
            "{how}: processes of the job outlived its driver by 30 s: {left:#?}"
        );
    }
}
