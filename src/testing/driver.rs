//! The driver side of a multi-rank test: in the normal `cargo test` process, launch this
//! test binary under the MPI launcher, filtered to one test, and wait for it with a time
//! limit. A job never outlives its driver: the launcher stays in the driver's process
//! group (a Ctrl-C reaches it as it reaches `cargo test`) and gets SIGTERM when the
//! driver dies (its parent-death signal), and every process of the job carries a mark in
//! its environment ([`JOB_VARIABLE`]), by which the driver kills what is left of it on
//! its way out (at the time limit, and after the launcher exited: Open MPI 4.1 puts
//! each rank in a process group of its own, so no signal to the launcher's group reaches
//! them).

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

/// The variable that marks every process of a job the driver started: a comma-separated
/// list of job marks (`<driver pid>.<job number>`), one per driver above it.
pub const JOB_VARIABLE: &str = "RSPAR_TEST_JOB";

/// The number of this process's next job.
static JOBS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Run `cmd` (a launcher command) to its end or until `timeout`, capturing its output;
/// at the limit the launcher gets SIGTERM, then every process of the job SIGKILL. What
/// is left of the job when the launcher has exited is killed too. One job at a time.
pub fn run(mut cmd: Command, timeout: Duration) -> Run {
    let _one = one_job();
    let command = describe(&cmd);
    let job = Job::mark(&mut cmd);
    crate::ffi::signal_when_parent_dies(&mut cmd, libc::SIGTERM);
    cmd.stdin(Stdio::null())
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
    let (code, timed_out) = wait(&mut child, &job, timeout);
    // Ranks (or their children) the launcher left behind.
    job.kill(libc::SIGKILL);
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

/// Wait for the launcher until `timeout`; then end it and its job. (exit code, timed out)
fn wait(child: &mut Child, job: &Job, timeout: Duration) -> (Option<i32>, bool) {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return (status.code(), false);
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
    crate::ffi::signal_process(child.id(), libc::SIGTERM);
    let grace = Instant::now() + GRACE;
    while Instant::now() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The launcher, if still there, and every rank, whatever its process group.
    job.kill(libc::SIGKILL);
    let code = child.wait().ok().and_then(|s| s.code());
    (code, true)
}

/// One job's mark, found in the environment of each of its processes.
struct Job {
    mark: String,
}

impl Job {
    /// A new mark, added to `cmd`'s environment (after the marks of the drivers above).
    fn mark(cmd: &mut Command) -> Job {
        let number = JOBS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mark = format!("{}.{number}", std::process::id());
        let outer = std::env::var(JOB_VARIABLE).unwrap_or_default();
        let all = if outer.is_empty() {
            mark.clone()
        } else {
            format!("{outer},{mark}")
        };
        cmd.env(JOB_VARIABLE, all);
        Job { mark }
    }

    /// Send `signal` to every process that carries this job's mark (this process's own
    /// processes only: others' environments cannot be read).
    fn kill(&self, signal: i32) {
        for pid in self.processes() {
            crate::ffi::signal_process(pid, signal);
        }
    }

    /// The processes that carry this job's mark.
    fn processes(&self) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != std::process::id())
            .filter(|&pid| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| carries(&env, &self.mark))
            })
            .collect()
    }
}

/// True when the environment block `env` (`/proc/PID/environ`) has `mark` in its
/// [`JOB_VARIABLE`].
fn carries(env: &[u8], mark: &str) -> bool {
    let prefix = format!("{JOB_VARIABLE}=");
    env.split(|&b| b == 0)
        .filter_map(|var| var.strip_prefix(prefix.as_bytes()))
        .any(|marks| marks.split(|&b| b == b',').any(|m| m == mark.as_bytes()))
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
