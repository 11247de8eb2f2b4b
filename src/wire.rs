//! The object wire format: the only module that calls bincode.
//!
//! One value travels as one MPI message of bytes (format version 4), in one of two forms.
//! The **short form**, for a message of at most [`short::MAX`] (256) bytes:
//!
//! | offset | size | field                                                                 |
//! |--------|------|-----------------------------------------------------------------------|
//! | 0      | 1    | marker: `0b111` (short magic) in bits 7-5, bit 4 = bare, version `4` in bits 3-0 (`0xe4`, `0xf4`) |
//! | 1      | 4    | short fingerprint: the fingerprint's two halves XORed, u32 little-endian |
//! | 5      | P    | payload: bincode (below), or, when bare, a number vector's elements alone |
//!
//! A bare payload is a `Vec` or slice of numbers (the bulk path) without bincode's 8-byte
//! element count: the count is `P` over the element's size. A short message carries no
//! name; the receiver names the sender's type for a mismatch from its registry
//! ([`short`]): the types this program has itself used and the names that came with long
//! messages; else it gives the short fingerprint. Which form a message takes depends on
//! its [`Reader`]: a message of at most [`short::TINY`] (24) bytes is short for anyone
//! (Open MPI 4.1's raw messages of up to 9 bytes are measurably faster than ones of 12
//! and more: the short form puts a 1-4 byte vector there); a send to another rank
//! (`send`, `isend`, `sendrecv`) sends the first message of a type to that rank long and
//! named, and later ones of up to 256 bytes short: the bytes of the name and the header are work on both sides, and Open MPI 4.1
//! charges steps for size (raw messages of 129 bytes cost about 15% more than those of
//! 128, and past 256 bytes a send request more), which the name would push a 100-byte
//! vector past. Other messages (collectives, sends to self, the pool's) use the short
//! form up to 24 bytes only.
//!
//! The **long form**, for every other message (a receiver takes it at any size):
//!
//! | offset     | size | field                                                        |
//! |------------|------|--------------------------------------------------------------|
//! | 0          | 4    | magic `b"rspr"`                                              |
//! | 4          | 1    | format version, `3`                                          |
//! | 5          | 1    | flags: bit 0 = split, bit 1 = named; other bits are rejected |
//! | 6          | 2    | `N`: length of the type name, u16 little-endian (0 unnamed)  |
//! | 8          | 8    | fingerprint of the sent type, u64 little-endian              |
//! | 16         | N    | the sent type's name, UTF-8 (only when named)                |
//! | 16 + N     | P    | payload: bincode 1.3, little-endian, fixed-width integers    |
//!
//! The payload is the rest of the message: `P` is the message size less `16 + N`. A
//! split message (below) carries `P` as a u64 little-endian at `16 + N` and its payload
//! from `24 + N`.
//!
//! The receiver compares fingerprints only: two u64s. The fingerprint is FNV-1a (64-bit)
//! of the sent type's name, `std::any::type_name`, with two normalisations so that a
//! borrowed form matches its owned form: references are stripped (`&T` is `T`), `str` is
//! sent as `alloc::string::String` and a slice `[T]` as `alloc::vec::Vec<T>` (serde
//! encodes each pair identically). The name is a compile-time constant, and so, for all
//! but very long names, is its hash (the compiler folds it): checking the type costs one
//! comparison. A difference is [`ErrorKind::TypeMismatch`] naming both types: the
//! receiver knows its own, and the sender's comes with a long message, which is *named*
//! unless the name alone would push a message that fits [`INLINE`] bytes past it (Open
//! MPI sends at most 256 bytes inline; beyond, a message costs a send request more) and
//! the reader is not [`Reader::New`]. For an unnamed message the receiver names the type
//! from its registry, or else gives the sender's fingerprint. Type names
//! come from the compiler, so ranks must run binaries built by the same compiler from the
//! same source (the SPMD norm).
//!
//! `Vec`s and slices of plain numbers have a bulk path ([`bulk`]) that writes and reads
//! the same payload bytes as whole blocks, and lets a long one travel straight from the
//! sender's vector into the receiver's new one.
//!
//! A message longer than [`SPLIT_ABOVE`] bytes travels as two MPI messages from the same
//! sender with the same tag: first the header (split flag set, always named), the name,
//! the payload's length `P` and its first [`LEAD`] bytes; then the rest of the payload.
//! MPI keeps them in order (non-overtaking), so the receiver takes the rest next, and the
//! two parts side by side are the whole message in the split layout above (a split
//! message is encoded in that layout from the start, so the sender only cuts it). Every
//! object message a receiver takes first is therefore at most `SPLIT_ABOVE` bytes, and it
//! receives straight into a landing buffer of that size with no probe. (For a bulk
//! vector the lead is its element count, so its elements travel alone, straight from the
//! sender's vector into the receiver's.)
//!
//! Versions 1 (the name always, and the payload length, in the header), 2 (the long
//! form alone) and 3 (short messages of at most 24 bytes only) are refused with an `Err`
//! that names an older rspar; any other version, of either form, is refused too.
//!
//! Decoding never trusts the bytes: the header must be whole, the lengths must add up to
//! the message size exactly, and bincode runs with a byte limit equal to the payload
//! length and rejects trailing bytes, so a hostile length prefix cannot make it allocate
//! beyond what the message itself justifies. Every failure is an `Err`, never a panic.

