//! Broadcast and all-reduce (sum) of `f64` arrays on the buffer path, timed with the same
//! protocol as the C reference `benches/c/collectives.c`: for each size a warm-up, then
//! timed samples of many calls; a sample's time is the slowest rank's average per call;
//! rank 0 reports the median sample. Results are checked; a wrong value exits with 1.
//! With `--raw`, each size is also timed through raw rsmpi calls (`MPI_Bcast` /
//! `MPI_Allreduce`, the calls C makes) just before rspar's, so one launch shows rspar's
//! own cost without the noise between launches; `--rspar-first` times rspar's first
//! (a benchmark turns the order from launch to launch, so neither always runs second).
//!
//!     mpirun -n 2 target/release/examples/collective_timing
//!     mpirun -n 4 target/release/examples/collective_timing --csv --raw

use clap::Parser;
use rspar::mpi::collective::SystemOperation;
use rspar::mpi::traits::{Communicator as _, CommunicatorCollectives as _, Root as _};
use rspar::{Communicator, Op};

/// Time rspar's broadcast_buffer and all_reduce_buffer of f64 arrays (microseconds per call).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Timed samples per size; the median is reported.
    #[arg(long, default_value_t = 7)]
    samples: usize,
    /// Calls per sample (default: 2000 up to 8 KiB, 300 up to 256 KiB, 40 above, as in
    /// the C reference).
    #[arg(long)]
    iterations: Option<usize>,
    /// Print `rspar,broadcast|allreduce,size_bytes,microseconds` lines instead of a table.
    #[arg(long)]
    csv: bool,
    /// Also time raw rsmpi calls (reported as `rsmpi`) at each size, just before rspar's.
    #[arg(long)]
    raw: bool,
    /// With `--raw`: time rspar's calls first at each size, then the raw ones.
    #[arg(long, requires = "raw")]
    rspar_first: bool,
}

/// Array sizes in bytes (the C reference uses the same).
const SIZES: [usize; 4] = [8, 1024, 65536, 1 << 20];

/// Calls per sample (the same table as the C reference).
fn iterations(bytes: usize) -> usize {
    match bytes {
        0..=8192 => 2000,
        8193..=262_144 => 300,
        _ => 40,
    }
}

/// How long to time each size: samples, and calls per sample when fixed.
#[derive(Clone, Copy)]
struct Plan {
    samples: usize,
    iterations: Option<usize>,
}

/// The median over samples of the slowest rank's microseconds per call of `call`.
fn time(
    world: &Communicator,
    bytes: usize,
    plan: Plan,
    mut call: impl FnMut() -> rspar::Result<()>,
) -> rspar::Result<f64> {
    let iters = plan.iterations.unwrap_or_else(|| iterations(bytes)).max(1);
    world.barrier()?;
    let mut times = Vec::with_capacity(plan.samples);
    for sample in 0..=plan.samples {
        let n = if sample == 0 { iters / 10 + 1 } else { iters };
        let start = rspar::wtime();
        for _ in 0..n {
            call()?;
        }
        let mine = [(rspar::wtime() - start) / n as f64 * 1e6];
        let mut slowest = [0.0];
        world.all_reduce_buffer(&mine, &mut slowest, Op::Max)?;
        if sample > 0 {
            times.push(slowest[0]);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    let (rank, size) = (world.rank() as f64, world.size() as f64);
    let plan = Plan {
        samples: args.samples.max(1),
        iterations: args.iterations,
    };
    // Each variant in turn: raw rsmpi calls (with --raw), then rspar's, or the other way
    // round (--rspar-first). The variant is chosen outside the timed loop, which calls
    // one or the other directly.
    let variants: &[&str] = match (args.raw, args.rspar_first) {
        (true, false) => &["rsmpi", "rspar"],
        (true, true) => &["rspar", "rsmpi"],
        (false, _) => &["rspar"],
    };
    let mut rows = Vec::new();
    let mut ok = true;
    for bytes in SIZES {
        let n = bytes / 8;
        for &who in variants {
            let mut data: Vec<f64> = (0..n).map(|i| rank + i as f64 * 0.5).collect();
            let us = if who == "rsmpi" {
                let root = world.raw().process_at_rank(0);
                time(&world, bytes, plan, || {
                    root.broadcast_into(&mut data[..]);
                    Ok(())
                })?
            } else {
                time(&world, bytes, plan, || world.broadcast_buffer(&mut data, 0))?
            };
            ok &= data.iter().enumerate().all(|(i, &x)| x == i as f64 * 0.5);
            rows.push((who, "broadcast", bytes, us));
        }
    }
    for bytes in SIZES {
        let n = bytes / 8;
        let send: Vec<f64> = (0..n).map(|i| rank + i as f64 * 0.5).collect();
        for &who in variants {
            let mut sum = vec![0.0; n];
            let us = if who == "rsmpi" {
                let raw = world.raw();
                time(&world, bytes, plan, || {
                    raw.all_reduce_into(&send[..], &mut sum[..], SystemOperation::sum());
                    Ok(())
                })?
            } else {
                time(&world, bytes, plan, || {
                    world.all_reduce_buffer(&send, &mut sum, Op::Sum)
                })?
            };
            let ranks = size * (size - 1.0) / 2.0;
            ok &= sum
                .iter()
                .enumerate()
                .all(|(i, &x)| x == ranks + size * i as f64 * 0.5);
            rows.push((who, "allreduce", bytes, us));
        }
    }
    if !ok {
        eprintln!("collective_timing: rank {rank}: wrong results");
        rspar::abort(1);
    }
    if world.rank() == 0 {
        if !args.csv {
            println!(
                "{:<10} {:<10} {:>10} {:>12}",
                "calls", "collective", "bytes", "us per call"
            );
        }
        for (who, what, bytes, us) in rows {
            if args.csv {
                println!("{who},{what},{bytes},{us:.4}");
            } else {
                println!("{who:<10} {what:<10} {bytes:>10} {us:>12.3}");
            }
        }
    }
    Ok(())
}
