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
//! `Vec`s and slices of plain numbers have a bulk path ([`bulk`]) that writes and reads
//! the same payload bytes as whole blocks, and lets a long one travel straight from the
//! sender's vector into the receiver's new one.
//!
//! A message longer than [`SPLIT_ABOVE`] bytes travels as two MPI messages from the same
//! sender with the same tag: first the header, the fingerprint and the payload's first
//! [`LEAD`] bytes, with flag `1`; then the rest of the payload. MPI keeps them in order
//! (non-overtaking), so the receiver takes the rest next, and the two parts side by side
//! are the whole message. Every object message a receiver takes first is therefore at
//! most `SPLIT_ABOVE` bytes, and it receives straight into a landing buffer of that size
//! with no probe. (For a bulk vector the lead is its element count, so its elements
//! travel alone, straight from the sender's vector into the receiver's.)
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

pub(crate) mod bulk;

/// Bytes before the type name.
pub(crate) const HEADER_LEN: usize = 16;
const MAGIC: [u8; 4] = *b"rspr";
const VERSION: u8 = 1;
const FLAG_SPLIT: u8 = 1;

/// Object messages longer than this are split in two (see the module docs).
pub(crate) const SPLIT_ABOVE: usize = 64 * 1024;

/// Bytes of the payload that a split message's first part carries.
pub(crate) const LEAD: usize = 8;

/// The longest type name: the first part of a split message must fit `SPLIT_ABOVE`.
const NAME_MAX: usize = SPLIT_ABOVE - HEADER_LEN - LEAD;

#[inline]
fn name_len_of(name: &str) -> Result<u16> {
    match u16::try_from(name.len()) {
        Ok(len) if name.len() <= NAME_MAX => Ok(len),
        _ => Err(ErrorKind::Encode {
            reason: format!("type name longer than {NAME_MAX} bytes: {name}"),
        }
        .into()),
    }
}

fn options() -> impl Options + Copy {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
}

/// The fingerprint of `T` as it goes on the wire (see the module docs).
#[inline]
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
    let bulk = bulk::of(value);
    let payload_len = match &bulk {
        Some(bulk) => bulk.payload_len() as u64,
        None => opts.serialized_size(value).map_err(encode_error)?,
    };
    let name_len = name_len_of(&name)?;
    let total = (HEADER_LEN + name.len()) as u64 + payload_len;
    let total = usize::try_from(total).map_err(|_| ErrorKind::TooLarge {
        bytes: total,
        max: usize::MAX as u64,
    })?;
    bytes.clear();
    bytes.reserve_exact(total);
    put_header(bytes, 0, name_len, payload_len, &name);
    match bulk {
        Some(bulk) => {
            bytes.extend_from_slice(&bulk.count);
            bytes.extend_from_slice(bulk.bytes);
        }
        None => opts
            .serialize_into(&mut *bytes, value)
            .map_err(encode_error)?,
    }
    debug_assert_eq!(bytes.len(), total);
    Ok(())
}

#[inline]
fn put_header(bytes: &mut Vec<u8>, flags: u8, name_len: u16, payload_len: u64, name: &str) {
    let mut head = [0u8; HEADER_LEN];
    head[..4].copy_from_slice(&MAGIC);
    head[4] = VERSION;
    head[5] = flags;
    head[6..8].copy_from_slice(&name_len.to_le_bytes());
    head[8..].copy_from_slice(&payload_len.to_le_bytes());
    bytes.extend_from_slice(&head);
    bytes.extend_from_slice(name.as_bytes());
}

/// The first part of a split message of a `T` whose payload, `payload_len` bytes long,
/// starts with `lead` and whose rest the sender sends itself (the bulk path).
pub(crate) fn split_head_into<T: ?Sized>(
    bytes: &mut Vec<u8>,
    payload_len: usize,
    lead: [u8; LEAD],
) -> Result<()> {
    let name = fingerprint::<T>();
    let name_len = name_len_of(&name)?;
    bytes.clear();
    put_header(bytes, FLAG_SPLIT, name_len, payload_len as u64, &name);
    bytes.extend_from_slice(&lead);
    Ok(())
}

/// Mark an encoded message longer than [`SPLIT_ABOVE`] as split; the length of its first
/// part (header, fingerprint, lead). The rest of the payload follows it.
pub(crate) fn mark_split(bytes: &mut [u8]) -> usize {
    bytes[5] = FLAG_SPLIT;
    HEADER_LEN + usize::from(u16::from_le_bytes([bytes[6], bytes[7]])) + LEAD
}

