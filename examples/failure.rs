//! What happens when one rank fails: the whole job ends, promptly, with a non-zero exit
//! code and a line on stderr naming the rank and the reason, while the other ranks are
//! blocked waiting for it. This program fails on purpose (its exit code is never 0).
//!
//!     mpirun -n 4 target/debug/examples/failure --how panic --rank 2 --others barrier
//!
//! `--how`: `panic`, `error` (main returns `Err`), `abort` (`rspar::abort(5)`), or `crash`
//! (the process dies by a signal, as after a segfault: mpirun ends the job).
//! `--others`: what every other rank is blocked in: `receive`, `barrier`, `collective`
//! (an all-reduce) or `farm` (a task farm that needs the failing rank).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use rspar::Any;

/// Fail on one rank while the others wait, to see the job end.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How the failing rank fails.
    #[arg(long, value_enum, default_value_t = How::Panic)]
    how: How,
    /// The failing rank (default: the last).
    #[arg(long)]
    rank: Option<usize>,
    /// What the other ranks are blocked in when it fails.
    #[arg(long, value_enum, default_value_t = Others::Receive)]
    others: Others,
    /// Milliseconds the failing rank waits before failing, so the others are blocked.
    #[arg(long, default_value_t = 200)]
    delay_ms: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum How {
    Panic,
    Error,
    Abort,
    Crash,
}

#[derive(Clone, Copy, ValueEnum)]
enum Others {
    Receive,
    Barrier,
    Collective,
    Farm,
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    let (rank, size) = (world.rank(), world.size());
    let bad = args.rank.unwrap_or(size - 1);
    if bad >= size {
        eprintln!("failure: --rank {bad} is not a rank of this job of {size}");
        rspar::abort(2);
    }
    world.barrier()?;
    if rank == bad {
        std::thread::sleep(Duration::from_millis(args.delay_ms));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        // The moment of failure, for tests that time how fast the job ends.
        eprintln!("failure: rank {rank} fails at {} ms", now.as_millis());
        // Give mpirun's output forwarding time to pass that line on: a rank killed by a
        // signal right after writing can lose its last lines on a loaded machine.
        std::thread::sleep(Duration::from_millis(100));
        match args.how {
            How::Panic => panic!("deliberate failure"),
            How::Error => {
                // A program bug: a String is expected where a number was sent.
                world.send(&1u8, rank)?;
                let _: String = world.receive(rank)?;
            }
            How::Abort => rspar::abort(5),
            How::Crash => std::process::abort(),
        }
        unreachable!("the failing rank has failed");
    }
    match args.others {
        Others::Receive => {
            let _: String = world.receive(Any)?;
        }
        Others::Barrier => world.barrier()?,
        Others::Collective => {
            world.all_reduce(&1u64, |a, b| a + b)?;
        }
        Others::Farm => {
            // 1000 tasks of 1 ms: the farm cannot finish without the failing rank.
            let inputs: Vec<u64> = if rank == 0 {
                (0..1000).collect()
            } else {
                vec![]
            };
            rspar::farm::map(&world, inputs, |x| {
                std::thread::sleep(Duration::from_millis(1));
                x
            })?;
        }
    }
    eprintln!("failure: rank {rank} was not stopped");
    Ok(())
}
