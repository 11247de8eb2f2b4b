//! The seed's program: `multiprocessing.Pool().map(fib, [38, 37, 36, 35, 34, 33])`, as a
//! farm over the ranks of the world. The root prints the results in input order.
//!
//!     mpirun -n 3 target/release/examples/fib --time

use clap::Parser;
use rspar::farm::{Farm, Progress};

/// Compute Fibonacci numbers the slow way, farmed out over all ranks.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The inputs (default: 38 37 36 35 34 33). Give the largest first.
    inputs: Vec<u64>,
    /// Print the elapsed wall time on stderr.
    #[arg(long)]
    time: bool,
    /// Show a progress bar even when stderr is not a terminal.
    #[arg(long)]
    progress: bool,
    /// Run the farm this many times; `--time` then prints the median run (a benchmark
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
    let mut times = Vec::new();
    let mut results = None;
    for _ in 0..args.repeat {
        let mine = if world.rank() == 0 {
            inputs.clone()
        } else {
            Vec::new()
        };
        let start = rspar::wtime();
        results = Farm::new().progress(progress).map(&world, mine, fib)?;
        times.push(rspar::wtime() - start);
        if results.as_ref().is_some_and(|got| *got != expected) {
            eprintln!("fib: wrong results {results:?}, expected {expected:?}");
            rspar::abort(1);
        }
    }
    if let Some(results) = results {
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
                world.size()
            );
        }
    }
    Ok(())
}