/// If `first` is the first part of a split message, the length of the rest of its
/// payload, which follows; `None` for any other bytes (which the decoder then judges).
#[inline]
pub(crate) fn split_payload(first: &[u8]) -> Option<u64> {
    if first.get(5) != Some(&FLAG_SPLIT) {
        return None;
    }
    let head = header(first).ok()?;
    (first.len() == HEADER_LEN + head.name_len + LEAD)
        .then_some(head.payload_len.checked_sub(LEAD as u64)?)
}

/// The first `LEAD` bytes of the payload, carried by a first part [`split_payload`]
/// accepted.
pub(crate) fn split_lead(first: &[u8]) -> [u8; LEAD] {
    let mut lead = [0u8; LEAD];
    lead.copy_from_slice(&first[first.len() - LEAD..]);
    lead
}

/// The whole message of a split one, whose two parts lie side by side in `bytes`: the
/// split mark removed.
pub(crate) fn unmark(bytes: &mut [u8]) {
    bytes[5] = 0;
}

fn encode_error(err: bincode::Error) -> crate::Error {
    ErrorKind::Encode {
        reason: err.to_string(),
    }
    .into()
}

/// The parts of a message that passed the header checks.
pub(crate) struct Parsed<'a> {
    /// The fingerprint of the sent type, as bytes (checked against the receiver's with
    /// [`check_type`]; UTF-8 is only checked when they differ).
    pub(crate) type_name: &'a [u8],
    /// The bincode payload.
    pub(crate) payload: &'a [u8],
}

/// Check the header of `bytes` and split it into fingerprint and payload.
#[inline]
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
        type_name: name,
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
#[inline]
fn header(bytes: &[u8]) -> Result<Header> {
    if bytes.len() < HEADER_LEN || bytes[0..4] != MAGIC || bytes[4] != VERSION {
        return Err(header_error(bytes));
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&bytes[8..16]);
    Ok(Header {
        flags: bytes[5],
        name_len: usize::from(u16::from_le_bytes([bytes[6], bytes[7]])),
        payload_len: u64::from_le_bytes(len8),
    })
}

/// Why `bytes` does not start with a header [`header`] accepts.
#[cold]
fn header_error(bytes: &[u8]) -> crate::Error {
    if bytes.len() < HEADER_LEN {
        bad(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte rspar header (was it sent by send_buffer?)",
            bytes.len()
        ))
    } else if bytes[0..4] != MAGIC {
        bad("no rspar header (bad magic): not sent by the object path, or corrupt".into())
    } else {
        bad(format!(
            "wire format version {} (this rspar reads version {VERSION})",
            bytes[4]
        ))
    }
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

/// `Err(TypeMismatch)` unless a message of type `found` can be received as a `T`
/// (`Err(Decode)` when `found` is not even UTF-8).
#[inline]
pub(crate) fn check_type<T: ?Sized>(found: &[u8]) -> Result<()> {
    let expected = fingerprint::<T>();
    if found == expected.as_bytes() {
        Ok(())
    } else {
        Err(type_mismatch(expected, found))
    }
}

#[cold]
fn type_mismatch(expected: Cow<'static, str>, found: &[u8]) -> crate::Error {
    match name_str(found) {
        Ok(found) => ErrorKind::TypeMismatch {
            expected: expected.into_owned(),
            found: found.to_owned(),
        }
        .into(),
        Err(err) => err,
    }
}

/// A type name from the wire, for messages.
pub(crate) fn display_name(name: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(name)
}

/// The fingerprint in the first part of a split message (one [`split_payload`] accepted).
pub(crate) fn split_type_name(first: &[u8]) -> &[u8] {
    &first[HEADER_LEN..first.len() - LEAD]
}

fn decode_parsed<T: DeserializeOwned>(parsed: Parsed<'_>) -> Result<T> {
    check_type::<T>(parsed.type_name)?;
    if let Some(decoded) = bulk::decode::<T>(parsed.payload) {
        return decoded;
    }
    options()
        .with_limit(parsed.payload.len() as u64)
        .deserialize(parsed.payload)
        .map_err(|err| {
            ErrorKind::Decode {
                reason: format!("payload of {} is corrupt: {err}", fingerprint::<T>()),
            }
            .into()
        })
}

#[cfg(test)]
mod tests;
