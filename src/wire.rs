//! The object wire format: the only module that calls bincode.
//!
//! One value travels as one MPI message of bytes:
//!
//! | offset   | size | field                                                        |
//! |----------|------|--------------------------------------------------------------|
//! | 0        | 4    | magic `b"rspr"`                                              |
//! | 4        | 1    | format version, `1`                                          |
//! | 5        | 1    | flags: `0`, or `1` = split (see below); others are rejected  |
//! | 6        | 2    | `N`: length of the type name, u16 little-endian              |
//! | 8        | 8    | `P`: length of the payload, u64 little-endian                |
//! | 16       | N    | type fingerprint: the sent type's name, UTF-8                |
//! | 16 + N   | P    | payload: bincode 1.3, little-endian, fixed-width integers    |
//!
//! A message longer than [`SPLIT_ABOVE`] bytes travels as two MPI messages from the same
//! sender with the same tag: header and fingerprint with flag `1`, then the payload alone.
//! MPI keeps them in order (non-overtaking), so the receiver takes the payload next. Every
//! object message a receiver takes first is therefore at most `SPLIT_ABOVE` bytes, and it
//! receives straight into a landing buffer of that size with no probe.
//!
//! The fingerprint is `std::any::type_name` of the sent type, with two normalisations so
//! that a borrowed form matches its owned form: references are stripped (`&T` is `T`),
//! `str` is sent as `alloc::string::String` and a slice `[T]` as `alloc::vec::Vec<T>`
//! (serde encodes each pair identically). The receiver compares it with the name of the
//! type it asks for: a difference is [`ErrorKind::TypeMismatch`] naming both. Type names
//! come from the compiler, so ranks must run binaries built by the same compiler from the
//! same source (the SPMD norm).
//!
//! Decoding never trusts the bytes: the header must be whole, the lengths must add up to
//! the message size exactly, and bincode runs with a byte limit equal to the payload
//! length and rejects trailing bytes, so a hostile length prefix cannot make it allocate
//! beyond what the message itself justifies. Every failure is an `Err`, never a panic.

use std::any::type_name;
use std::borrow::Cow;

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ErrorKind, Result};

/// Bytes before the type name.
pub(crate) const HEADER_LEN: usize = 16;
const MAGIC: [u8; 4] = *b"rspr";
const VERSION: u8 = 1;
const FLAG_SPLIT: u8 = 1;

/// Object messages longer than this are split in two (see the module docs).
pub(crate) const SPLIT_ABOVE: usize = 64 * 1024;

fn options() -> impl Options + Copy {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
}

/// The fingerprint of `T` as it goes on the wire (see the module docs).
pub(crate) fn fingerprint<T: ?Sized>() -> Cow<'static, str> {
    let name = type_name::<T>().trim_start_matches('&');
    if name == "str" {
        Cow::Borrowed("alloc::string::String")
    } else if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        if is_slice_element(inner) {
            Cow::Owned(format!("alloc::vec::Vec<{inner}>"))
        } else {
            Cow::Borrowed(name)
        }
    } else {
        Cow::Borrowed(name)
    }
}

/// True when `[inner]` is a slice, false when it is an array `[T; N]`: an array's `;`
/// stands outside any brackets of the element type.
fn is_slice_element(inner: &str) -> bool {
    let mut depth = 0i32;
    for c in inner.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ';' if depth == 0 => return false,
            _ => {}
        }
    }
    true
}

/// Encode `value` as one message: header, fingerprint, bincode payload.
/// The buffer is allocated once at its exact size.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    encode_as::<T, T>(value)
}

/// Encode `value` with the fingerprint of `R`, a type that serde encodes identically
/// (e.g. a message holding `&I` sent to a receiver of the same message holding `I`).
pub(crate) fn encode_as<R: ?Sized, T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    encode_into::<R, T>(&mut bytes, value)?;
    Ok(bytes)
}

/// Encode `value` with the fingerprint of `R` into `bytes` (cleared first), growing it
/// at most once, to the exact size.
pub(crate) fn encode_into<R: ?Sized, T: Serialize + ?Sized>(
    bytes: &mut Vec<u8>,
    value: &T,
) -> Result<()> {
    let name = fingerprint::<R>();
    let opts = options();
    let payload_len = opts.serialized_size(value).map_err(encode_error)?;
    let name_len = u16::try_from(name.len()).map_err(|_| ErrorKind::Encode {
        reason: format!("type name longer than 65535 bytes: {name}"),
    })?;
    let total = (HEADER_LEN + name.len()) as u64 + payload_len;
    let total = usize::try_from(total).map_err(|_| ErrorKind::TooLarge {
        bytes: total,
        max: usize::MAX as u64,
    })?;
    bytes.clear();
    bytes.reserve_exact(total);
    bytes.extend_from_slice(&MAGIC);
    bytes.push(VERSION);
    bytes.push(0);
    bytes.extend_from_slice(&name_len.to_le_bytes());
    bytes.extend_from_slice(&payload_len.to_le_bytes());
    bytes.extend_from_slice(name.as_bytes());
    opts.serialize_into(&mut *bytes, value)
        .map_err(encode_error)?;
    debug_assert_eq!(bytes.len(), total);
    Ok(())
}

