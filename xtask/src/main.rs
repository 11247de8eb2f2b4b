//! rspar's developer tasks, run as `cargo xtask <command>` (the alias in
//! `.cargo/config.toml`). The scripts in `scripts/` that call them stay the commands people
//! and CI use: `scripts/stress-abort.sh`, `scripts/stress-ulfm.sh` (`stress`),
//! `scripts/bench.sh` (`bench-report`), `scripts/bench-ulfm.sh` (`ulfm-report`),
//! `scripts/bench-cluster.sh` (`cluster-report`) and `scripts/bench-farm.sh`
//! (`farm-report`). Shell
//! stays where shell is right: installing (`setup.sh`), the MPI environment
//! (`mpi-env.sh`, which `mpi` asks for), namespaces, Slurm, and the test and benchmark
//! sequences that mostly run other commands.
#![deny(missing_docs)]

mod mpi;
mod report;
mod stress;
mod ulfm_report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// rspar's developer tasks.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Repeat-run stress of failure handling: random failing jobs that must all end
    /// (`--kind abort`), or random pool workers killed under ULFM (`--kind ulfm`).
    ///
    /// abort: N random jobs of examples/failure (2..8 ranks, the failing rank, the kind of
    /// failure and what the other ranks wait in), each under a 60 s limit, built and
    /// launched for RSPAR_MPI (default openmpi). Every job must end on its own with a
    /// non-zero exit code within 5 s of the failure; a job the limit had to kill is a hang.
    ///
    /// ulfm: N random jobs of tests/lost_worker.rs (3..6 ranks, one or two workers killed
    /// by SIGKILL before their first task, mid-task or between tasks, at random moments),
    /// built against Open MPI 5 with ULFM (target/ulfm) and launched with --with-ft ulfm.
    /// Every job must exit 0 with every result exactly once and in order, each lost rank
    /// named once; each has a 60 s limit.
    ///
    /// Prints one line per job and a summary with the seed; exits 1 on any hang or wrong
    /// ending (its output shown).
    Stress(stress::Args),
    /// Summarise scripts/bench.sh's raw rows (one file per whole run) into summary.csv,
    /// summary.md and pingpong.svg: medians of per-pair ratios, 95% intervals from
    /// resampling whole rounds, each run's own figure, the speed targets.
    BenchReport(report::Args),
    /// Summarise scripts/bench-ulfm.sh's rows: per measure, ULFM on and off (medians with
    /// 95% bootstrap intervals) and the on/off ratio with its interval.
    UlfmReport(ulfm_report::Args),
    /// Summarise scripts/bench-cluster.sh's ping-pong rows: latency, bandwidth and the
    /// ratio to C by message size (medians over rounds), into summary.md.
    ClusterReport(report::cluster::Args),
    /// Summarise scripts/bench-farm.sh's rows: fib 38..33 on 1, 2 and 3 ranks (medians
    /// over rounds) and the speedups over one rank.
    FarmReport(report::farm::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match &cli.command {
        Command::Stress(args) => (args.kind.script(), stress::run(args)),
        Command::BenchReport(args) => ("bench-report", report::run(args).map(|()| true)),
        Command::UlfmReport(args) => ("ulfm-report", ulfm_report::run(args).map(|()| true)),
        Command::ClusterReport(args) => {
            let result = report::cluster::run(args);
            ("cluster-report", result.map(|()| true))
        }
        Command::FarmReport(args) => ("farm-report", report::farm::run(args).map(|()| true)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