use std::any::type_name;
use std::hash::Hasher;

use bincode::Options;
use serde::Serialize;

use crate::error::{ErrorKind, Result};

pub(crate) mod bulk;
mod read;
pub(crate) use read::*;
pub(crate) mod short;

/// Bytes of the fixed header.
pub(crate) const HEADER_LEN: usize = 16;
const MAGIC: [u8; 4] = *b"rspr";
const VERSION: u8 = 4;
const FLAG_SPLIT: u8 = 1;
const FLAG_NAMED: u8 = 2;
/// Magic and version, as the low five bytes of the header's first u64.
const MAGIC_VERSION: u64 = u64::from_le_bytes([b'r', b's', b'p', b'r', VERSION, 0, 0, 0]);

/// Object messages longer than this are split in two (see the module docs).
pub(crate) const SPLIT_ABOVE: usize = 64 * 1024;

/// Bytes of the payload that a split message's first part carries.
pub(crate) const LEAD: usize = 8;

/// Bytes of the payload length a split message carries after the name.
const LEN_LEN: usize = 8;

/// The longest message Open MPI 4 sends inline from a blocking send (a fixed limit in
/// its `ob1` layer): a message is left unnamed rather than pushed past it by its name.
pub(crate) const INLINE: usize = 256;

/// The longest type name that travels: the first part of a split message must fit
/// `SPLIT_ABOVE` (a longer one is sent unnamed, its fingerprint alone).
const NAME_MAX: usize = SPLIT_ABOVE - HEADER_LEN - LEN_LEN - LEAD;

fn options() -> impl Options + Copy {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
}

/// The normalised name of a type (see the module docs), as up to three pieces of
/// compile-time constant text, so that no call builds it.
#[derive(Clone, Copy)]
pub(crate) struct TypeName([&'static str; 3]);

impl TypeName {
    /// The name of `T` as it goes on the wire.
    #[inline(always)]
    pub(crate) fn of<T: ?Sized>() -> TypeName {
        let name = type_name::<T>().trim_start_matches('&');
        if name == "str" {
            TypeName(["alloc::string::String", "", ""])
        } else if let Some(inner) = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .filter(|inner| is_slice_element(inner))
        {
            TypeName(["alloc::vec::Vec<", inner, ">"])
        } else {
            TypeName([name, "", ""])
        }
    }

    /// Bytes of the name.
    #[inline(always)]
    pub(crate) fn len(self) -> usize {
        self.0.iter().map(|piece| piece.len()).sum()
    }

    /// The fingerprint: FNV-1a (64-bit) of the name's bytes.
    #[inline(always)]
    pub(crate) fn fingerprint(self) -> u64 {
        fnv1a(&self.0.map(str::as_bytes))
    }
}

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|piece| f.write_str(piece))
    }
}

