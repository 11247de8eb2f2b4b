//! Point-to-point on the object path, under mpirun at 1..5 ranks (and 2..4 where a test
//! needs a partner).

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{spmd, SIZES};
use rspar::{Any, Communicator, ErrorKind, Source, Tag, MAX_TAG};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Point,
    Circle { radius: f64 },
    Polygon(Vec<(i32, i32)>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    name: String,
    tags: Vec<String>,
    matrix: Vec<Vec<f64>>,
    lookup: BTreeMap<u32, String>,
    shape: Shape,
    nothing: Option<Box<Record>>,
}

fn record(rank: usize) -> Record {
    Record {
        name: format!("rank-{rank}"),
        tags: (0..rank).map(|i| "t".repeat(i)).collect(),
        matrix: (0..rank + 1).map(|i| vec![i as f64 * 0.5; i]).collect(),
        lookup: BTreeMap::from([(8, "Monty".into()), (rank as u32, "me".into())]),
        shape: match rank % 3 {
            0 => Shape::Point,
            1 => Shape::Circle {
                radius: rank as f64,
            },
            _ => Shape::Polygon(vec![(0, 0), (rank as i32, 1)]),
        },
        nothing: None,
    }
}

#[test]
fn nested_values_round_trip() {
    spmd("nested_values_round_trip", &[2, 3, 4], |world| {
        let (rank, size) = (world.rank(), world.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        world.send(&record(rank), right)?;
        world.send(&String::new(), right)?;
        world.send(&Vec::<Vec<f64>>::new(), right)?;
        world.send(&vec![vec![rank as f64; 3]; rank], right)?;
        world.send(&HashMap::from([(rank, "x".to_string())]), right)?;
        world.send(&(), right)?;
        assert_eq!(world.receive::<Record>(left)?, record(left));
        assert_eq!(world.receive::<String>(left)?, "");
        assert!(world.receive::<Vec<Vec<f64>>>(left)?.is_empty());
        assert_eq!(
            world.receive::<Vec<Vec<f64>>>(left)?,
            vec![vec![left as f64; 3]; left]
        );
        assert_eq!(world.receive::<HashMap<usize, String>>(left)?[&left], "x");
        world.receive::<()>(left)?;
        Ok(())
    });
}

#[test]
fn any_source_and_any_tag() {
    spmd("any_source_and_any_tag", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        if rank != 0 {
            world.tag(rank).send(&(rank * 100), 0)?; // a usize tag
            return Ok(());
        }
        let mut seen = vec![false; size];
        for _ in 1..size {
            let (value, status) = world.tag(Any).with_status().receive::<usize>(Any)?;
            assert_eq!(value, status.source * 100);
            assert_eq!(status.tag, status.source as i32);
            assert!(status.bytes > 0);
            assert!(!seen[status.source], "two messages from {}", status.source);
            seen[status.source] = true;
        }
        assert_eq!(seen.iter().filter(|s| **s).count(), size - 1);
        Ok(())
    });
}

#[test]
fn tags_keep_messages_apart() {
    spmd("tags_keep_messages_apart", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        world.tag(2).send("second", right)?;
        world.tag(1).send("first", right)?;
        world.send("default", right)?;
        // Received in another order than sent: each tag matches its own message.
        assert_eq!(world.tag(1).receive::<String>(left)?, "first");
        assert_eq!(world.receive::<String>(Source::Any)?, "default");
        let (text, status) = world.tag(Tag::Any).with_status().receive::<String>(left)?;
        assert_eq!((text.as_str(), status.tag), ("second", 2));
        Ok(())
    });
}

#[test]
fn messages_from_one_source_keep_their_order() {
    spmd(
        "messages_from_one_source_keep_their_order",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            for i in 0..200u32 {
                world.send(&i, right)?;
            }
            for i in 0..200u32 {
                assert_eq!(world.receive::<u32>(left)?, i);
            }
            Ok(())
        },
    );
}

