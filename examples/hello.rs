//! Every rank says hello: the smallest rspar program.
//!
//!     mpirun -n 4 target/release/examples/hello

use clap::Parser;

/// Each rank prints "Hello from rank R of N on HOST"; rank 0 checks that all ranks answered.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> rspar::Result<()> {
    Args::parse();
    let world = rspar::init()?;
    let (rank, size) = (world.rank(), world.size());
    println!(
        "Hello from rank {rank} of {size} on {}",
        world.processor_name()
    );
    // Check that every rank is alive and numbered as expected.
    world.print_ordered(format!("rank {rank} says hello in order"))?;
    if rank == 0 {
        let mut seen = vec![false; size];
        seen[0] = true;
        for _ in 1..size {
            let r: usize = world.receive(rspar::Any)?;
            seen[r] = true;
        }
        if seen.iter().any(|s| !s) {
            eprintln!("hello: some ranks did not answer: {seen:?}");
            rspar::abort(1);
        }
    } else {
        world.send(&rank, 0)?;
    }
    Ok(())
}
