//! The multi-rank test harness: launches programs under a real `mpirun` with a timeout.
//!
//! Two ways to use it:
//! - [`mpirun`] runs any program (usually an example, see [`example`]) on N ranks and
//!   returns its exit code and output; a hang is killed at the timeout and reported.
//! - [`spmd`] runs the body of a `#[test]` on N ranks: the test re-launches its own test
//!   binary under `mpirun -n N`, filtered to itself, with `RSPAR_SPMD_TEST` set; inside
//!   that job every rank runs the body. The driver checks that all N ranks passed.
//!
//! Launcher flags live here only: `--oversubscribe` and the run-as-root variables for
//! Open MPI; `RSPAR_MPIRUN` picks another launcher (MPICH's `mpiexec.mpich` for a build
//! against MPICH: `scripts/test.sh --mpi mpich`). A launcher of the other MPI than the
//! one the tests were built against is refused (its ranks would be separate worlds), an
//! SPMD rank checks that its world has the size the driver launched, and no job may
//! print rspar's launcher-mismatch warning.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

// One mpirun at a time per test binary (ranks of concurrent jobs would fight for the two
// cores and blur timeouts): every launch holds this lock, `#[rspar::test]`'s lock too, so
// a binary with both kinds of test still runs one job at a time.
use rspar::__private::test::driver::one_job;

/// Rank counts every multi-rank test runs at, at least.
pub const SIZES: &[usize] = &[1, 2, 3, 4, 5];

/// The default time limit of one mpirun.
pub const TIMEOUT: Duration = Duration::from_secs(120);

const SPMD_VAR: &str = "RSPAR_SPMD_TEST";
/// The number of ranks the driver launched, for the ranks to check their world's size.
const SIZE_VAR: &str = "RSPAR_SPMD_SIZE";
const PASSED_MARK: &str = "rspar-spmd: rank body passed:";

/// What one mpirun did (exit code, timed out, outputs, wall time, the command), with
/// `success`, `report` and `assert_success`: the struct `#[rspar::test]`'s driver returns.
pub use rspar::__private::test::driver::Run;

/// Which MPI's launcher runs the jobs (and so which one the tests were built against).
pub use rspar::__private::test::Flavor;
use rspar::__private::test::Launcher;

/// The launcher: rspar's own choice for `#[rspar::test]` (`RSPAR_MPIRUN`, else the
/// linked MPI's launcher; `src/testing/launcher.rs`), so the harness and the macro agree.
/// Panics when it belongs to another MPI than the one this test binary was built
/// against: its ranks would each be a world of one rank, and tests that count markers
/// could pass without any messages.
fn launcher() -> &'static Launcher {
    Launcher::get().unwrap_or_else(|why| {
        panic!("{why}\n(scripts/test.sh --mpi openmpi|mpich picks the MPI for build and launcher)")
    })
}

/// The MPI whose launcher runs the jobs, for the few expectations that differ (how the
/// launcher reports a rank that died by a signal, and how it handles SIGINT).
pub fn flavor() -> Flavor {
    launcher().flavor
}

/// What rspar's `init` prints when the launcher does not match the library (see
/// `src/launch.rs`); no job of the harness may print it.
pub const MISMATCH_WARNING: &str = "rspar: warning: this world has 1 rank but ";