/// FNV-1a (64-bit) of `pieces`, one after the other.
#[inline(always)]
fn fnv1a<const N: usize>(pieces: &[&[u8]; N]) -> u64 {
    let mut hash = fnv::FnvHasher::default();
    for piece in pieces {
        hash.write(piece);
    }
    hash.finish()
}

/// The fingerprint of `T` as it goes on the wire (see the module docs).
#[inline(always)]
pub(crate) fn fingerprint<T: ?Sized>() -> u64 {
    TypeName::of::<T>().fingerprint()
}

/// True when `[inner]` is a slice, false when it is an array `[T; N]`: an array's `;`
/// stands outside any brackets of the element type.
#[inline]
fn is_slice_element(inner: &str) -> bool {
    let mut depth = 0i32;
    for c in inner.bytes() {
        match c {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' | b')' | b']' => depth -= 1,
            b';' if depth == 0 => return false,
            _ => {}
        }
    }
    true
}

/// Who reads a message, as far as the sender knows: it decides the message's form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Reader {
    /// Any receiver, unknown to the encoder (a collective, a message sent to self, the
    /// pool's orders): the short form up to [`short::TINY`]
    /// bytes, else the long form, named unless the name would push the message past
    /// [`INLINE`].
    Anyone,
    /// A rank this sender has not yet sent the type's name to: the short form up to
    /// [`short::TINY`] bytes, else the long form, named (the receiver learns the name, see
    /// [`short`]).
    New,
    /// A rank this sender has sent the type's name to before: the short form up to
    /// [`short::MAX`] bytes.
    Introduced,
}

/// Encode `value` as one message for [`Reader::Anyone`], in a new buffer of its exact
/// size.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    encode_for(value, || Reader::Anyone).map(|(bytes, _)| bytes)
}

/// Encode `value` for `reader` (asked only when the message is longer than
/// [`short::TINY`]) in a new buffer of its exact size; whether it carries the type's name.
pub(crate) fn encode_for<T: Serialize + ?Sized>(
    value: &T,
    reader: impl FnOnce() -> Reader,
) -> Result<(Vec<u8>, bool)> {
    let plan = Plan::of::<T, T>(value, reader)?;
    let named = plan.named();
    // Zeroed by the allocator (`calloc`: a large one comes zeroed from the system).
    let mut bytes = vec![0u8; plan.total];
    plan.write::<T, T>(&mut bytes, value)?;
    Ok((bytes, named))
}

/// Encode `value` with the fingerprint of `R` for `reader` (asked only when the message
/// is longer than [`short::TINY`]) into the start of `bytes`, which grows (never shrinks)
/// to hold it: the message's length, and whether it carries the type's name. A message longer than [`SPLIT_ABOVE`] is encoded in the split
/// layout, ready to be cut by [`split_at`].
#[inline]
pub(crate) fn encode_into<R: ?Sized, T: Serialize + ?Sized>(
    bytes: &mut Vec<u8>,
    value: &T,
    reader: impl FnOnce() -> Reader,
) -> Result<(usize, bool)> {
    let plan = Plan::of::<R, T>(value, reader)?;
    let total = plan.total;
    let named = plan.named();
    if bytes.len() < total {
        bytes.resize(total, 0);
    }
    plan.write::<R, T>(&mut bytes[..total], value)?;
    Ok((total, named))
}

/// How a value is laid out as a message.
struct Plan<'a> {
    /// In the short form (the flags are then unused).
    short: bool,
    flags: u8,
    payload_len: u64,
    total: usize,
    bulk: Option<bulk::Bulk<'a>>,
}

