//! The driver side of a multi-rank test: in the normal `cargo test` process, launch this
//! test binary under the MPI launcher, filtered to one test, and wait for it with a time
//! limit; the launcher and its ranks run in a process group of their own, killed whole
//! when the limit passes.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What one launch did: the driver's, and the `tests/common` harness's of rspar's own
/// tests (one struct for both).
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None`: ended by a signal).
    pub code: Option<i32>,
    /// True when the time limit ended it.
    pub timed_out: bool,
    /// Standard output (the ranks' and the launcher's).
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
    /// The command, for reports.
    pub command: String,
}

impl Run {
    /// True when the job exited 0 within its time limit.
    pub fn success(&self) -> bool {
        !self.timed_out && self.code == Some(0)
    }

    /// Everything a person needs to see when an assertion about this run fails: the
    /// command, how and when it ended, both outputs.
    pub fn report(&self) -> String {
        format!(
            "command: {}\nexit: {:?}{} after {:.1?}\n--- stdout\n{}\n--- stderr\n{}",
            self.command,
            self.code,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }

    /// Panic with the report unless the job succeeded.
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "mpirun job failed\n{}", self.report());
        self
    }
}

/// One job at a time per process: ranks of jobs run side by side would fight for the
/// cores and blur the time limits (libtest runs tests on several threads).
static ONE_JOB: Mutex<()> = Mutex::new(());

/// Wait for this process's one-job lock and hold it while the guard lives: every launch
/// takes it, `#[rspar::test]`'s and the `tests/common` harness's alike, so a test binary
/// that has both still runs one job at a time.
pub fn one_job() -> MutexGuard<'static, ()> {
    ONE_JOB.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long the launcher gets to end its ranks after SIGTERM, before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// Run `cmd` (a launcher command) to its end or until `timeout`, capturing its output;
/// at the limit the whole process group gets SIGTERM, then SIGKILL. One job at a time.
pub fn run(mut cmd: Command, timeout: Duration) -> Run {
    let _one = one_job();
    let command = describe(&cmd);
    use std::os::unix::process::CommandExt;
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => {
            return Run {
                code: None,
                timed_out: false,
                stdout: String::new(),
                stderr: format!("cannot start '{command}': {err}"),
                elapsed: start.elapsed(),
                command,
            }
        }
    };
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let (code, timed_out) = wait(&mut child, timeout);
    let collect = |rx: mpsc::Receiver<String>| {
        rx.recv_timeout(GRACE)
            .unwrap_or_else(|_| "(output cut: a process of the job still holds it)\n".into())
    };
    Run {
        code,
        timed_out,
        stdout: collect(stdout),
        stderr: collect(stderr),
        elapsed: start.elapsed(),
        command,
    }
}

/// Wait for the launcher until `timeout`; then end its group. (exit code, timed out)
fn wait(child: &mut Child, timeout: Duration) -> (Option<i32>, bool) {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return (status.code(), false);
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
    let group = child.id();
    crate::ffi::signal_group(group, libc::SIGTERM);
    let grace = Instant::now() + GRACE;
    while Instant::now() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ranks that outlived the launcher are in its group too.
    crate::ffi::signal_group(group, libc::SIGKILL);
    let code = child.wait().ok().and_then(|s| s.code());
    (code, true)
}

/// Read a pipe to its end on a thread; the text arrives on the channel.
fn reader(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// `program arg arg ...`, for reports.
fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// The path of this test binary.
pub(crate) fn current_exe() -> std::path::PathBuf {
    std::env::current_exe()
        .unwrap_or_else(|e| panic!("rspar::test: cannot find the test binary: {e}"))
}

/// The launcher command that runs the libtest test `test` of `exe` on `n` ranks, rank
/// mode announced in the environment.
pub(crate) fn rank_command(
    launcher: &super::Launcher,
    exe: &Path,
    test: &str,
    n: usize,
    watchdog: Option<Duration>,
) -> Command {
    let mut cmd = launcher.command(n, true, exe);
    cmd.args([
        test,
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "--include-ignored",
        "-q",
    ]);
    cmd.env(super::TEST_VARIABLE, test)
        .env(super::RANKS_VARIABLE, n.to_string());
    if let Some(limit) = watchdog {
        cmd.env(
            crate::watch::VARIABLE,
            format!("{:.1}", limit.as_secs_f64()),
        );
    }
    cmd
}
