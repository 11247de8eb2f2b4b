//! MPI's message order and path independence on the receive paths rspar adds to MPI's:
//! held, put-back, self-sent and split messages, timed and nonblocking receives, under
//! mpirun at 1..5 ranks (pairs of neighbours; a rank's neighbour is itself at 1 rank).

mod common;

use std::time::Duration;

use common::{spmd, SIZES};
use rspar::{Communicator, ErrorKind};

/// (right, left) neighbours of this rank in the ring.
fn neighbours(world: &Communicator) -> (usize, usize) {
    let (rank, size) = (world.rank(), world.size());
    ((rank + 1) % size, (rank + size - 1) % size)
}

/// Long enough to travel as a split (two-part) object message.
fn long_value() -> Vec<u8> {
    (0..100_000).map(|i| (i % 251) as u8).collect()
}

/// An object message read as bytes is its whole encoding (both parts of a long one),
/// from another rank as from this one, by `receive_buffer`, `receive_buffer_into` (exact,
/// too long: kept, timed) alike, and the message after it is the next one.
#[test]
fn a_split_object_read_as_bytes_is_whole_from_any_rank() {
    spmd(
        "a_split_object_read_as_bytes_is_whole_from_any_rank",
        SIZES,
        |world| {
            let (right, left) = neighbours(world);
            let me = world.rank();
            // The reference: the same value sent to self, read as bytes.
            world.send(&long_value(), me)?;
            let reference = world.receive_buffer::<u8>(me)?;
            assert!(reference.len() > 100_000, "{} bytes", reference.len());
            let len = reference.len();
            for round in 0..4 {
                // Nonblocking: every rank sends before it receives.
                let long = world.isend(&long_value(), right)?;
                let after = world.isend(&(round as u64), right)?;
                let bytes = match round {
                    0 => world.receive_buffer::<u8>(left)?,
                    1 => {
                        let mut bytes = vec![0u8; len];
                        let status = world.with_status().receive_buffer_into(&mut bytes, left)?;
                        assert_eq!(status.bytes, len);
                        bytes
                    }
                    2 => {
                        // One byte too many: refused, kept whole, then read.
                        let mut bytes = vec![0u8; len + 1];
                        let err = world.receive_buffer_into(&mut bytes, left).unwrap_err();
                        assert_eq!(
                            err.kind(),
                            &ErrorKind::ShortMessage {
                                capacity: len + 1,
                                got: len
                            }
                        );
                        world.receive_buffer::<u8>(left)?
                    }
                    _ => {
                        let mut bytes = vec![0u8; len];
                        world
                            .timeout(Duration::from_secs(60))
                            .receive_buffer_into(&mut bytes, left)?;
                        bytes
                    }
                };
                assert!(bytes == reference, "round {round}: not the whole encoding");
                assert_eq!(world.receive::<u64>(left)?, round as u64, "round {round}");
                long.wait()?;
                after.wait()?;
            }
            world.barrier()?;
            Ok(())
        },
    );
}

/// A buffer message that is not a whole number of the receive's elements is consumed
/// and reported (`Decode`) on every path: a plain receive and a timed one alike, so the
/// next receive gets the next message.
#[test]
fn a_buffer_of_no_whole_number_of_elements_is_consumed_on_every_path() {
    spmd(
        "a_buffer_of_no_whole_number_of_elements_is_consumed_on_every_path",
        &[2, 3, 4, 5],
        |world| {
            let (right, left) = neighbours(world);
            world.send_buffer(&[1u16; 3], right)?;
            world.send_buffer(&[2u16; 3], right)?;
            world.send_buffer(&[3u16; 3], right)?;
            world.send_buffer(&[9u32; 2], right)?;
            let mut two = [0u32; 2];
            let plain = world.receive_buffer_into(&mut two, left).unwrap_err();
            let timed = world
                .timeout(Duration::from_secs(60))
                .receive_buffer_into(&mut two, left)
                .unwrap_err();
            let vec = world.receive_buffer::<u32>(left).unwrap_err();
            for err in [plain, timed, vec] {
                assert!(matches!(err.kind(), ErrorKind::Decode { .. }), "{err}");
            }
            assert_eq!(world.receive_buffer::<u32>(left)?, [9, 9]);
            world.barrier()?;
            Ok(())
        },
    );
}

/// A timed `sendrecv` whose partner neither sends nor receives returns within its limit
/// (`Err(Timeout)`); its send stays in flight and arrives once the partner receives.
#[test]
fn a_timed_sendrecv_returns_while_its_send_is_unmatched() {
    spmd(
        "a_timed_sendrecv_returns_while_its_send_is_unmatched",
        &[2, 3, 4, 5],
        |world| {
            let big = vec![5u64; 1 << 20]; // far past any eager limit
            match world.rank() {
                0 => {
                    let got = world
                        .timeout(Duration::from_millis(300))
                        .sendrecv::<_, u8>(&big, 1, 1);
                    let err = got.unwrap_err();
                    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err}");
                    drop(err);
                    world.tag(9).send(&"returned", 1)?;
                }
                1 => {
                    // Only once rank 0's sendrecv has returned: then its send arrives.
                    assert_eq!(world.tag(9).receive::<String>(0)?, "returned");
                    assert_eq!(world.receive::<Vec<u64>>(0)?, big);
                }
                _ => {}
            }
            world.barrier()?;
            Ok(())
        },
    );
}

