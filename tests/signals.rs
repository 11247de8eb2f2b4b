//! Ctrl-C (SIGINT) or SIGTERM to `mpirun` ends every rank promptly, whether the ranks are
//! blocked in a receive that never completes or busy computing outside MPI.
//!
//! What Open MPI 4.1.4 does (observed with strace, SIGINT and SIGTERM alike): mpirun
//! starts each rank in a process group of its own, so a terminal's Ctrl-C reaches only
//! mpirun, as the signal sent here does. mpirun catches it, sends SIGCONT to every rank's
//! group at once, waits `odls_base_sigkill_timeout` (1 s), sends SIGTERM, and each rank
//! dies by SIGTERM's default action within a few ms (rspar installs no handler for it),
//! then SIGKILL to the group for good measure. mpirun prints nothing and exits with code
//! 1 about 1.05 s after the signal; the ranks are gone when it exits. (Other signals
//! such as SIGCONT or SIGUSR1 it only forwards: "mpirun: Forwarding signal 18 to job".)
//!
//! MPICH's mpiexec (hydra 4.0.2) forwards SIGINT (saying "Sending Ctrl-C to processes as
//! requested") and SIGTERM to the ranks at once, which die by it within a few ms; its
//! own exit code is then the signal's number or, racily, 0, so under MPICH the test
//! checks that every rank ended and mpiexec exited in time, and prints a NOTE when the
//! exit code was 0.
//!
//! Each test starts a job of this binary in rank mode (no `timeout` wrapper: the signal
//! goes to mpirun itself), reads one `ready pid=<pid>` line per rank, signals mpirun
//! with the `kill` command, and checks that mpirun exits, non-zero, within 10 s and that
//! every rank process is gone (or a zombie) within 5 s after that. Every wait is bounded:
//! a hang fails the test with the job's output, and whatever is left gets SIGKILL.
mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::{in_rank, spawn_self, Job};

const READY_WITHIN: Duration = Duration::from_secs(60);
const EXIT_WITHIN: Duration = Duration::from_secs(10);
const RANKS_GONE_WITHIN: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(10);

/// What a rank does once it said it is ready.
#[derive(Clone, Copy)]
enum Rank {
    /// Blocked in a receive no one will ever match.
    Blocked,
    /// Computing forever, outside MPI.
    Busy,
}

fn rank_body(what: Rank) -> ! {
    let world = rspar::init().expect("init");
    world.barrier().expect("barrier");
    println!("ready pid={} rank={}", std::process::id(), world.rank());
    match what {
        Rank::Blocked => {
            let never: rspar::Result<String> = world.tag(7).receive(rspar::Any);
            panic!("a receive that no one matches returned {never:?}");
        }
        Rank::Busy => {
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
    }
}

/// True while `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: "pid (comm) S ...".
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "kill -{signal} {pid} failed"
    );
}

/// A running job, its output collected as it comes; dropping it kills what is left.
struct Watched {
    job: Job,
    out: Arc<Mutex<String>>,
    lines: mpsc::Receiver<String>,
    ranks: Vec<u32>,
}