#[test]
fn type_mismatch_names_both_types_and_keeps_the_message() {
    spmd(
        "type_mismatch_names_both_types_and_keeps_the_message",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            world.send(&format!("from {rank}"), right)?;
            let err = world.receive::<Vec<f64>>(left).unwrap_err();
            match err.kind() {
                ErrorKind::TypeMismatch {
                    expected, found, ..
                } => {
                    assert_eq!(expected, "alloc::vec::Vec<f64>");
                    assert_eq!(found, "alloc::string::String");
                }
                other => panic!("expected TypeMismatch, got {other:?}"),
            }
            assert!(err.to_string().contains("Vec<f64>") && err.to_string().contains("String"));
            // The message was not lost.
            assert_eq!(world.receive::<String>(left)?, format!("from {left}"));
            Ok(())
        },
    );
}

/// A type's fingerprint on the wire (format version 3, long form): FNV-1a (64-bit) of its name.
fn fingerprint(name: &str) -> u64 {
    use std::hash::Hasher;
    let mut hash = fnv::FnvHasher::default();
    hash.write(name.as_bytes());
    hash.finish()
}

/// The mismatch names both types at every size: short, at the inline limit (where the
/// sender's name stays home and its fingerprint stands for it), long and split.
#[test]
fn type_mismatch_is_named_at_every_size() {
    spmd("type_mismatch_is_named_at_every_size", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        let name = "alloc::vec::Vec<u8>";
        for len in [0usize, 1, 200, 232, 256, 1024, 70_000, 1 << 20] {
            // Nonblocking: a long message waits for its receiver, and every rank sends first.
            let sent = world.isend(&vec![7u8; len], right)?;
            let err = world.receive::<(u8, String)>(left).unwrap_err();
            match err.kind() {
                ErrorKind::TypeMismatch { expected, found } => {
                    assert_eq!(expected, "(u8, alloc::string::String)");
                    if len == 232 {
                        // 16 + 8 + 232 = 256 bytes: the name would have crossed the limit.
                        let fp = format!("{:#018x}", fingerprint(name));
                        assert!(found.contains(&fp), "{len}: {found}");
                    } else {
                        assert_eq!(found, name, "{len}");
                    }
                }
                other => panic!("expected TypeMismatch at {len} bytes, got {other:?}"),
            }
            assert_eq!(world.receive::<Vec<u8>>(left)?, vec![7u8; len]);
            sent.wait()?;
        }
        Ok(())
    });
}

/// A short message (up to 24 bytes) carries no name: a rank that never used the sent type
/// gives its 32-bit fingerprint, one that did names it; the message stays queued.
#[test]
fn a_short_mismatch_names_what_the_receiver_knows() {
    spmd(
        "a_short_mismatch_names_what_the_receiver_knows",
        &[2, 3],
        |world| {
            #[derive(Serialize, Deserialize, PartialEq, Debug)]
            struct OnlyRankZeroSendsThis(u16);
            let name = std::any::type_name::<OnlyRankZeroSendsThis>();
            let fp = fingerprint(name);
            let folded = format!("{:#010x}", (fp ^ (fp >> 32)) as u32);
            match world.rank() {
                0 => {
                    world.send(&OnlyRankZeroSendsThis(7), 1)?;
                    world.send(&vec![3u8], 1)?;
                }
                1 => {
                    let err = world.receive::<String>(0).unwrap_err();
                    match err.kind() {
                        ErrorKind::TypeMismatch { expected, found } => {
                            assert_eq!(expected, "alloc::string::String");
                            assert!(found.contains(&folded), "{found}");
                        }
                        other => panic!("expected TypeMismatch, got {other:?}"),
                    }
                    assert_eq!(world.receive::<OnlyRankZeroSendsThis>(0)?.0, 7);
                    // Now this rank has received the type, and it knows `Vec<u8>` as well
                    // once it has sent one (to itself here).
                    world.send(&vec![1u8], 1)?;
                    assert_eq!(world.receive::<Vec<u8>>(1)?, vec![1]);
                    let err = world.receive::<String>(0).unwrap_err();
                    match err.kind() {
                        ErrorKind::TypeMismatch { found, .. } => {
                            assert_eq!(found, "alloc::vec::Vec<u8>")
                        }
                        other => panic!("expected TypeMismatch, got {other:?}"),
                    }
                    assert_eq!(world.receive::<Vec<u8>>(0)?, vec![3]);
                }
                _ => {}
            }
            Ok(())
        },
    );
}