/// Nonblocking receives match in the order they were posted (as `MPI_Irecv`), whichever
/// is waited or tested first, and a blocking receive made while they are pending comes
/// after them; with tags: a request for any tag posted after one for tag 1 gets the
/// oldest message the first one cannot take.
#[test]
fn nonblocking_receives_match_in_posting_order() {
    spmd(
        "nonblocking_receives_match_in_posting_order",
        SIZES,
        |world| {
            let (right, left) = neighbours(world);
            for round in 0..3u64 {
                world.send(&(10 * round + 1), right)?;
                world.send(&(10 * round + 2), right)?;
                world.send(&(10 * round + 3), right)?;
                let a = world.ireceive::<u64>(left);
                let mut b = world.ireceive::<u64>(left);
                match round {
                    // Wait the second first.
                    0 => {
                        assert_eq!(b.wait()?, 2);
                        assert_eq!(a.wait()?, 1);
                        assert_eq!(world.receive::<u64>(left)?, 3);
                    }
                    // A blocking receive while both are pending: the third message.
                    1 => {
                        assert_eq!(world.receive::<u64>(left)?, 13);
                        assert_eq!(b.wait()?, 12);
                        assert_eq!(a.wait()?, 11);
                    }
                    // Test the second until it completes, then the first.
                    _ => {
                        let got = loop {
                            if let Some(got) = b.test()? {
                                break got;
                            }
                            std::thread::yield_now();
                        };
                        assert_eq!(got, 22);
                        assert_eq!(a.wait()?, 21);
                        assert_eq!(world.receive::<u64>(left)?, 23);
                    }
                }
            }
            // Tags: "x" with tag 2, then "y" with tag 1.
            world.tag(2).send(&"x", right)?;
            world.tag(1).send(&"y", right)?;
            let one = world.tag(1).ireceive::<String>(left);
            let any = world.tag(rspar::Any).with_status().ireceive::<String>(left);
            let (text, status) = any.wait()?;
            assert_eq!((text.as_str(), status.tag), ("x", 2));
            assert_eq!(one.wait()?, "y");
            // A dropped request loses nothing: its message goes to the next receive.
            world.send(&5u64, right)?;
            world.send(&6u64, right)?;
            let dropped = world.ireceive::<u64>(left);
            let kept = world.ireceive::<u64>(left);
            assert_eq!(kept.wait()?, 6);
            drop(dropped);
            assert_eq!(world.receive::<u64>(left)?, 5);
            world.barrier()?;
            Ok(())
        },
    );
}

/// How the last receives of [`a_refused_message_keeps_its_place_for_any_tag`] ask.
#[derive(Debug, Clone, Copy)]
enum Ask {
    Plain,
    Timed,
    Nonblocking,
    AnySource,
}

/// A message refused by a receive for its tag (too short for the slice; of another
/// type) keeps its place among its sender's messages: a receive for any tag gets the
/// sender's older message of another tag first, then it, on every receive path.
#[test]
fn a_refused_message_keeps_its_place_for_any_tag() {
    spmd(
        "a_refused_message_keeps_its_place_for_any_tag",
        SIZES,
        |world| {
            let (right, left) = neighbours(world);
            let any = world.tag(rspar::Any);
            let limit = Duration::from_secs(60);
            for ask in [Ask::Plain, Ask::Timed, Ask::Nonblocking, Ask::AnySource] {
                let from = match ask {
                    Ask::AnySource => rspar::Source::Any,
                    _ => rspar::Source::Rank(left),
                };
                // Each part starts together, so a neighbour's next part is not yet in
                // flight: rspar cannot tell a message of another tag sent after a
                // refused one from one sent before once both have arrived (see
                // `Engine::take_held`), and takes the one inside MPI first.
                world.barrier()?;
                // Buffers: the tag-1 message is too short for the slice, and kept.
                world.tag(2).send_buffer(&[1u32; 4], right)?;
                world.tag(1).send_buffer(&[2u32; 2], right)?;
                let err = world
                    .tag(1)
                    .receive_buffer_into(&mut [0u32; 4], left)
                    .unwrap_err();
                assert!(
                    matches!(err.kind(), ErrorKind::ShortMessage { .. }),
                    "{err}"
                );
                for (want, tag) in [(vec![1u32; 4], 2), (vec![2u32; 2], 1)] {
                    let (got, status) = match ask {
                        Ask::Timed => any.timeout(limit).with_status().receive_buffer(from)?,
                        _ => any.with_status().receive_buffer::<u32>(from)?,
                    };
                    assert_eq!((got, status.tag), (want, tag), "{ask:?}");
                }
                world.barrier()?;
                // Objects: the tag-1 message is of another type, and kept.
                world.tag(2).send(&"older", right)?;
                world.tag(1).send(&"newer", right)?;
                let err = world.tag(1).receive::<u64>(left).unwrap_err();
                assert!(
                    matches!(err.kind(), ErrorKind::TypeMismatch { .. }),
                    "{err}"
                );
                for (want, tag) in [("older", 2), ("newer", 1)] {
                    let (got, status) = match ask {
                        Ask::Timed => any.timeout(limit).with_status().receive::<String>(from)?,
                        Ask::Nonblocking => any.with_status().ireceive::<String>(from).wait()?,
                        _ => any.with_status().receive::<String>(from)?,
                    };
                    assert_eq!((got.as_str(), status.tag), (want, tag), "{ask:?}");
                }
            }
            world.barrier()?;
            Ok(())
        },
    );
}
