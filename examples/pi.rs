//! Compute pi by numerical integration of 4 / (1 + x^2) over [0, 1] (the midpoint rule):
//! each rank integrates its block of intervals (`rspar::balance`) and the partial sums
//! are combined with a reduction.
//!
//!     mpirun -n 4 target/release/examples/pi --intervals 10000000

use clap::Parser;
use rspar::Op;

/// Integrate 4/(1+x^2) on [0,1] across all ranks and compare with std's PI.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Number of intervals of the midpoint rule.
    #[arg(long, default_value_t = 10_000_000)]
    intervals: usize,
    /// Largest acceptable |error|; the program exits 1 above it.
    #[arg(long, default_value_t = 1e-10)]
    tolerance: f64,
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    let (rank, size) = (world.rank(), world.size());
    let start = rspar::wtime();

    let h = 1.0 / args.intervals as f64;
    let partial: f64 = rspar::balance(args.intervals, size, rank)
        .map(|i| {
            let x = h * (i as f64 + 0.5);
            4.0 / (1.0 + x * x)
        })
        .sum::<f64>()
        * h;

    let mut pi = [0.0f64];
    world.reduce_buffer(&[partial], &mut pi, Op::Sum, 0)?;
    if rank == 0 {
        let error = (pi[0] - std::f64::consts::PI).abs();
        println!("pi ~= {:.16}", pi[0]);
        println!(
            "error = {error:.3e} ({} intervals, {size} ranks, {:.3} s)",
            args.intervals,
            rspar::wtime() - start
        );
        if error.is_nan() || error > args.tolerance {
            eprintln!(
                "pi: error {error:e} is above the tolerance {:e}",
                args.tolerance
            );
            rspar::abort(1);
        }
    }
    Ok(())
}