impl<'a> Plan<'a> {
    #[inline(always)]
    fn of<R: ?Sized, T: Serialize + ?Sized>(
        value: &'a T,
        reader: impl FnOnce() -> Reader,
    ) -> Result<Plan<'a>> {
        let bulk = bulk::of(value);
        // Bare elements only when `R` is the vector itself (not a type serde encodes
        // alike): the receiver of a bare payload must be a bulk type.
        let bare = fingerprint::<R>() == fingerprint::<T>();
        let payload_len = match &bulk {
            Some(bulk) => bulk.payload_len() as u64,
            None => options().serialized_size(value).map_err(encode_error)?,
        };
        let short_len = match &bulk {
            Some(bulk) if bare => bulk.bytes.len() as u64,
            _ => payload_len,
        };
        // Tiny messages go short to any reader (without asking who it is).
        let short_total = short_len + short::HEADER_LEN as u64;
        let reader = if short_total <= short::TINY as u64 {
            Reader::Anyone
        } else {
            reader()
        };
        if short_total <= short::TINY as u64
            || (reader == Reader::Introduced && short_total <= short::MAX as u64)
        {
            return Ok(Plan {
                short: true,
                flags: 0,
                payload_len: short_len,
                total: short::HEADER_LEN + short_len as usize,
                bulk: bulk.filter(|_| bare),
            });
        }
        let name_len = TypeName::of::<R>().len();
        let (flags, total) = layout(payload_len, name_len, reader == Reader::New)?;
        Ok(Plan {
            short: false,
            flags,
            payload_len,
            total,
            bulk,
        })
    }

    /// Whether the message carries the type's name.
    #[inline(always)]
    fn named(&self) -> bool {
        !self.short && self.flags & FLAG_NAMED != 0
    }

    /// Write the message into `out`, exactly `self.total` bytes.
    #[inline(always)]
    fn write<R: ?Sized, T: Serialize + ?Sized>(self, out: &mut [u8], value: &T) -> Result<()> {
        if self.short {
            short::note(TypeName::of::<R>());
            let at = short::put_header(out, self.bulk.is_some(), TypeName::of::<R>());
            let payload = &mut out[at..];
            return match self.bulk {
                Some(bulk) => {
                    payload.copy_from_slice(bulk.bytes);
                    Ok(())
                }
                None => serialize(payload, value),
            };
        }
        if self.flags & FLAG_NAMED == 0 {
            // A receiver in this process names it from here (a send to self).
            short::note(TypeName::of::<R>());
        }
        let at = put_header(out, self.flags, TypeName::of::<R>(), self.payload_len);
        let payload = &mut out[at..];
        match self.bulk {
            Some(bulk) => {
                let (count, elements) = payload.split_at_mut(bulk::COUNT_LEN);
                count.copy_from_slice(&bulk.count);
                elements.copy_from_slice(bulk.bytes);
            }
            None => serialize(payload, value)?,
        }
        Ok(())
    }
}

/// Serialize `value` with bincode into `payload`, exactly its size.
#[inline(always)]
fn serialize<T: Serialize + ?Sized>(mut payload: &mut [u8], value: &T) -> Result<()> {
    options()
        .serialize_into(&mut payload, value)
        .map_err(encode_error)?;
    debug_assert!(payload.is_empty());
    Ok(())
}

/// How a message of a `payload_len`-byte payload and a type name of `name_len` bytes
/// is laid out: (flags, its total length). Named when `introduce` (if the name fits).
#[inline(always)]
fn layout(payload_len: u64, name_len: usize, introduce: bool) -> Result<(u8, usize)> {
    let bare = HEADER_LEN as u64 + payload_len;
    let named = bare + name_len as u64;
    let (flags, total) = if named > SPLIT_ABOVE as u64 && name_len <= NAME_MAX {
        (FLAG_SPLIT | FLAG_NAMED, named + LEN_LEN as u64)
    } else if named > SPLIT_ABOVE as u64 {
        (FLAG_SPLIT, bare + LEN_LEN as u64)
    } else if !introduce && bare <= INLINE as u64 && named > INLINE as u64 {
        (0, bare)
    } else {
        (FLAG_NAMED, named)
    };
    match usize::try_from(total) {
        Ok(total) => Ok((flags, total)),
        Err(_) => Err(too_large(total)),
    }
}