impl Watched {
    fn start(name: &str, n: usize) -> Watched {
        let mut job = spawn_self(name, n, &[]);
        let out = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let stdout = BufReader::new(job.child.stdout.take().unwrap());
        let (all, mut stderr) = (Arc::clone(&out), job.child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                all.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        let all = Arc::clone(&out);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(k @ 1..) = stderr.read(&mut buf) {
                all.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..k]));
            }
        });
        let ranks = Vec::new();
        Watched {
            job,
            out,
            lines,
            ranks,
        }
    }

    /// Everything a person needs when this job misbehaves.
    fn report(&self) -> String {
        let out = self.out.lock().unwrap();
        format!(
            "command: {}\nranks: {:?}\n--- output\n{out}",
            self.job.command, self.ranks
        )
    }

    /// Wait for one `ready pid=` line per rank.
    fn wait_ready(&mut self, n: usize) {
        let deadline = Instant::now() + READY_WITHIN;
        while self.ranks.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                // The line may follow libtest's unfinished "test name ... " line.
                Ok(line) => {
                    let Some((_, rest)) = line.split_once("ready pid=") else {
                        continue;
                    };
                    let pid = rest.split_whitespace().next().and_then(|p| p.parse().ok());
                    self.ranks
                        .push(pid.unwrap_or_else(|| panic!("bad line {line:?}")));
                }
                Err(e) => panic!(
                    "{n} ranks not ready within {READY_WITHIN:?} ({e})\n{}",
                    self.report()
                ),
            }
        }
    }

    /// Poll until mpirun has exited and no rank is alive, or a limit passes: mpirun's
    /// status and when it exited, and when the last rank was gone (times since `sent`).
    fn wait_end(&mut self, sent: Instant) -> (Option<(ExitStatus, Duration)>, Option<Duration>) {
        let (mut exited, mut gone) = (None, None);
        loop {
            if exited.is_none() {
                let status = self.job.child.try_wait().expect("try_wait");
                exited = status.map(|status| (status, sent.elapsed()));
            }
            if gone.is_none() && !self.ranks.iter().any(|&pid| alive(pid)) {
                gone = Some(sent.elapsed());
            }
            let limit = exited.map_or(EXIT_WITHIN, |(_, at)| at + RANKS_GONE_WITHIN);
            if (exited.is_some() && gone.is_some()) || sent.elapsed() > limit {
                return (exited, gone);
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.job.child.kill();
        let _ = self.job.child.wait();
        for &pid in self.ranks.iter().filter(|&&pid| alive(pid)) {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// Run `name` on 2 and 4 ranks, signal mpirun once all are ready, check that all end.
fn signal_ends_job(name: &str, what: Rank, signal: &str) {
    if in_rank(name) {
        rank_body(what);
    }
    for n in [2, 4] {
        let mut job = Watched::start(name, n);
        job.wait_ready(n);
        let sent = Instant::now();
        kill(signal, job.job.child.id());
        let (exited, gone) = job.wait_end(sent);
        let Some((status, exited)) = exited else {
            panic!(
                "mpirun still running {EXIT_WITHIN:?} after SIG{signal}\n{}",
                job.report()
            );
        };
        let Some(gone) = gone else {
            let left: Vec<_> = job.ranks.iter().filter(|&&p| alive(p)).collect();
            panic!(
                "ranks {left:?} alive {RANKS_GONE_WITHIN:?} after mpirun exited\n{}",
                job.report()
            );
        };
        let ranks = match what {
            Rank::Blocked => "ranks blocked in a receive",
            Rank::Busy => "ranks computing",
        };
        eprintln!(
            "SIG{signal} to mpirun -n {n} ({ranks}): all ranks gone after {gone:.2?}, \
             mpirun exited after {exited:.2?} with {status}"
        );
        match common::flavor() {
            // MPICH's mpiexec (hydra 4.0) forwards the signal and the ranks die by it,
            // but its own exit code is racy: the signal's number or 0, about half and
            // half (whether the proxies reported the ranks' deaths before it exited).
            // Said here, not asserted: the ranks' end is what is checked above.
            common::Flavor::Mpich if status.success() => common::note(&format!(
                "MPICH: mpiexec -n {n} exited 0 after SIG{signal} (hydra's exit code after \
                 a forwarded signal is not reliable; not checked under MPICH)"
            )),
            common::Flavor::Mpich => {}
            _ => assert!(
                !status.success(),
                "mpirun exited 0 after SIG{signal}\n{}",
                job.report()
            ),
        }
    }
}

#[test]
fn sigint_ends_ranks_blocked_in_a_receive() {
    signal_ends_job(
        "sigint_ends_ranks_blocked_in_a_receive",
        Rank::Blocked,
        "INT",
    );
}

#[test]
fn sigterm_ends_ranks_blocked_in_a_receive() {
    signal_ends_job(
        "sigterm_ends_ranks_blocked_in_a_receive",
        Rank::Blocked,
        "TERM",
    );
}

#[test]
fn sigint_ends_busy_ranks() {
    signal_ends_job("sigint_ends_busy_ranks", Rank::Busy, "INT");
}

#[test]
fn sigterm_ends_busy_ranks() {
    signal_ends_job("sigterm_ends_busy_ranks", Rank::Busy, "TERM");
}
