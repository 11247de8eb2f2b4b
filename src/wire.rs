//! The object wire format: the only module that calls bincode.
//!
//! One value travels as one MPI message of bytes (format version 5), in one of two forms.
//! The **short form**, for a message of at most [`short::MAX`] (256) bytes:
//!
//! | offset | size | field                                                                 |
//! |--------|------|-----------------------------------------------------------------------|
//! | 0      | 1    | marker: `0b111` (short magic) in bits 7-5, bit 4 = bare, version `5` in bits 3-0 (`0xe5`, `0xf5`) |
//! | 1      | 8    | fingerprint of the sent type, u64 little-endian (as in the long form) |
//! | 9      | P    | payload: bincode (below), or, when bare, a number vector's elements alone |
//!
//! A bare payload is a `Vec` or slice of numbers (the bulk path) without bincode's 8-byte
//! element count: the count is `P` over the element's size. A short message carries no
//! name; the receiver names the sender's type for a mismatch from its registry
//! ([`short`]): the types this program has itself used and the names that came with long
//! messages; else it gives the fingerprint. Which form a message takes depends on
//! its [`Reader`]: a message of at most [`short::TINY`] (24) bytes is short for anyone
//! (a payload of up to 15 bytes; format 4's 5-byte header put a 1-4 byte vector within
//! Open MPI 4.1's raw messages of up to 9 bytes, which are measurably faster than ones
//! of 12 and more, and format 5's 9-byte header does not: docs/performance.md); a send to another rank
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
//! | 4          | 1    | format version, `5`                                          |
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
//! form alone), 3 (short messages of at most 24 bytes only) and 4 (the short form with
//! the fingerprint folded to 32 bits, which let two types whose folds collide decode as
//! each other) are refused with an `Err` that names an older rspar; any other version,
//! of either form, is refused too.
//!
//! Decoding never trusts the bytes: the header must be whole, the lengths must add up to
//! the message size exactly, and bincode runs with a byte limit equal to the payload
//! length and rejects trailing bytes, so a hostile length prefix cannot make it allocate
//! beyond what the message itself justifies. Every failure is an `Err`, never a panic.

use std::any::type_name;
use std::hash::Hasher;

use bincode::Options;

use crate::error::{ErrorKind, Result};

pub(crate) mod bulk;
mod read;
pub(crate) use read::*;
pub(crate) mod short;
mod write;
pub(crate) use write::*;

/// Bytes of the fixed header.
pub(crate) const HEADER_LEN: usize = 16;
const MAGIC: [u8; 4] = *b"rspr";
const VERSION: u8 = 5;
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

#[inline(always)]
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests;