/// A message in the old wire format (version 1: the type's name and the payload length
/// in the header) is a clear `Err`, consumed; the communicator goes on.
#[test]
fn the_old_wire_format_is_a_clear_error() {
    spmd("the_old_wire_format_is_a_clear_error", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        // Version 1 of 42u64: "rspr", 1, flags, name length, payload length, name, payload.
        let mut old = b"rspr\x01\x00".to_vec();
        old.extend_from_slice(&3u16.to_le_bytes());
        old.extend_from_slice(&8u64.to_le_bytes());
        old.extend_from_slice(b"u64");
        old.extend_from_slice(&42u64.to_le_bytes());
        world.send_buffer(&old, right)?;
        let err = world.receive::<u64>(left).unwrap_err();
        match err.kind() {
            ErrorKind::Decode { reason } => {
                assert!(reason.contains("wire format version 1"), "{reason}");
                assert!(reason.contains("older rspar"), "{reason}");
            }
            other => panic!("expected Decode, got {other:?}"),
        }
        let back: usize = world.sendrecv(&rank, right, left)?;
        assert_eq!(back, left);
        Ok(())
    });
}

#[test]
fn invalid_rank_and_tag_are_errors() {
    spmd("invalid_rank_and_tag_are_errors", SIZES, |world| {
        let size = world.size();
        let err = world.send(&1u8, size).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidRank { rank, size: s, .. } if *rank == size && *s == size)
        );
        assert!(world.receive::<u8>(size + 3).is_err());
        assert!(world.send_buffer(&[1u8], usize::MAX).is_err());
        for bad in [-1, MAX_TAG + 1, i32::MIN] {
            let err = world.tag(bad).send(&1u8, 0).unwrap_err();
            assert!(matches!(err.kind(), ErrorKind::InvalidTag { .. }), "{err}");
            assert!(world.tag(bad).receive::<u8>(0).is_err());
        }
        assert!(world.tag(Any).send(&1u8, 0).is_err());
        Ok(())
    });
}

#[test]
fn sendrecv_shifts_large_values_without_deadlock() {
    spmd(
        "sendrecv_shifts_large_values_without_deadlock",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            // 4 MiB: far above any eager limit, so a naive send-then-receive would deadlock.
            let mine = vec![rank as u64; 512 * 1024];
            let got: Vec<u64> = world.sendrecv(&mine, right, left)?;
            assert_eq!(got.len(), mine.len());
            assert!(got.iter().all(|&x| x == left as u64));
            Ok(())
        },
    );
}

#[test]
fn sending_to_yourself_never_blocks() {
    spmd("sending_to_yourself_never_blocks", &[1, 2], |world| {
        let me = world.rank();
        let big = vec![7u8; 8 << 20];
        world.send(&big, me)?;
        world.tag(9).send("tagged", me)?;
        world.send_buffer(&[1.5f64; 100_000], me)?;
        assert_eq!(world.tag(9).receive::<String>(me)?, "tagged");
        assert_eq!(world.receive::<Vec<u8>>(me)?, big);
        let mut back = vec![0.0f64; 100_000];
        let status = world.with_status().receive_buffer_into(&mut back, me)?;
        assert_eq!((status.source, status.bytes), (me, 800_000));
        assert!(back.iter().all(|&x| x == 1.5));
        // Nothing more was sent to self: waiting would be forever, so it is an error.
        let err = world.receive::<String>(me).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Deadlock { .. }), "{err}");
        Ok(())
    });
}

