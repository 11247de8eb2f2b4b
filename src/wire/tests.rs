//! Unit tests of the codec: round trips, fingerprints, and hostile bytes.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Circle(f64),
    Named { name: String, sides: Vec<u32> },
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let bytes = encode(value).unwrap();
    let back: T = decode(&bytes).unwrap();
    assert_eq!(&back, value);
}

#[test]
fn round_trips_of_nested_values() {
    round_trip(&String::new());
    round_trip(&Vec::<f64>::new());
    round_trip(&vec![vec![1.5f64, -2.0], vec![], vec![f64::MAX]]);
    round_trip(&(
        "ABC".to_string(),
        (1i32, 2i64, 2.5f64),
        BTreeMap::from([(8, "Monty".to_string())]),
    ));
    round_trip(&vec![
        Shape::Empty,
        Shape::Circle(2.0),
        Shape::Named {
            name: "tri".into(),
            sides: vec![3, 4, 5],
        },
    ]);
    round_trip(&Some(()));
    round_trip(&());
}

#[test]
fn borrowed_forms_match_owned_forms() {
    let bytes = encode("hello").unwrap();
    assert_eq!(decode::<String>(&bytes).unwrap(), "hello");
    let slice: &[f64] = &[1.0, 2.0];
    let bytes = encode(slice).unwrap();
    assert_eq!(decode::<Vec<f64>>(&bytes).unwrap(), vec![1.0, 2.0]);
    assert_eq!(TypeName::of::<[u8; 4]>().to_string(), "[u8; 4]");
    assert_eq!(
        TypeName::of::<[Vec<[u8; 2]>]>().to_string(),
        "alloc::vec::Vec<alloc::vec::Vec<[u8; 2]>>"
    );
    assert_eq!(fingerprint::<&&str>(), fingerprint::<String>());
    assert_eq!(fingerprint::<[u8; 4]>(), fnv1a(b"[u8; 4]"));
    assert_eq!(
        fingerprint::<[Vec<[u8; 2]>]>(),
        fnv1a(b"alloc::vec::Vec<alloc::vec::Vec<[u8; 2]>>")
    );
}

/// FNV-1a, 64-bit, as the wire format specifies it, written out.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn the_header_is_as_documented() {
    let value = [7u64, 8, 9];
    let bytes = encode(&value).unwrap();
    assert_eq!(&bytes[..8], b"rspr\x05\x02\x08\x00");
    assert_eq!(bytes[8..16], fnv1a(b"[u64; 3]").to_le_bytes());
    assert_eq!(&bytes[16..24], b"[u64; 3]");
    assert_eq!(bytes[24..], bincode_payload(&value));
    // A long message is in the split layout: the payload's length after the name.
    let long = vec![1u8; SPLIT_ABOVE];
    let bytes = encode(&long).unwrap();
    let name = b"alloc::vec::Vec<u8>";
    assert_eq!(bytes[5], FLAG_SPLIT | FLAG_NAMED);
    let at = HEADER_LEN + name.len();
    assert_eq!(&bytes[HEADER_LEN..at], name);
    assert_eq!(bytes[at..at + 8], (SPLIT_ABOVE as u64 + 8).to_le_bytes());
    let first = split_at(&bytes).unwrap();
    assert_eq!(first, at + 8 + LEAD);
    let head = split_payload(&bytes[..first]).unwrap();
    assert_eq!(head.rest, SPLIT_ABOVE as u64);
    assert_eq!(head.lead, (SPLIT_ABOVE as u64).to_le_bytes());
    assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), long);
}

