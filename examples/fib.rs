//! The seed's program: `multiprocessing.Pool().map(fib, [38, 37, 36, 35, 34, 33])`, as a
//! pool over the ranks of the world (every rank computes, the root too). The root prints
//! the results in input order. The same program runs under mpirun and run directly (then
//! it spawns its workers at run time: one process per core, or `--workers N`).
//!
//!     mpirun -n 2 target/release/examples/fib --time
//!     target/release/examples/fib --time

use clap::Parser;
use rspar::pool::Progress;
use rspar::Pool;

/// Compute Fibonacci numbers the slow way, in a pool over all ranks (the root computes too).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The inputs (default: 38 37 36 35 34 33). Give the largest first.
    inputs: Vec<u64>,
    /// Print the elapsed wall time on stderr.
    #[arg(long)]
    time: bool,
    /// Show a progress bar even when stderr is not a terminal.
    #[arg(long)]
    progress: bool,
    /// N processes compute, the root included. Run directly: spawn N-1 workers at run
    /// time (default: one process per core; 1: everything in this process). Under mpirun:
    /// at most N of the launched ranks.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    workers: Option<u64>,
    /// Run the map this many times; `--time` then prints the median run (a benchmark
    /// on a noisy machine wants several).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
}

/// Computing the Fibonacci numbers in an inefficient way, to keep the CPU busy.
fn fib(n: u64) -> u64 {
    if n <= 2 {
        1
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// The same numbers, fast, to check the farm's answers.
fn fib_fast(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    let inputs = if args.inputs.is_empty() {
        vec![38, 37, 36, 35, 34, 33]
    } else {
        args.inputs
    };
    if let Some(&big) = inputs.iter().find(|&&n| n > 60) {
        eprintln!("fib: {big} is too large for the slow method (at most 60)");
        std::process::exit(2);
    }
    let progress = if args.progress {
        Progress::Always
    } else {
        Progress::Auto
    };
    let expected: Vec<u64> = inputs.iter().map(|&n| fib_fast(n)).collect();
    let mut builder = Pool::builder(&world).progress(progress);
    if let Some(n) = args.workers {
        builder = builder.ranks(n as usize);
    }
    // The root gets the pool; every other process (a launched rank, or a worker spawned
    // when run directly) serves tasks in `build` until the root drops it, then gets `None`.
    if let Some(pool) = builder.build(fib)? {
        let mut times = Vec::new();
        let mut results = Vec::new();
        for _ in 0..args.repeat {
            let start = rspar::wtime();
            results = pool.map(inputs.iter().copied())?;
            times.push(rspar::wtime() - start);
            if results != expected {
                eprintln!("fib: wrong results {results:?}, expected {expected:?}");
                rspar::abort(1);
            }
        }
        let ranks = pool.ranks();
        drop(pool);
        println!("{results:?}");
        if args.time {
            times.sort_by(f64::total_cmp);
            let runs = if times.len() > 1 {
                format!(" (median of {} runs)", times.len())
            } else {
                String::new()
            };
            eprintln!(
                "elapsed: {:.3} s on {} ranks{runs}",
                times[times.len() / 2],
                ranks
            );
        }
    }
    Ok(())
}