#[test]
fn undecodable_bytes_are_an_error_not_a_panic() {
    spmd(
        "undecodable_bytes_are_an_error_not_a_panic",
        &[1, 2, 3],
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            // Raw bytes (no rspar header), and a header announcing more than it carries.
            world.send_buffer(b"definitely not an object", right)?;
            // (Version 3: "rspr", 3, flags (1 split, 2 named), name length, fingerprint.)
            let mut forged = b"rspr\x03\x02\x00\x10".to_vec();
            forged.extend_from_slice(&fingerprint("alloc::string::String").to_le_bytes());
            forged.extend_from_slice(b"alloc");
            world.send_buffer(&forged, right)?;
            // The first part of a split message announcing a terabyte, then 3 bytes: an
            // error, with nothing allocated for the announced size.
            let mut split = b"rspr\x03\x03\x05\x00".to_vec();
            split.extend_from_slice(&fingerprint("alloc::string::String").to_le_bytes());
            split.extend_from_slice(b"alloc");
            split.extend_from_slice(&(1u64 << 40).to_le_bytes());
            split.extend_from_slice(&[0u8; 8]); // the payload's first 8 bytes
            world.send_buffer(&split, right)?;
            world.send_buffer(b"abc", right)?;
            // From another rank the 3 bytes are taken as the (wrong) payload; sent to self
            // they are two held buffers, each undecodable.
            let bad_messages = if size > 1 { 3 } else { 4 };
            for _ in 0..bad_messages {
                let err = world.receive::<String>(left).unwrap_err();
                assert!(matches!(err.kind(), ErrorKind::Decode { .. }), "{err}");
            }
            // The communicator is still usable.
            let back: usize = world.sendrecv(&rank, right, left)?;
            assert_eq!(back, left);
            Ok(())
        },
    );
}

#[test]
fn long_messages_split_keep_type_checks_order_and_status() {
    spmd(
        "long_messages_split_keep_type_checks_order_and_status",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            // Around the split threshold (64 KiB of encoded bytes) and well above it.
            let lengths = [8_000usize, 8_190, 8_200, 100_000, 1 << 20];
            let data = |from: usize, n: usize| -> Vec<f64> {
                (0..n).map(|i| (from * 1_000_000 + i) as f64).collect()
            };
            // Nonblocking, so every rank can send before it receives (blocking sends of
            // long messages would wait for the receiver).
            let sends = lengths
                .iter()
                .map(|&n| world.isend(&data(rank, n), right))
                .collect::<Result<Vec<_>, _>>()?;
            // The first long one is asked for with the wrong type: refused, kept, in order.
            for (k, &n) in lengths.iter().enumerate() {
                if k == 3 {
                    let err = world.receive::<Vec<u32>>(left).unwrap_err();
                    assert!(
                        matches!(err.kind(), ErrorKind::TypeMismatch { .. }),
                        "{err}"
                    );
                }
                let source = if k % 2 == 0 { Source::Any } else { left.into() };
                let (got, status) = world.with_status().receive::<Vec<f64>>(source)?;
                assert_eq!(got, data(left, n), "message {k} of {n} values");
                assert_eq!(status.source, left);
                assert!(
                    status.bytes >= n * 8 && status.bytes < n * 8 + 64,
                    "{status:?}"
                );
            }
            rspar::SendRequest::wait_all(sends)?;
            // A long raw buffer is not an object: an error, and nothing is stuck.
            // Rank 0 sends rank 1 a long raw buffer.
            if size > 1 && rank == 0 {
                world.send_buffer(&vec![7u8; 200_000], 1)?;
            }
            if size > 1 && rank == 1 {
                let err = world.receive::<Vec<u8>>(0).unwrap_err();
                assert!(matches!(err.kind(), ErrorKind::Decode { .. }), "{err}");
            }
            let back: String = world.sendrecv(&format!("{rank}"), right, left)?;
            assert_eq!(back, left.to_string());
            Ok(())
        },
    );
}

/// Rank 0 sends first, the others receive first: a ring of blocking sends that cannot
/// deadlock however long the messages.
fn ring_pass<T>(world: &Communicator, value: &T) -> Result<T, rspar::Error>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let (rank, size) = (world.rank(), world.size());
    let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
    if rank == 0 {
        world.send(value, right)?;
        world.receive(left)
    } else {
        let got = world.receive(left)?;
        world.send(value, right)?;
        Ok(got)
    }
}

