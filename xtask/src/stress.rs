//! Repeat-run stress of failure handling, one loop for both kinds
//! (`scripts/stress-abort.sh`, `scripts/stress-ulfm.sh`).
//!
//! - `abort`: N random jobs of `examples/failure` (2..8 ranks, the failing rank, the kind
//!   of failure and what the other ranks wait in), each under a 60 s limit. Every job
//!   must end on its own with a non-zero exit code within 5 s of the failure; a job the
//!   limit had to kill is a hang. Built and launched with the configuration `RSPAR_MPI`
//!   names (default Open MPI).
//! - `ulfm`: N random jobs of `tests/lost_worker.rs` (3..6 ranks, one or two workers
//!   killed by SIGKILL before their first task, mid-task or between tasks, at random
//!   moments) built against Open MPI 5 with ULFM (target/ulfm), launched with `--with-ft
//!   ulfm`. Every job must exit 0 with every result exactly once and in order, each lost
//!   rank named once; each has a 60 s limit. The test draws the jobs from the seed.
//!
//! Both print one line per job and a summary with the seed, and fail on any bad job.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::mpi::Mpi;

/// Repeat random failing jobs and check each one ends as it must.
#[derive(clap::Args)]
pub struct Args {
    /// `abort`: failing jobs of examples/failure must end within 5 s; `ulfm`: pools
    /// must survive workers killed at random moments (Open MPI 5 with ULFM).
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// How many random jobs.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// The seed of the random choices (default: a random one; printed, to repeat a run).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// What the stress loop checks.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    /// Failing jobs end (scripts/stress-abort.sh).
    Abort,
    /// Pools survive lost workers under ULFM (scripts/stress-ulfm.sh).
    Ulfm,
}

impl Kind {
    /// The name its lines start with, its script's.
    pub fn script(self) -> &'static str {
        match self {
            Kind::Abort => "stress-abort",
            Kind::Ulfm => "stress-ulfm",
        }
    }
}

/// Run the stress loop; `Ok(false)` when a job went wrong (each said so).
pub fn run(args: &Args) -> Result<bool, String> {
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    match args.kind {
        Kind::Abort => abort(args.runs, seed),
        Kind::Ulfm => ulfm(args.runs, seed),
    }
}