#[cold]
fn too_large(bytes: u64) -> crate::Error {
    ErrorKind::TooLarge {
        bytes,
        max: usize::MAX as u64,
    }
    .into()
}

/// Write the header, the name when `flags` say named, and a split message's payload
/// length at the start of `out`; where the payload starts.
#[inline(always)]
fn put_header(out: &mut [u8], flags: u8, name: TypeName, payload_len: u64) -> usize {
    let named = flags & FLAG_NAMED != 0;
    let name_len = if named { name.len() as u16 } else { 0 };
    let mut head = [0u8; HEADER_LEN];
    head[..4].copy_from_slice(&MAGIC);
    head[4] = VERSION;
    head[5] = flags;
    head[6..8].copy_from_slice(&name_len.to_le_bytes());
    head[8..].copy_from_slice(&name.fingerprint().to_le_bytes());
    out[..HEADER_LEN].copy_from_slice(&head);
    let mut at = HEADER_LEN;
    if named {
        for piece in name.0 {
            out[at..at + piece.len()].copy_from_slice(piece.as_bytes());
            at += piece.len();
        }
    }
    if flags & FLAG_SPLIT != 0 {
        out[at..at + LEN_LEN].copy_from_slice(&payload_len.to_le_bytes());
        at += LEN_LEN;
    }
    at
}

/// The first part of a split message of a `T` whose payload, `payload_len` bytes long,
/// starts with `lead` and whose rest the sender sends itself (the bulk path).
pub(crate) fn split_head_into<T: ?Sized>(
    bytes: &mut Vec<u8>,
    payload_len: usize,
    lead: [u8; LEAD],
) -> Result<usize> {
    let name = TypeName::of::<T>();
    let flags = if name.len() <= NAME_MAX {
        FLAG_SPLIT | FLAG_NAMED
    } else {
        FLAG_SPLIT
    };
    let total = HEADER_LEN + (flags & FLAG_NAMED != 0) as usize * name.len() + LEN_LEN + LEAD;
    if bytes.len() < total {
        bytes.resize(total, 0);
    }
    let at = put_header(bytes, flags, name, payload_len as u64);
    bytes[at..at + LEAD].copy_from_slice(&lead);
    Ok(total)
}

/// Where an encoded message splits: `None` when it travels whole, else the length of its
/// first part (header, name, payload length, lead); the rest of the payload follows it.
#[inline]
pub(crate) fn split_at(bytes: &[u8]) -> Option<usize> {
    (bytes.len() > SPLIT_ABOVE && bytes[5] & FLAG_SPLIT != 0)
        .then(|| HEADER_LEN + name_len(bytes) + LEN_LEN + LEAD)
}

fn name_len(bytes: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([bytes[6], bytes[7]]))
}

/// The first part of a split message, as [`split_payload`] reads it.
pub(crate) struct SplitHead {
    /// The length of the rest of the payload, which follows.
    pub(crate) rest: u64,
    /// The payload's first `LEAD` bytes.
    pub(crate) lead: [u8; LEAD],
    /// The sent type's fingerprint.
    pub(crate) fingerprint: u64,
}

/// If `first` is the first part of a split message, what it says; `None` for any other
/// bytes (which the decoder then judges).
#[inline]
pub(crate) fn split_payload(first: &[u8]) -> Option<SplitHead> {
    if first.get(5).is_none_or(|flags| flags & FLAG_SPLIT == 0) {
        return None;
    }
    let head = header(first).ok()?;
    let at = HEADER_LEN + head.name_len;
    if first.len() != at + LEN_LEN + LEAD {
        return None;
    }
    let payload_len = u64_at(first, at);
    Some(SplitHead {
        rest: payload_len.checked_sub(LEAD as u64)?,
        lead: first[at + LEN_LEN..].try_into().ok()?,
        fingerprint: head.fingerprint,
    })
}

#[inline(always)]
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

fn encode_error(err: bincode::Error) -> crate::Error {
    ErrorKind::Encode {
        reason: err.to_string(),
    }
    .into()
}

#[cfg(test)]
mod tests;