/// Run `program args` on `n` ranks under mpirun, with extra environment `env`, killed
/// after `timeout`.
pub fn mpirun_with(
    n: usize,
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> Run {
    mpirun_apps(&[(n, program, args)], env, timeout)
}

/// Check that a run of the ring example on `n` ranks succeeded: every rank said where it
/// runs, and rank 0 got the message back from rank `n - 1` with every rank's mark.
pub fn assert_ring_went_round(run: &Run, n: usize) {
    run.assert_success();
    for r in 0..n {
        let line = format!("I am rank {r} of {n} on node ");
        assert!(
            run.stdout.contains(&line),
            "missing '{line}'\n{}",
            run.report()
        );
    }
    let message: String = (0..n).map(|r| format!("P{r}")).collect();
    let last = format!(
        "Processor 0 received message \"{message}\" from rank {}",
        n - 1
    );
    assert!(
        run.stdout.lines().any(|l| l == last),
        "missing '{last}'\n{}",
        run.report()
    );
}

/// Run `program args` directly, without a launcher (an MPI singleton, which may spawn
/// workers at run time), with extra environment `env`, killed after `timeout` (coreutils
/// `timeout` signals its process group; Open MPI's singleton daemon ends the spawned
/// workers when their parent dies). The run-as-root variables are set as for mpirun.
pub fn direct(program: &Path, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Run {
    let _one = one_job();
    let command = format!("{} {}", program.display(), args.join(" "));
    let mut inner = Command::new(program);
    inner
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("PRTE_ALLOW_RUN_AS_ROOT", "1")
        .env("PRTE_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .envs(rspar::__private::test::launcher::rank_variables());
    run_within(&inner, env, timeout, command)
}

/// Run this test binary directly (no launcher), only the test `name`, in rank mode:
/// the body runs in a world of one rank, and a pool in it may spawn workers. The run,
/// for the caller to check (see [`spmd_direct`]).
pub fn launch_self_direct(name: &str, env: &[(&str, &str)]) -> Run {
    let exe = std::env::current_exe().expect("current_exe");
    let mut all_env = vec![(SPMD_VAR, name)];
    all_env.extend_from_slice(env);
    direct(&exe, &self_args(name), &all_env, TIMEOUT)
}

/// Run `body` in this test binary started directly (a world of one rank; the pool's
/// spawned workers run it too, as every process runs `main`), and check that it passed.
pub fn spmd_direct(
    name: &str,
    body: impl FnOnce(&rspar::Communicator) -> rspar::Result<()>,
) -> Option<Run> {
    if in_rank(name) {
        spmd(name, &[], body);
        return None;
    }
    let run = launch_self_direct(name, &[]);
    run.assert_success();
    let mark = format!("{PASSED_MARK} {name}\n");
    assert_eq!(run.stdout.matches(&mark).count(), 1, "{}", run.report());
    Some(run)
}

/// True in a pool worker spawned at run time (by a pool in a test body): it runs the
/// test body too, but is none of the launched ranks the driver counts.
pub fn spawned_worker() -> bool {
    std::env::var_os("RSPAR_POOL_SPAWNED").is_some()
}

/// Run `program args` on `n` ranks with the default timeout.
pub fn mpirun(n: usize, program: &Path, args: &[&str]) -> Run {
    mpirun_with(n, program, args, &[], TIMEOUT)
}

/// The path of a built example (cargo test builds the examples).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/examples/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join("examples").join(name);
    if !path.exists() {
        // `cargo test` builds the examples; `cargo test --test X` does not.
        let profile = dir.file_name().and_then(|p| p.to_str()) == Some("release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "--example", name]);
        if profile {
            build.arg("--release");
        }
        let status = build
            .status()
            .expect("cannot run cargo to build the example");
        assert!(status.success(), "building example {name} failed");
    }
    assert!(
        path.exists(),
        "example {name} not found at {}",
        path.display()
    );
    path
}

/// True inside an SPMD job launched by [`spmd`] for the test `name`.
pub fn in_rank(name: &str) -> bool {
    std::env::var(SPMD_VAR).is_ok_and(|v| v == name)
}

/// Launch this test binary on `n` ranks, running only the test `name` in rank mode.
pub fn launch_self(name: &str, n: usize, env: &[(&str, &str)]) -> Run {
    launch_self_within(name, n, env, TIMEOUT)
}

/// [`launch_self`] with the time limit `timeout`.
pub fn launch_self_within(name: &str, n: usize, env: &[(&str, &str)], timeout: Duration) -> Run {
    let exe = std::env::current_exe().expect("current_exe");
    let size = n.to_string();
    let mut all_env = vec![(SPMD_VAR, name), (SIZE_VAR, size.as_str())];
    all_env.extend_from_slice(env);
    mpirun_with(n, &exe, &self_args(name), &all_env, timeout)
}

/// Run `body` on every rank of a world of each size in `sizes`. Call it from a `#[test]`
/// named `name`. A rank whose body returns `Err` or panics fails the whole job.
pub fn spmd(
    name: &str,
    sizes: &[usize],
    body: impl FnOnce(&rspar::Communicator) -> rspar::Result<()>,
) {
    spmd_process(name, sizes, || {
        let world = rspar::init().expect("rspar::init");
        let launched = std::env::var(SIZE_VAR).ok().and_then(|n| n.parse().ok());
        if let Some(launched) = launched.filter(|_| !spawned_worker()) {
            assert_eq!(
                world.size(),
                launched,
                "the launcher started {launched} ranks but this world has {}: \
                 launcher and MPI library differ",
                world.size()
            );
        }
        let result = body(&world);
        // Like `main` returning the result: with an error alive, dropping the world
        // aborts the job and names the rank.
        drop(world);
        result.expect("rank body failed");
    })
}

/// Like [`spmd`], for bodies that start MPI themselves.
pub fn spmd_process(name: &str, sizes: &[usize], body: impl FnOnce()) {
    if in_rank(name) {
        body();
        if spawned_worker() {
            return;
        }
        // One write per line, so lines of different ranks cannot interleave.
        use std::io::Write;
        let line = format!("{PASSED_MARK} {name}\n");
        std::io::stdout().lock().write_all(line.as_bytes()).unwrap();
        return;
    }
    launch_sizes(name, sizes);
}

/// The driver side of [`spmd_process`]: one job per size, each checked; the runs.
fn launch_sizes(name: &str, sizes: &[usize]) -> Vec<Run> {
    let mut runs = Vec::new();
    for &n in sizes {
        let run = launch_self(name, n, &[]);
        run.assert_success();
        // libtest may leave a line open; the marker is one write, so count it as text.
        let mark = format!("{PASSED_MARK} {name}\n");
        let passed = run.stdout.matches(&mark).count();
        assert_eq!(
            passed,
            n,
            "expected {n} ranks to pass '{name}'\n{}",
            run.report()
        );
        runs.push(run);
    }
    runs
}

/// Like [`spmd`], and the driver gets every job's [`Run`] (its output and time), one per
/// size; inside a rank the list is empty.
pub fn spmd_runs(
    name: &str,
    sizes: &[usize],
    body: impl FnOnce(&rspar::Communicator) -> rspar::Result<()>,
) -> Vec<Run> {
    if in_rank(name) {
        spmd(name, sizes, body);
        return Vec::new();
    }
    launch_sizes(name, sizes)
}

/// A job started by [`spawn_self`]; it holds the one-job lock while it lives.
pub struct Job {
    /// The launcher process itself (no `timeout` wrapper in between, so signals sent to
    /// its pid reach mpirun), with stdout and stderr piped.
    pub child: std::process::Child,
    /// The command, for reports.
    pub command: String,
    _one: std::sync::MutexGuard<'static, ()>,
}

/// Start this test binary on `n` ranks in rank mode for the test `name`, like
/// [`launch_self`], but return at once with the running launcher. The caller owns the
/// time limit: it must wait for or kill the child.
pub fn spawn_self(name: &str, n: usize, env: &[(&str, &str)]) -> Job {
    let exe = std::env::current_exe().expect("current_exe");
    let size = n.to_string();
    let mut all_env = vec![(SPMD_VAR, name), (SIZE_VAR, size.as_str())];
    all_env.extend_from_slice(env);
    let args = [name, "--exact", "--nocapture", "--test-threads=1"];
    spawn_program(n, &exe, &args, &all_env)
}

/// Start `program` with `args` on `n` ranks under the launcher and return at once, like
/// [`spawn_self`]; the caller owns the time limit.
pub fn spawn_program(n: usize, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Job {
    let one = one_job();
    let launcher = &launcher().program;
    let mut cmd = self::launcher().command(n, false, program);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let command = format!("{launcher} -n {n} {} {}", program.display(), args.join(" "));
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start '{command}': {e}"));
    Job {
        child,
        command,
        _one: one,
    }
}

/// Print `text` on the test run's stderr even when the test passes (libtest captures
/// `eprintln!` of passing tests; a direct write is not captured). For what a test could
/// not check under this MPI: never a silent skip.
pub fn note(text: &str) {
    use std::io::Write;
    let line = format!("NOTE: {text}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The peak resident memory of this process so far, in bytes (`VmHWM`): for tests that a
/// path does not allocate what it need not.
pub fn peak_memory() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Run one job of one or more programs, `launcher -n n1 prog1 args1 : -n n2 prog2 args2
/// ...` (the same syntax for Open MPI's mpirun and MPICH's hydra; one program is a plain
/// SPMD job), with extra environment `env`, killed after `timeout`.
pub fn mpirun_apps(
    apps: &[(usize, &Path, &[&str])],
    env: &[(&str, &str)],
    timeout: Duration,
) -> Run {
    let _one = one_job();
    let ((n, program, args), rest) = apps.split_first().expect("at least one program");
    // The launcher's command for the first program (flags and variables from rspar), the
    // others after `:`, all under coreutils timeout.
    let mut inner = launcher().command(*n, false, program);
    inner.args(*args);
    let mut command = format!(
        "{} -n {n} {} {}",
        launcher().program,
        program.display(),
        args.join(" ")
    );
    for (n, program, args) in rest {
        inner
            .arg(":")
            .arg("-n")
            .arg(n.to_string())
            .arg(program)
            .args(*args);
        command.push_str(&format!(
            " : -n {n} {} {}",
            program.display(),
            args.join(" ")
        ));
    }
    let run = run_within(&inner, env, timeout, command);
    assert!(
        !run.stderr.contains(MISMATCH_WARNING),
        "the job's ranks were not one world (launcher and MPI library differ)\n{}",
        run.report()
    );
    run
}

/// The test harness's arguments that run the one test `name` of this binary, ignored or
/// not, with its output shown.
fn self_args(name: &str) -> [&str; 5] {
    [
        name,
        "--exact",
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ]
}

/// Run `inner` (its program, arguments and variables) with extra environment `env` under
/// coreutils `timeout` (`-k 5`: a kill 5 s after the signal), and collect its output.
fn run_within(inner: &Command, env: &[(&str, &str)], timeout: Duration, command: String) -> Run {
    let mut cmd = Command::new("timeout");
    cmd.arg("-k").arg("5").arg(format!("{}", timeout.as_secs()));
    cmd.arg(inner.get_program()).args(inner.get_args());
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start '{command}': {e}"));
    let code = out.status.code();
    Run {
        code,
        // coreutils timeout exits 124 when it had to stop the command (137 after -k).
        timed_out: matches!(code, Some(124) | Some(137)),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
        command,
    }
}

/// The launcher runs jobs with ULFM on (the `ulfm` configuration's `--with-ft ulfm`).
pub fn fault_tolerant_launch() -> bool {
    Launcher::get().is_ok_and(|l| l.flags.contains(&"--with-ft"))
}

/// End this process as a crash would: SIGKILL, no unwinding, no rspar hook, no MPI call.
pub fn die() -> ! {
    let pid = std::process::id().to_string();
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// [`die`] `after` from now, from a thread.
pub fn die_in(after: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        die()
    });
}