/// `cargo`: the one that runs this task, else the one on the PATH.
fn cargo(mpi: &Mpi) -> Command {
    mpi.command(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn ulfm(runs: usize, seed: u64) -> Result<bool, String> {
    let mpi = Mpi::setup("ulfm")?;
    let start = Instant::now();
    let status = cargo(&mpi)
        .args(["test", "--quiet", "--test", "lost_worker"])
        .args(["workers_killed_at_random_moments", "--", "--nocapture"])
        .env("RSPAR_LOST_RUNS", runs.to_string())
        .env("RSPAR_LOST_SEED", seed.to_string())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let secs = start.elapsed().as_secs();
    if status.success() {
        println!("stress-ulfm: {runs} random jobs passed in {secs} s (seed {seed})");
    } else {
        println!("stress-ulfm: FAILED ({status}) after {secs} s (seed {seed})");
    }
    Ok(status.success())
}

/// How a failing rank fails (examples/failure `--how`).
const HOWS: [&str; 4] = ["panic", "error", "abort", "crash"];
/// What the other ranks wait in (`--others`).
const OTHERS: [&str; 4] = ["receive", "barrier", "collective", "farm"];
/// A job's limit, in seconds (coreutils `timeout`, then a kill 5 s later).
const LIMIT_S: u32 = 60;
/// How soon after the failure a job must have ended.
const PROMPT_MS: i64 = 5000;

/// One random failing job.
#[derive(Debug, PartialEq)]
struct Job {
    ranks: usize,
    bad: usize,
    how: &'static str,
    others: &'static str,
}

impl Job {
    fn draw(rng: &mut fastrand::Rng) -> Job {
        let ranks = rng.usize(2..=8);
        Job {
            ranks,
            bad: rng.usize(..ranks),
            how: HOWS[rng.usize(..HOWS.len())],
            others: OTHERS[rng.usize(..OTHERS.len())],
        }
    }
}

/// How a job ended.
#[derive(Debug, PartialEq)]
enum Verdict {
    Ok,
    /// The limit had to end it.
    Hang,
    /// It exited 0, never failed, ended late, or a rank was not stopped.
    Wrong,
}

/// The verdict on a job that exited with `code` (coreutils `timeout`: 124 or 137 when it
/// had to end it), `took_ms` after the failure its output (`log`) announced, if any.
fn verdict(code: i32, log: &str, took_ms: i64) -> Verdict {
    if code == 124 || code == 137 {
        Verdict::Hang
    } else if code == 0
        || failed_at(log).is_none()
        || took_ms >= PROMPT_MS
        || log.contains("was not stopped")
    {
        Verdict::Wrong
    } else {
        Verdict::Ok
    }
}

/// When the failing rank failed (ms since the epoch): the first
/// `failure: rank R fails at T ms` line of examples/failure.
fn failed_at(log: &str) -> Option<i64> {
    log.lines().find_map(|line| {
        let (_, rest) = line.split_once(" fails at ")?;
        rest.split_once(" ms")?.0.parse().ok()
    })
}

fn now_ms() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.map_or(0, |d| d.as_millis() as i64)
}

fn abort(runs: usize, seed: u64) -> Result<bool, String> {
    let config = std::env::var("RSPAR_MPI").unwrap_or_else(|_| "openmpi".into());
    let mpi = Mpi::setup(&config)?;
    let built = cargo(&mpi)
        .args(["build", "--release", "--quiet", "--example", "failure"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !built.success() {
        return Err(format!("cargo build --example failure: {built}"));
    }
    let program = mpi.target_dir().join("release/examples/failure");
    let log_path = std::env::temp_dir().join(format!("rspar-stress-{}.log", std::process::id()));
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut hangs, mut wrong, mut slowest) = (0, 0, 0);
    for i in 1..=runs {
        let job = Job::draw(&mut rng);
        let code = launch(&mpi, &program, &job, &log_path)?;
        let end_ms = now_ms();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let took_ms = end_ms - failed_at(&log).unwrap_or(end_ms);
        let verdict = verdict(code, &log, took_ms);
        match verdict {
            Verdict::Hang => hangs += 1,
            Verdict::Wrong => wrong += 1,
            Verdict::Ok => {}
        }
        slowest = slowest.max(took_ms);
        let Job {
            ranks,
            bad,
            how,
            others,
        } = job;
        let shown = match verdict {
            Verdict::Ok => "ok",
            Verdict::Hang => "HANG",
            Verdict::Wrong => "WRONG",
        };
        println!(
            "run {i:2}: N={ranks} rank {bad} {how:<5} others in {others:<10} exit {code:3}, \
             ended {took_ms:4} ms after the failure: {shown}"
        );
        if verdict != Verdict::Ok {
            for line in log.lines() {
                println!("    | {line}");
            }
        }
    }
    let _ = std::fs::remove_file(&log_path);
    println!(
        "stress-abort: {runs} runs, {hangs} hangs, {wrong} wrong endings, slowest end \
         {slowest} ms after the failure (seed {seed})"
    );
    Ok(hangs == 0 && wrong == 0)
}

/// Run one job under `timeout`, its output (both streams, in order) into `log`; its exit
/// code (128 + the signal that ended it, as a shell reports it).
fn launch(mpi: &Mpi, program: &Path, job: &Job, log: &Path) -> Result<i32, String> {
    let out = File::create(log).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let status = mpi
        .command("timeout")
        .args(["-k", "5", &LIMIT_S.to_string()])
        .args(&mpi.mpirun)
        .args(["-n", &job.ranks.to_string()])
        .arg(program)
        .args(["--how", job.how, "--rank", &job.bad.to_string()])
        .args(["--others", job.others])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot run timeout {}: {e}", mpi.mpirun.join(" ")))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILED: &str = "failure: rank 2 of 4 up\nfailure: rank 2 fails at 1700000000123 ms\n";

    #[test]
    fn reads_when_the_rank_failed() {
        assert_eq!(failed_at(FAILED), Some(1_700_000_000_123));
        assert_eq!(failed_at("failure: rank 0 was not stopped\n"), None);
        assert_eq!(failed_at("x fails at soon ms\n"), None);
    }

    #[test]
    fn judges_each_ending() {
        assert_eq!(verdict(1, FAILED, 120), Verdict::Ok);
        assert_eq!(verdict(134, FAILED, 4999), Verdict::Ok);
        assert_eq!(verdict(124, FAILED, 60_000), Verdict::Hang);
        assert_eq!(verdict(137, "", 0), Verdict::Hang);
        assert_eq!(verdict(0, FAILED, 10), Verdict::Wrong, "exit 0");
        assert_eq!(verdict(1, "", 0), Verdict::Wrong, "never failed");
        assert_eq!(verdict(1, FAILED, 5000), Verdict::Wrong, "late");
        let not_stopped = format!("{FAILED}failure: rank 1 was not stopped\n");
        assert_eq!(verdict(1, &not_stopped, 10), Verdict::Wrong);
    }

    #[test]
    fn draws_every_choice_in_range_and_repeats_by_seed() {
        let mut rng = fastrand::Rng::with_seed(7);
        let jobs: Vec<Job> = (0..500).map(|_| Job::draw(&mut rng)).collect();
        assert!(jobs
            .iter()
            .all(|j| (2..=8).contains(&j.ranks) && j.bad < j.ranks));
        for n in 2..=8 {
            assert!(jobs.iter().any(|j| j.ranks == n), "{n} ranks never drawn");
        }
        for how in HOWS {
            assert!(jobs.iter().any(|j| j.how == how), "{how} never drawn");
        }
        for other in OTHERS {
            assert!(
                jobs.iter().any(|j| j.others == other),
                "{other} never drawn"
            );
        }
        let mut again = fastrand::Rng::with_seed(7);
        assert_eq!(Job::draw(&mut again), jobs[0]);
    }
}
