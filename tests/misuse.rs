//! Misuse gets a clear, typed error, never an abort deep inside MPI: invalid ranks, roots,
//! tags and split colors; receives that could never complete; slices of the wrong length;
//! scatter with the wrong count; init twice, finalize while in use, init after finalize.
//! After every error the communicator still works. (Using a communicator after finalize
//! cannot be written: `finalize` consumes it, and every communicator keeps MPI up.)

mod common;

use common::{spmd_process, SIZES};
use rspar::{Any, ErrorKind, ReceiveRequest};

fn kind<T>(result: rspar::Result<T>) -> ErrorKind {
    match result {
        Ok(_) => panic!("misuse must be an error"),
        Err(err) => err.into_kind(),
    }
}

fn invalid_rank(result_kind: ErrorKind, rank: usize, size: usize) {
    assert_eq!(result_kind, ErrorKind::InvalidRank { rank, size });
}

#[test]
fn misuse_is_an_error_and_the_communicator_stays_usable() {
    spmd_process(
        "misuse_is_an_error_and_the_communicator_stays_usable",
        SIZES,
        || {
            let world = rspar::init().unwrap();
            misuse(world).unwrap();
        },
    );
}

fn misuse(world: rspar::Communicator) -> rspar::Result<()> {
    let (rank, size) = (world.rank(), world.size());
    let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);

    // Ranks and roots outside 0..size, on every path.
    invalid_rank(kind(world.send(&1u8, size)), size, size);
    invalid_rank(kind(world.receive::<u8>(size + 3)), size + 3, size);
    invalid_rank(kind(world.send_buffer(&[1.0f64], size)), size, size);
    invalid_rank(
        kind(world.receive_buffer_into(&mut [0.0f64], size)),
        size,
        size,
    );
    invalid_rank(
        kind(world.receive_buffer::<u8>(usize::MAX)),
        usize::MAX,
        size,
    );
    invalid_rank(kind(world.isend(&1u8, size)), size, size);
    invalid_rank(kind(world.ireceive::<u8>(size).wait()), size, size);
    invalid_rank(kind(world.sendrecv::<u8, u8>(&1, size, 0)), size, size);
    // Every rank makes the same mistake with a root, so no collective is left half-done.
    invalid_rank(kind(world.broadcast(&1u8, size)), size, size);
    invalid_rank(kind(world.reduce(&1u8, |a, b| a + b, size)), size, size);
    invalid_rank(kind(world.gather(&1u8, size)), size, size);
    invalid_rank(kind(world.scatter(&[1u8], size)), size, size);
    invalid_rank(kind(world.broadcast_buffer(&mut [1u8], size)), size, size);

    // Tags outside 0..=MAX_TAG, and the wildcard on a send.
    for tag in [-1, rspar::MAX_TAG + 1, i32::MIN] {
        assert!(
            matches!(kind(world.tag(tag).send(&1u8, right)), ErrorKind::InvalidTag { tag: t, .. } if t == i128::from(tag))
        );
        assert!(matches!(
            kind(world.tag(tag).receive::<u8>(left)),
            ErrorKind::InvalidTag { .. }
        ));
    }
    // Tags of other integer types out of range: the error names the value given.
    assert!(matches!(
        kind(world.tag(u64::MAX).send(&1u8, right)),
        ErrorKind::InvalidTag { tag, .. } if tag == u64::MAX as i128
    ));
    assert!(matches!(
        kind(world.tag(usize::MAX).receive::<u8>(left)),
        ErrorKind::InvalidTag { tag, .. } if tag == usize::MAX as i128
    ));
    assert!(matches!(
        kind(world.tag(-1i64).send_buffer(&[1u8], right)),
        ErrorKind::InvalidTag { tag: -1, .. }
    ));
    assert!(matches!(
        kind(world.tag(Any).send(&1u8, right)),
        ErrorKind::InvalidTag { tag: -1, .. }
    ));
    assert!(matches!(
        kind(world.tag(Any).send_buffer(&[1u8], right)),
        ErrorKind::InvalidTag { .. }
    ));
    assert_eq!(
        kind(world.split(Some(u32::MAX), 0)),
        ErrorKind::InvalidColor { color: u32::MAX }
    );

    // Waits that could never end.
    assert!(matches!(
        kind(world.receive::<u8>(rank)),
        ErrorKind::Deadlock { .. }
    ));
    let mut none: Vec<ReceiveRequest<u8>> = Vec::new();
    assert!(matches!(
        kind(ReceiveRequest::wait_any(&mut none)),
        ErrorKind::Deadlock { .. }
    ));

    // A slice of the wrong length: too long is ShortMessage (the message stays queued),
    // too short is Overflow (the message is received and gone; tests/buffer.rs checks
    // where its start is).
    world.send_buffer(&[7u32; 4], right)?;
    let mut long = [0u32; 6];
    assert_eq!(
        kind(world.receive_buffer_into(&mut long, left)),
        ErrorKind::ShortMessage {
            capacity: 6,
            got: 4
        }
    );
    let mut exact = [0u32; 4];
    world.receive_buffer_into(&mut exact, left)?;
    assert_eq!(exact, [7; 4]);
    world.send_buffer(&[7u32; 4], right)?;
    let mut short = [0u32; 2];
    assert!(matches!(
        kind(world.receive_buffer_into(&mut short, left)),
        ErrorKind::Overflow { capacity: 2, .. }
    ));

    // Scatter with the wrong number of items at the root: every rank's call fails.
    let items = vec![1u8; size + 1];
    let scattered = world.scatter(if rank == 0 { &items[..] } else { &[] }, 0);
    match kind(scattered) {
        ErrorKind::Count { expected, got } => assert_eq!((expected, got), (size, size + 1)),
        ErrorKind::Peer { rank: 0 } => assert_ne!(rank, 0),
        other => panic!("scatter: {other:?}"),
    }

    // Init twice; finalize while another communicator is alive; init after finalize.
    assert_eq!(kind(rspar::init()), ErrorKind::AlreadyInitialized);
    let copy = world.duplicate()?;

    // Everything still works.
    world.send(&format!("from {rank}"), right)?;
    assert_eq!(world.receive::<String>(left)?, format!("from {left}"));
    assert_eq!(world.all_reduce(&1usize, |a, b| a + b)?, size);
    copy.barrier()?;

    assert_eq!(kind(world.finalize()), ErrorKind::InUse { others: 1 });
    drop(copy); // the last communicator: MPI finalizes here
    assert!(!rspar::initialized());
    assert_eq!(kind(rspar::init()), ErrorKind::Finalized);
    Ok(())
}