#[test]
fn long_number_vectors_travel_whole_with_blocking_sends() {
    spmd(
        "long_number_vectors_travel_whole_with_blocking_sends",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let left = (rank + size - 1) % size;
            // Below, at and above the split threshold, and 4 MiB.
            for n in [100usize, 8_189, 8_190, 70_000, 1 << 19] {
                let f64s: Vec<f64> = (0..n).map(|i| (rank * n + i) as f64 * 0.5).collect();
                let want: Vec<f64> = (0..n).map(|i| (left * n + i) as f64 * 0.5).collect();
                assert_eq!(ring_pass(world, &f64s)?, want, "f64 x {n}");
                let bytes: Vec<u8> = (0..n).map(|i| (rank + i) as u8).collect();
                let want: Vec<u8> = (0..n).map(|i| (left + i) as u8).collect();
                assert_eq!(ring_pass(world, &bytes)?, want, "u8 x {n}");
                let i16s: Vec<i16> = (0..n)
                    .map(|i| (i as i16).wrapping_mul(rank as i16 - 3))
                    .collect();
                let want: Vec<i16> = (0..n)
                    .map(|i| (i as i16).wrapping_mul(left as i16 - 3))
                    .collect();
                assert_eq!(ring_pass(world, &i16s)?, want, "i16 x {n}");
            }
            // A slice is received as a Vec; the status counts the whole message.
            let data: Vec<u32> = (0..100_000).map(|i| i * (rank as u32 + 1)).collect();
            let (right, left) = ((rank + 1) % size, left);
            let got: Vec<u32> = if rank == 0 {
                world.send(&data[..], right)?;
                world.receive(left)?
            } else {
                let got = world.with_status().receive::<Vec<u32>>(left)?;
                assert!(
                    got.1.bytes >= 400_008 && got.1.bytes < 400_100,
                    "{:?}",
                    got.1
                );
                world.send(&data[..], right)?;
                got.0
            };
            assert_eq!(
                got,
                (0..100_000)
                    .map(|i| i * (left as u32 + 1))
                    .collect::<Vec<_>>()
            );
            // A long vector asked for with another number type is refused and kept.
            let long: Vec<f64> = vec![rank as f64; 50_000];
            let request = world.isend(&long, right)?;
            let err = world.receive::<Vec<f32>>(left).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::TypeMismatch { .. }),
                "{err}"
            );
            assert_eq!(world.receive::<Vec<f64>>(left)?, vec![left as f64; 50_000]);
            request.wait()?;
            Ok(())
        },
    );
}

#[test]
fn forged_number_payloads_are_decode_errors() {
    spmd(
        "forged_number_payloads_are_decode_errors",
        &[1, 2, 3],
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            let name = b"alloc::vec::Vec<f64>";
            // A split message's first part: header, type name, the payload's length and
            // its first 8 bytes (for a vector of numbers, its count).
            let split_head = |payload_len: u64, count: u64| {
                let mut head = b"rspr\x03\x03".to_vec();
                head.extend_from_slice(&(name.len() as u16).to_le_bytes());
                head.extend_from_slice(&fingerprint("alloc::vec::Vec<f64>").to_le_bytes());
                head.extend_from_slice(name);
                head.extend_from_slice(&payload_len.to_le_bytes());
                head.extend_from_slice(&count.to_le_bytes());
                head
            };
            // 20 bytes cannot be a count and f64s; a count of 5 with 2 f64s behind it lies.
            world.send_buffer(&split_head(20, 1), right)?;
            world.send_buffer(&[0u8; 12], right)?;
            world.send_buffer(&split_head(24, 5), right)?;
            world.send_buffer(&[0u8; 16], right)?;
            let bad = if size > 1 { 2 } else { 4 };
            for _ in 0..bad {
                let err = world.receive::<Vec<f64>>(left).unwrap_err();
                assert!(matches!(err.kind(), ErrorKind::Decode { .. }), "{err}");
            }
            let back: usize = world.sendrecv(&rank, right, left)?;
            assert_eq!(back, left);
            Ok(())
        },
    );
}
