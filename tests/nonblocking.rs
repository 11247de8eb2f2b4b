//! Nonblocking object messages under mpirun at 1..5 ranks (`#[rspar::test]`).

mod common;

use common::peak_memory;
use rspar::{Any, Communicator, ReceiveRequest, SendRequest, Status};

/// Mixed sizes, from empty to well above any eager limit.
fn payload(from: usize, i: usize) -> Vec<u32> {
    let len = [0, 1, 100, 5_000, 300_000][i % 5];
    vec![(from * 1000 + i) as u32; len]
}

#[rspar::test(ranks = [1, 2, 3, 4, 5])]
fn many_outstanding_messages_complete_in_any_wait_order(world: &Communicator) -> rspar::Result<()> {
    let (rank, size) = (world.rank(), world.size());
    let count = 20;
    // Every rank sends `count` messages to every rank (itself included), all at once.
    let mut sends = Vec::new();
    for to in 0..size {
        for i in 0..count {
            sends.push(world.tag(i as i32).isend(&payload(rank, i), to)?);
        }
    }
    // Receive in reverse tag order, one source at a time, from the last source down.
    for from in (0..size).rev() {
        let receives: Vec<ReceiveRequest<Vec<u32>>> = (0..count)
            .rev()
            .map(|i| world.tag(i as i32).ireceive(from))
            .collect();
        let values = ReceiveRequest::wait_all(receives)?;
        for (k, value) in values.iter().enumerate() {
            assert_eq!(value, &payload(from, count - 1 - k));
        }
    }
    // Sends finish in reverse order too.
    sends.reverse();
    SendRequest::wait_all(sends)?;
    world.barrier()?;
    Ok(())
}

#[rspar::test(ranks = [1, 2, 3, 4, 5])]
fn wait_any_and_test_poll_until_done(world: &Communicator) -> rspar::Result<()> {
    let (rank, size) = (world.rank(), world.size());
    let right = (rank + 1) % size;
    let _kept: Vec<SendRequest> = (0..3)
        .map(|i| world.tag(50 + i).isend(&format!("m{i} from {rank}"), right))
        .collect::<rspar::Result<_>>()?;
    let mut pending: Vec<ReceiveRequest<String, Status>> = (0..3)
        .map(|i| world.tag(50 + i).with_status().ireceive(Any))
        .collect();
    let mut seen = Vec::new();
    while !pending.is_empty() {
        let (_, (text, status)) = ReceiveRequest::wait_any(&mut pending)?;
        assert!(text.ends_with(&format!("from {}", status.source)));
        seen.push(status.tag);
    }
    seen.sort();
    assert_eq!(seen, [50, 51, 52]);
    // test() says None while nothing is there, then delivers.
    let mut later = world.tag(60).ireceive::<u64>(Any);
    assert!(later.test()?.is_none());
    world.barrier()?;
    let mut send = world.tag(60).isend(&(rank as u64), right)?;
    let value = loop {
        if let Some(v) = later.test()? {
            break v;
        }
        std::thread::yield_now();
    };
    assert_eq!(value as usize, (rank + size - 1) % size);
    while !send.test()? {}
    // Dropping the kept sends waits for them; nothing is left behind.
    Ok(())
}

/// A program that keeps an unrelated `Err` alive is not failing: sends it drops meanwhile
/// still complete, and their bytes are freed once MPI is done with them (they used to be
/// leaked, and left active at finalize). Each round's sends have completed by the next
/// round's (its receivers have passed a barrier), so memory stays flat over the rounds
/// (leaked, the 32 rounds grew it by 128 MiB or more).
// 32 rounds of 4 MiB on an oversubscribed machine: give it the harness's old 120 s and more.
#[rspar::test(ranks = [1, 2, 3, 4, 5], timeout = 180)]
fn sends_dropped_while_an_error_lives_complete_and_free_their_bytes(
    world: &Communicator,
) -> rspar::Result<()> {
    let (rank, size) = (world.rank(), world.size());
    let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
    let kept = world
        .tag(70)
        .timeout(std::time::Duration::from_millis(1))
        .receive::<u8>(Any)
        .expect_err("nobody sends on tag 70");
    const ROUNDS: usize = 32;
    const LEN: usize = 4 << 20;
    let before = peak_memory();
    for round in 0..ROUNDS {
        let send = world.tag(71).isend(&vec![round as u8; LEN], right)?;
        drop(send);
        let got: Vec<u8> = world.tag(71).receive(left)?;
        assert_eq!(got.len(), LEN);
        assert!(got.iter().all(|&b| b == round as u8), "round {round}");
        world.barrier()?;
    }
    let grown = peak_memory().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "peak memory grew by {} MiB over {ROUNDS} sends of {} MiB: dropped sends' bytes were not freed",
        grown >> 20,
        LEN >> 20
    );
    drop(kept);
    Ok(())
}
