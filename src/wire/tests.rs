//! Unit tests of the codec: round trips, fingerprints, and hostile bytes.

use std::collections::BTreeMap;

use proptest::prelude::*;
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
    assert_eq!(fingerprint::<[u8; 4]>(), "[u8; 4]");
    assert_eq!(
        fingerprint::<[Vec<[u8; 2]>]>(),
        "alloc::vec::Vec<alloc::vec::Vec<[u8; 2]>>"
    );
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
        let encoded = encode(&f64s).unwrap();
        prop_assert_eq!(parse(&encoded).unwrap().payload, &bincode_payload(&f64s)[..]);
        let back: Vec<f64> = decode(&encoded).unwrap();
        prop_assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            f64s.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        let encoded = encode(&bytes[..]).unwrap();
        prop_assert_eq!(parse(&encoded).unwrap().payload, &bincode_payload(&bytes)[..]);
        prop_assert_eq!(decode::<Vec<u8>>(&encoded).unwrap(), bytes);
        let encoded = encode(&i16s).unwrap();
        prop_assert_eq!(parse(&encoded).unwrap().payload, &bincode_payload(&i16s)[..]);
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
            let ours = bulk::decode::<Vec<u32>>(payload).unwrap();
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
