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
