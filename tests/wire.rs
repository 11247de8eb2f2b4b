//! The object wire format's checks across ranks, under mpirun at 1..5 ranks (and 2..3
//! where a test needs a partner): a wrong-type receive names both types at every size and
//! keeps the message, old formats and forged or undecodable bytes are clear errors, and
//! the communicator goes on.

mod common;

use common::{spmd, SIZES};
use rspar::ErrorKind;
use serde::{Deserialize, Serialize};

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

/// A type's fingerprint on the wire (format version 5, both forms): FNV-1a (64-bit) of its name.
fn fingerprint(name: &str) -> u64 {
    use std::hash::Hasher;
    let mut hash = fnv::FnvHasher::default();
    hash.write(name.as_bytes());
    hash.finish()
}

/// The mismatch names both types at every size: short, at the inline limit (where a
/// nonblocking send leaves the name home), long and split.
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
                    // At 232 (16 + 8 + 232 = 256 bytes) the name stayed home, as it would
                    // have crossed the limit: the receiver names it, as it sent one too.
                    assert_eq!(found, name, "{len}");
                }
                other => panic!("expected TypeMismatch at {len} bytes, got {other:?}"),
            }
            assert_eq!(world.receive::<Vec<u8>>(left)?, vec![7u8; len]);
            sent.wait()?;
        }
        // Blocking sends (even ranks send first, odd ones receive first: no cycle waits),
        // then nonblocking ones of another type: the first message above 24 bytes is
        // named, later ones of up to 256 bytes are short, and the receiver names them from
        // the first, at every size.
        let short_then_named = |blocking: bool| -> rspar::Result<Vec<usize>> {
            // A new communicator: its sends have named no type to any rank yet.
            let comm = world.duplicate()?;
            let mut sizes = vec![];
            for len in [0usize, 1, 200, 232, 246, 247, 256, 1024] {
                let tagged = comm.tag(if blocking { 3 } else { 4 });
                let send = || match blocking {
                    true => tagged.send(&vec![7u8; len], right),
                    false => tagged.isend(&vec![7i8; len], right)?.wait(),
                };
                if rank % 2 == 0 {
                    send()?;
                }
                let err = tagged.receive::<(u8, String)>(left).unwrap_err();
                let name = if blocking {
                    name
                } else {
                    "alloc::vec::Vec<i8>"
                };
                match err.kind() {
                    // The first tiny `Vec<i8>` reaches an odd rank before it used the type.
                    ErrorKind::TypeMismatch { found, .. }
                        if !blocking && len == 0 && rank % 2 == 1 =>
                    {
                        assert!(found.contains("a short message carries no name"), "{found}")
                    }
                    ErrorKind::TypeMismatch { found, .. } => assert_eq!(found, name, "{len}"),
                    other => panic!("expected TypeMismatch at {len} bytes, got {other:?}"),
                }
                let status = if blocking {
                    let (got, status) = tagged.with_status().receive::<Vec<u8>>(left)?;
                    assert_eq!(got, vec![7u8; len]);
                    status
                } else {
                    let (got, status) = tagged.with_status().receive::<Vec<i8>>(left)?;
                    assert_eq!(got, vec![7i8; len]);
                    status
                };
                sizes.push(status.bytes);
                if rank % 2 == 1 {
                    send()?;
                }
            }
            Ok(sizes)
        };
        for blocking in [true, false] {
            let sizes = short_then_named(blocking)?;
            if size > 1 {
                // Short up to 24 bytes (9 + the elements), then named once (16 + 19 + 8 +
                // the elements), then short up to 256 bytes, then named.
                let long = |len: usize| 16 + 19 + 8 + len;
                let short = [9, 10, long(200), 241, 255, 256, long(256), long(1024)];
                assert_eq!(sizes, short, "blocking: {blocking}");
            }
        }
        Ok(())
    });
}

/// A short message carries no name. A send's first message of a type to a rank (above 24
/// bytes) is long and named, and the receiver keeps the name, so its later short messages
/// are named too, even where the receiver never used the type; a short message of at most
/// 24 bytes of a type the receiver never used gives its fingerprint. The refused
/// messages stay queued.
#[test]
fn a_short_mismatch_names_what_the_receiver_knows() {
    spmd(
        "a_short_mismatch_names_what_the_receiver_knows",
        &[2, 3],
        |world| {
            #[derive(Serialize, Deserialize, PartialEq, Debug)]
            struct OnlyRankZeroSendsThis(u16);
            #[derive(Serialize, Deserialize, PartialEq, Debug)]
            struct OnlyRankZeroSendsThisEither(String);
            let found = |err: rspar::Error| match err.kind() {
                ErrorKind::TypeMismatch { expected, found } => {
                    assert_eq!(expected, "alloc::string::String");
                    found.clone()
                }
                other => panic!("expected TypeMismatch, got {other:?}"),
            };
            let either = std::any::type_name::<OnlyRankZeroSendsThisEither>();
            let text = || OnlyRankZeroSendsThisEither("x".repeat(100));
            match world.rank() {
                0 => {
                    world.isend(&OnlyRankZeroSendsThis(7), 1)?.wait()?;
                    world.tag(1).send(&text(), 1)?;
                    world.tag(2).send(&text(), 1)?;
                }
                1 => {
                    let name = std::any::type_name::<OnlyRankZeroSendsThis>();
                    let fp = fingerprint(name);
                    let unknown = found(world.receive::<String>(0).unwrap_err());
                    assert!(unknown.contains(&format!("{fp:#018x}")), "{unknown}");
                    assert_eq!(world.receive::<OnlyRankZeroSendsThis>(0)?.0, 7);
                    // The first 100-byte message carries the name; the second is short.
                    assert_eq!(
                        found(world.tag(1).receive::<String>(0).unwrap_err()),
                        either
                    );
                    assert_eq!(
                        found(world.tag(2).receive::<String>(0).unwrap_err()),
                        either
                    );
                    let (first, one) = world.tag(1).with_status().receive(0)?;
                    let (second, two) = world.tag(2).with_status().receive(0)?;
                    assert_eq!((first, second), (text(), text()));
                    assert_eq!(two.bytes, 9 + 8 + 100);
                    assert_eq!(one.bytes, two.bytes + 16 - 9 + either.len());
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
        // Versions 3 and 4's short form of 42u64: marker 0xe3 or 0xe4, the folded
        // fingerprint, payload.
        let fp = fingerprint("u64");
        for old in [3u8, 4] {
            let mut short = vec![0xe0 | old];
            short.extend_from_slice(&((fp ^ (fp >> 32)) as u32).to_le_bytes());
            short.extend_from_slice(&42u64.to_le_bytes());
            world.send_buffer(&short, right)?;
            let err = world.receive::<u64>(left).unwrap_err();
            assert!(err.to_string().contains(&format!("version {old}")), "{err}");
            assert!(err.to_string().contains("older rspar"), "{err}");
        }
        let back: usize = world.sendrecv(&rank, right, left)?;
        assert_eq!(back, left);
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
            // (Version 5: "rspr", 5, flags (1 split, 2 named), name length, fingerprint.)
            let mut forged = b"rspr\x05\x02\x00\x10".to_vec();
            forged.extend_from_slice(&fingerprint("alloc::string::String").to_le_bytes());
            forged.extend_from_slice(b"alloc");
            world.send_buffer(&forged, right)?;
            // The first part of a split message announcing a terabyte, then 3 bytes: an
            // error, with nothing allocated for the announced size.
            let mut split = b"rspr\x05\x03\x05\x00".to_vec();
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
                let mut head = b"rspr\x05\x03".to_vec();
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
