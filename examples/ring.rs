//! The seed's ring-pass program: rank 0 starts a message, every rank appends its name and
//! passes it on, and rank 0 checks what comes back round.
//!
//!     mpirun -n 4 target/release/examples/ring

use clap::Parser;

/// Pass a message round a ring of ranks; every rank appends "P<rank>".
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Times the message goes round the ring.
    #[arg(long, default_value_t = 1)]
    laps: usize,
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    let (rank, size) = (world.rank(), world.size());
    println!(
        "I am rank {rank} of {size} on node {}",
        world.processor_name()
    );
    for _ in 0..args.laps {
        if rank == 0 {
            world.send(&String::from("P0"), 1 % size)?;
            let (msg, status) = world.with_status().receive::<String>(size - 1)?;
            println!(
                "Processor 0 received message \"{msg}\" from rank {}",
                status.source
            );
            let expected: String = (0..size).map(|r| format!("P{r}")).collect();
            if msg != expected || status.source != size - 1 {
                eprintln!("ring: expected \"{expected}\" from rank {}", size - 1);
                rspar::abort(1);
            }
        } else {
            let mut msg: String = world.receive(rank - 1)?;
            msg.push_str(&format!("P{rank}"));
            world.send(&msg, (rank + 1) % size)?;
        }
    }
    Ok(())
}