/// Mark an encoded message longer than [`SPLIT_ABOVE`] as split; the length of its first
/// part (header and fingerprint). The payload is the rest.
pub(crate) fn mark_split(bytes: &mut [u8]) -> usize {
    bytes[5] = FLAG_SPLIT;
    HEADER_LEN + usize::from(u16::from_le_bytes([bytes[6], bytes[7]]))
}

/// If `first` is the first part of a split message, the length of the payload that
/// follows; `None` for any other bytes (which the decoder then judges).
pub(crate) fn split_payload(first: &[u8]) -> Option<u64> {
    let head = header(first).ok()?;
    (head.flags == FLAG_SPLIT && first.len() == HEADER_LEN + head.name_len)
        .then_some(head.payload_len)
}

/// The whole message of a split one: its first part, unmarked, then the payload.
pub(crate) fn join(first: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(first.len() + payload.len());
    bytes.extend_from_slice(first);
    bytes[5] = 0;
    bytes.extend_from_slice(payload);
    bytes
}

fn encode_error(err: bincode::Error) -> crate::Error {
    ErrorKind::Encode {
        reason: err.to_string(),
    }
    .into()
}

/// The parts of a message that passed the header checks.
pub(crate) struct Parsed<'a> {
    /// The fingerprint of the sent type.
    pub(crate) type_name: &'a str,
    /// The bincode payload.
    pub(crate) payload: &'a [u8],
}

/// Check the header of `bytes` and split it into fingerprint and payload.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    let head = header(bytes)?;
    if head.flags != 0 {
        return Err(bad(format!("unknown header flags {:#04x}", head.flags)));
    }
    let (name_len, payload_len) = (head.name_len, head.payload_len);
    let body = (bytes.len() - HEADER_LEN) as u64;
    if (name_len as u64).checked_add(payload_len) != Some(body) {
        return Err(bad(format!(
            "header announces {name_len} + {payload_len} bytes but the message carries {body}"
        )));
    }
    let (name, payload) = bytes[HEADER_LEN..].split_at(name_len);
    Ok(Parsed {
        type_name: name_str(name)?,
        payload,
    })
}

/// The fixed header fields of a message.
struct Header {
    flags: u8,
    name_len: usize,
    payload_len: u64,
}

/// Check that `bytes` starts with a whole rspar header of this version, and read it.
fn header(bytes: &[u8]) -> Result<Header> {
    if bytes.len() < HEADER_LEN {
        return Err(bad(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte rspar header (was it sent by send_buffer?)",
            bytes.len()
        )));
    }
    if bytes[0..4] != MAGIC {
        return Err(bad(
            "no rspar header (bad magic): not sent by the object path, or corrupt".into(),
        ));
    }
    if bytes[4] != VERSION {
        return Err(bad(format!(
            "wire format version {} (this rspar reads version {VERSION})",
            bytes[4]
        )));
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&bytes[8..16]);
    Ok(Header {
        flags: bytes[5],
        name_len: usize::from(u16::from_le_bytes([bytes[6], bytes[7]])),
        payload_len: u64::from_le_bytes(len8),
    })
}

fn name_str(name: &[u8]) -> Result<&str> {
    std::str::from_utf8(name).map_err(|_| bad("type name is not UTF-8".into()))
}

fn bad(reason: String) -> crate::Error {
    ErrorKind::Decode { reason }.into()
}

/// Decode a whole message as a `T`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    decode_parsed(parse(bytes)?)
}

/// Decode a split message (first part and payload) as a `T`.
/// `first` is one that [`split_payload`] accepted.
pub(crate) fn decode_split<T: DeserializeOwned>(first: &[u8], payload: &[u8]) -> Result<T> {
    let type_name = name_str(&first[HEADER_LEN..])?;
    decode_parsed(Parsed { type_name, payload })
}

fn decode_parsed<T: DeserializeOwned>(parsed: Parsed<'_>) -> Result<T> {
    let expected = fingerprint::<T>();
    if parsed.type_name != expected {
        return Err(ErrorKind::TypeMismatch {
            expected: expected.into_owned(),
            found: parsed.type_name.to_owned(),
        }
        .into());
    }
    options()
        .with_limit(parsed.payload.len() as u64)
        .deserialize(parsed.payload)
        .map_err(|err| {
            ErrorKind::Decode {
                reason: format!("payload of {expected} is corrupt: {err}"),
            }
            .into()
        })
}

#[cfg(test)]
mod tests;
