//! `#[rspar::test]` from a crate that only depends on rspar (issue 22's "done when"):
//! `cargo test` runs each test under the MPI launcher once per rank count. rspar's
//! `tests/testmacro.rs` runs these and checks what they print.

use rspar::Communicator;

/// The ring: each rank's number goes one step round.
#[rspar::test(ranks = [1, 2, 3])]
fn ring_goes_round(world: &Communicator) -> rspar::Result<()> {
    let (rank, size) = (world.rank(), world.size());
    world.send(&format!("P{rank}"), (rank + 1) % size)?;
    let got: String = world.receive((rank + size - 1) % size)?;
    assert_eq!(got, format!("P{}", (rank + size - 1) % size));
    println!("ring: rank {rank} of {size} got {got}");
    Ok(())
}

#[rspar::test(ranks = [2], timeout = 5)]
fn waits(world: &Communicator) {
    world.barrier().unwrap();
}

/// Fails on rank 2 only; the others wait in a collective the failure ends.
#[rspar::test(ranks = [3])]
#[should_panic(expected = "rank 2 of 3 panicked")]
fn fails_on_rank_2(world: &Communicator) {
    assert_ne!(world.rank(), 2, "rank 2 refuses");
    world.barrier().unwrap();
}

/// An `Err` fails the test too.
#[rspar::test(ranks = [2])]
#[should_panic(expected = "rank 1 of 2 returned Err")]
fn err_on_rank_1(world: &Communicator) -> Result<(), String> {
    if world.rank() == 1 {
        return Err("rank 1 has no answer".into());
    }
    world.barrier().map_err(|e| e.to_string())
}

/// Hangs in a receive nobody sends to: rspar's watchdog names the wait before the limit.
#[rspar::test(ranks = [2], timeout = 5)]
#[ignore = "hangs on purpose: run by rspar's tests/testmacro.rs"]
fn hangs_in_receive(world: &Communicator) -> rspar::Result<()> {
    if world.rank() == 0 {
        let _: u32 = world.receive(1)?;
    }
    Ok(())
}

/// Hangs outside MPI: the driver kills the job at the limit.
#[rspar::test(ranks = [2], timeout = 3)]
#[ignore = "hangs on purpose: run by rspar's tests/testmacro.rs"]
fn hangs_in_sleep(_world: &Communicator) {
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