#[test]
fn a_name_that_would_cross_the_inline_limit_stays_home() {
    // Header 16 + count 8 + 232 bytes = 256: the name would push it past.
    let bytes = encode(&vec![3u8; 232]).unwrap();
    assert_eq!(bytes.len(), INLINE);
    let parsed = parse(&bytes).unwrap();
    assert!(parsed.name.is_none());
    // This process encoded it, so it names it (a send to self).
    match decode::<String>(&bytes).unwrap_err().kind() {
        ErrorKind::TypeMismatch { expected, found } => {
            assert_eq!(expected, "alloc::string::String");
            assert_eq!(found, "alloc::vec::Vec<u8>");
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), vec![3u8; 232]);
    // A type this process never used: its fingerprint.
    let mut forged = bytes.clone();
    let never = fnv1a(b"crate::NeverUsedHere");
    forged[8..16].copy_from_slice(&never.to_le_bytes());
    match decode::<String>(&forged).unwrap_err().kind() {
        ErrorKind::TypeMismatch { found, .. } => {
            assert!(found.contains(&format!("{never:#018x}")), "{found}");
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    // Below and above the window the name travels.
    assert!(parse(&encode(&vec![3u8; 200]).unwrap())
        .unwrap()
        .name
        .is_some());
    assert!(parse(&encode(&vec![3u8; 256]).unwrap())
        .unwrap()
        .name
        .is_some());
}

#[test]
fn the_old_wire_format_is_a_clear_error() {
    // Version 1: "rspr", 1, flags, name length, payload length, name, payload.
    let mut old = b"rspr\x01\x00".to_vec();
    old.extend_from_slice(&3u16.to_le_bytes());
    old.extend_from_slice(&8u64.to_le_bytes());
    old.extend_from_slice(b"u64");
    old.extend_from_slice(&42u64.to_le_bytes());
    let err = decode::<u64>(&old).unwrap_err();
    match err.kind() {
        ErrorKind::Decode { reason } => {
            assert!(reason.contains("version 1"), "{reason}");
            assert!(reason.contains("older rspar"), "{reason}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(split_payload(&old).is_none());
    // Version 2: the long form alone (16-byte header, 64-bit fingerprint).
    // Versions 2 and 3: the long form as today, the short form of at most 24 bytes;
    // version 4: the short form with a 32-bit fingerprint.
    for old in [2, 3, 4] {
        let mut long = encode(&[42u64; 3]).unwrap();
        long[4] = old;
        let err = decode::<[u64; 3]>(&long).unwrap_err();
        assert!(err.to_string().contains(&format!("version {old}")), "{err}");
        assert!(err.to_string().contains("older rspar"), "{err}");
    }
    for old in [3, 4] {
        let mut short = encode(&42u64).unwrap();
        assert_eq!(short.len(), short::HEADER_LEN + 8);
        short[0] = (short[0] & 0xf0) | old;
        let err = decode::<u64>(&short).unwrap_err();
        assert!(err.to_string().contains(&format!("version {old}")), "{err}");
        assert!(err.to_string().contains("older rspar"), "{err}");
    }
    let mut future = encode(&[42u64; 3]).unwrap();
    future[4] = 6;
    let err = decode::<[u64; 3]>(&future).unwrap_err();
    assert!(err.to_string().contains("version 6"), "{err}");
    // A short message of another version.
    let mut future = encode(&42u64).unwrap();
    future[0] = (future[0] & 0xf0) | 6;
    let err = decode::<u64>(&future).unwrap_err();
    assert!(err.to_string().contains("version 6"), "{err}");
    assert!(!err.to_string().contains("older rspar"), "{err}");
}

#[test]
fn small_values_travel_in_the_short_form() {
    // A vector of numbers: marker (bare), fingerprint, the elements alone.
    let bytes = encode(&vec![1u8, 2, 3]).unwrap();
    let fp = fnv1a(b"alloc::vec::Vec<u8>");
    assert_eq!(bytes[0], 0xf5);
    assert_eq!(bytes[1..9], fp.to_le_bytes());
    assert_eq!(&bytes[9..], &[1, 2, 3]);
    assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), vec![1, 2, 3]);
    // Anything else: marker (bincode), fingerprint, bincode's payload.
    let bytes = encode(&7u32).unwrap();
    let fp = fnv1a(b"u32");
    assert_eq!(bytes[0], 0xe5);
    assert_eq!(bytes[1..9], fp.to_le_bytes());
    assert_eq!(&bytes[9..], 7u32.to_le_bytes());
    // The longest short message to any rank, and the shortest long one.
    assert_eq!(encode(&vec![0u8; 15]).unwrap().len(), short::TINY);
    assert_eq!(&encode(&vec![0u8; 16]).unwrap()[..4], b"rspr");
    assert_eq!(encode(&vec![0u16; 7]).unwrap().len(), 23);
    // A slice is its vector; a borrowed value its owned one.
    let slice: &[i32] = &[-1, 2];
    assert_eq!(encode(slice).unwrap(), encode(&vec![-1i32, 2]).unwrap());
    assert_eq!(decode::<String>(&encode("hi").unwrap()).unwrap(), "hi");
    // A receiver takes either form at any size.
    let value = vec![5u32; 2];
    let name = TypeName::of::<Vec<u32>>();
    let mut bytes = vec![0; HEADER_LEN + name.len()];
    let at = put_header(&mut bytes, FLAG_NAMED, name, 0);
    assert_eq!(at, bytes.len());
    bytes.extend(bincode_payload(&value));
    assert_eq!(&bytes[..4], b"rspr");
    assert_eq!(decode::<Vec<u32>>(&bytes).unwrap(), value);
}

#[test]
fn short_messages_are_checked_like_long_ones() {
    let bytes = encode(&vec![1u32, 2]).unwrap();
    // Bare elements that are no whole number of elements.
    assert!(matches!(
        decode::<Vec<u32>>(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .kind(),
        ErrorKind::Decode { .. }
    ));
    // Bare elements for a type that is no vector of numbers, with the same fingerprint.
    let mut forged = bytes.clone();
    forged[1..9].copy_from_slice(&fingerprint::<String>().to_le_bytes());
    assert!(matches!(
        decode::<String>(&forged).unwrap_err().kind(),
        ErrorKind::Decode { .. }
    ));
    // Too short for the header; too long to be short.
    for cut in 0..short::HEADER_LEN {
        assert!(decode::<Vec<u32>>(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut long = bytes.clone();
    long.resize(short::MAX + 1, 0);
    assert!(matches!(
        decode::<Vec<u32>>(&long).unwrap_err().kind(),
        ErrorKind::Decode { .. }
    ));
    // Up to `MAX`: 61 4-byte elements in 253 bytes.
    long.truncate(short::HEADER_LEN + 61 * 4);
    assert_eq!(decode::<Vec<u32>>(&long).unwrap().len(), 61);
}

#[test]
fn a_short_mismatch_names_the_sent_type_when_this_program_knows_it() {
    struct NeverSent;
    // This process sent a short `Vec<i8>`, so it knows the name.
    let bytes = encode(&vec![1i8]).unwrap();
    match decode::<String>(&bytes).unwrap_err().kind() {
        ErrorKind::TypeMismatch { expected, found } => {
            assert_eq!(expected, "alloc::string::String");
            assert_eq!(found, "alloc::vec::Vec<i8>");
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    // A type this process never used: its fingerprint.
    let mut bytes = bytes;
    let fp = fingerprint::<NeverSent>();
    bytes[1..9].copy_from_slice(&fp.to_le_bytes());
    match decode::<String>(&bytes).unwrap_err().kind() {
        ErrorKind::TypeMismatch { found, .. } => {
            assert!(found.contains(&format!("{fp:#018x}")), "{found}");
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
}

#[test]
fn type_mismatch_names_both_types() {
    let bytes = encode(&String::from("text")).unwrap();
    let err = decode::<Vec<f64>>(&bytes).unwrap_err();
    match err.kind() {
        ErrorKind::TypeMismatch {
            expected, found, ..
        } => {
            assert_eq!(expected, "alloc::vec::Vec<f64>");
            assert_eq!(found, "alloc::string::String");
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
}

#[test]
fn truncated_and_corrupt_headers_are_errors() {
    let bytes = encode(&vec![1u64, 2, 3]).unwrap();
    for cut in 0..bytes.len() {
        assert!(decode::<Vec<u64>>(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut bad = bytes.clone();
    bad[0] ^= 0xff;
    assert!(matches!(
        decode::<Vec<u64>>(&bad).unwrap_err().kind(),
        ErrorKind::Decode { .. }
    ));
    let mut bad = bytes.clone();
    bad[4] = 9;
    assert!(decode::<Vec<u64>>(&bad).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode::<Vec<u64>>(&longer).is_err());
}

#[test]
fn hostile_length_prefix_does_not_allocate() {
    // A Vec<u64> whose bincode length claims 2^61 elements, in a 32-byte payload.
    let mut bytes = encode(&vec![7u64; 3]).unwrap();
    let payload_at = bytes.len() - 8 * 4;
    bytes[payload_at..payload_at + 8].copy_from_slice(&(1u64 << 61).to_le_bytes());
    assert!(decode::<Vec<u64>>(&bytes).is_err());
}

proptest! {
    #[test]
    fn any_nested_value_round_trips(v in proptest::collection::vec((any::<i64>(), ".*", proptest::collection::vec(any::<f64>().prop_filter("nan", |x| !x.is_nan()), 0..8)), 0..8)) {
        let bytes = encode(&v).unwrap();
        prop_assert_eq!(decode::<Vec<(i64, String, Vec<f64>)>>(&bytes).unwrap(), v);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<Vec<String>>(&bytes);
        let _ = decode::<(u8, Option<Vec<u64>>)>(&bytes);
    }

    #[test]
    fn bit_flips_are_errors_or_values(flip in 0usize..400, bit in 0u8..8) {
        let mut bytes = encode(&(String::from("payload"), vec![1u32, 2, 3])).unwrap();
        let at = flip % bytes.len();
        bytes[at] ^= 1 << bit;
        // Any outcome but a panic is acceptable; a flip in the header must be an error.
        let result = decode::<(String, Vec<u32>)>(&bytes);
        if at < HEADER_LEN {
            prop_assert!(result.is_err());
        }
    }
}

/// bincode's own payload of `value`, as the serde path writes it.
fn bincode_payload<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    options().serialize(value).unwrap()
}

proptest! {
    #[test]
    fn bulk_payloads_are_bincodes_bytes(
        f64s in proptest::collection::vec(any::<f64>(), 0..200),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        i16s in proptest::collection::vec(any::<i16>(), 0..100),
    ) {
        // The long form carries bincode's bytes; the short form the elements alone.
        let payload_of = |encoded: &[u8], size: usize| {
            let parsed = parse(encoded).unwrap();
            let mut payload = parsed.payload.to_vec();
            if parsed.bare {
                let count = (payload.len() / size) as u64;
                payload.splice(0..0, count.to_le_bytes());
            }
            payload
        };
        let encoded = encode(&f64s).unwrap();
        prop_assert_eq!(payload_of(&encoded, 8), bincode_payload(&f64s));
        let back: Vec<f64> = decode(&encoded).unwrap();
        prop_assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            f64s.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        let encoded = encode(&bytes[..]).unwrap();
        prop_assert_eq!(payload_of(&encoded, 1), bincode_payload(&bytes));
        prop_assert_eq!(decode::<Vec<u8>>(&encoded).unwrap(), bytes);
        let encoded = encode(&i16s).unwrap();
        prop_assert_eq!(payload_of(&encoded, 2), bincode_payload(&i16s));
        prop_assert_eq!(decode::<Vec<i16>>(&encoded).unwrap(), i16s);
    }

    #[test]
    fn bulk_decoding_accepts_exactly_what_bincode_accepts(
        count in 0u64..12,
        body in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        let mut payload = count.to_le_bytes().to_vec();
        payload.extend_from_slice(&body);
        for payload in [&payload[..], &payload[..payload.len().min(5)]] {
            let ours = bulk::decode::<Vec<u32>>(payload, false).unwrap();
            let theirs: std::result::Result<Vec<u32>, _> =
                options().with_limit(payload.len() as u64).deserialize(payload);
            match (ours, theirs) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(a), Err(_)) => {
                    let decode_error = matches!(a.kind(), ErrorKind::Decode { .. });
                    prop_assert!(decode_error, "{}", a);
                }
                (a, b) => prop_assert!(false, "bulk {:?} but bincode {:?}", a, b),
            }
        }
    }
}

#[test]
fn only_vectors_and_slices_of_numbers_take_the_bulk_path() {
    assert!(bulk::of(&vec![1.0f64]).is_some());
    assert!(bulk::of(&[1u8, 2][..]).is_some());
    assert!(bulk::of(&vec![true]).is_none());
    assert!(bulk::of(&vec![(1u8, 2u8)]).is_none());
    assert!(
        bulk::of(&[1u8, 2]).is_none(),
        "an array is a tuple to serde, not a sequence"
    );
    assert!(bulk::of("text").is_none());
    assert_eq!(bulk::element_size::<Vec<f32>>(), Some(4));
    assert_eq!(bulk::element_size::<Vec<usize>>(), None);
    assert_eq!(bulk::element_size::<String>(), None);
    // The fingerprint of a bulk vector is the one the serde path gives it.
    assert_eq!(fingerprint::<[i64]>(), fingerprint::<Vec<i64>>());
}

/// `encode_into` for `reader`: the bytes and whether they carry the name.
fn encode_for<T: Serialize + ?Sized>(value: &T, reader: Reader) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let (len, named) = encode_into(&mut bytes, value, || reader).unwrap();
    bytes.truncate(len);
    (bytes, named)
}

#[test]
fn the_reader_decides_the_form() {
    let tiny = vec![1u8; 15];
    let small = vec![2u8; 232];
    let inline = vec![3u8; short::MAX - short::HEADER_LEN];
    // Anyone: short up to 24 bytes, else long (unnamed where the name crosses 256).
    assert_eq!(
        encode_for(&tiny, Reader::Anyone),
        (encode(&tiny).unwrap(), false)
    );
    assert!(!encode_for(&small, Reader::Anyone).1);
    assert_eq!(encode_for(&small, Reader::Anyone).0.len(), INLINE);
    // New: short up to 24 bytes, else long and named, even where the name crosses 256.
    assert_eq!(
        encode_for(&tiny, Reader::New),
        (encode(&tiny).unwrap(), false)
    );
    for value in [&vec![0u8; 20][..], &small[..], &inline[..]] {
        let (bytes, named) = encode_for(value, Reader::New);
        assert!(named, "{}", value.len());
        assert_eq!(
            parse(&bytes).unwrap().name,
            Some(&b"alloc::vec::Vec<u8>"[..])
        );
        assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), value);
    }
    // Introduced: short up to 256 bytes (bare elements for a vector), then long.
    for value in [&tiny[..], &small[..], &inline[..]] {
        let (bytes, named) = encode_for(value, Reader::Introduced);
        assert!(!named);
        assert!(short::is_short(&bytes));
        assert_eq!(bytes.len(), short::HEADER_LEN + value.len());
        assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), value);
    }
    let (bytes, named) = encode_for(&vec![4u8; short::MAX], Reader::Introduced);
    assert!(named && &bytes[..4] == b"rspr");
    // A serde value as well.
    let text = "x".repeat(200);
    let (bytes, _) = encode_for(&text, Reader::Introduced);
    assert_eq!(bytes.len(), short::HEADER_LEN + 8 + 200);
    assert_eq!(decode::<String>(&bytes).unwrap(), text);
}

#[test]
fn a_receiver_learns_names_from_named_messages() {
    // A short 45-byte message of a type this process never used, built by hand.
    let never = "crate::NeverNamedHere";
    let fp = fnv1a(never.as_bytes());
    let mut short = vec![short::SERDE];
    short.extend_from_slice(&fp.to_le_bytes());
    short.extend_from_slice(&[9u8; 40]);
    let found = |bytes: &[u8]| match decode::<String>(bytes).unwrap_err().kind() {
        ErrorKind::TypeMismatch { found, .. } => found.clone(),
        other => panic!("expected TypeMismatch, got {other:?}"),
    };
    assert!(found(&short).contains(&format!("{fp:#018x}")));
    // A named long message of it: "rspr", 5, named, the name's length, fingerprint, name.
    let long = |name: &[u8]| {
        let mut long = b"rspr\x05\x02".to_vec();
        long.extend_from_slice(&(name.len() as u16).to_le_bytes());
        long.extend_from_slice(&fp.to_le_bytes());
        long.extend_from_slice(name);
        long.extend_from_slice(&[9u8; 40]);
        long
    };
    // One whose name does not hash to its fingerprint teaches nothing.
    assert_eq!(
        found(&long(b"crate::SomethingElse")),
        "crate::SomethingElse"
    );
    assert!(found(&short).contains(&format!("{fp:#018x}")));
    // The true name, in a message refused as well: from then on the short one is named.
    assert_eq!(found(&long(never.as_bytes())), never);
    assert_eq!(found(&short), never);
}
