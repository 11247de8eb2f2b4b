//! The short form of a message (wire format 4): a one-byte header and a 32-bit
//! fingerprint, for messages of at most [`MAX`] bytes, so that small objects stay as
//! short as raw MPI's messages of their size. The layout is in the docs of [`super`].
//!
//! A short message carries no name. The receiver names the sender's type for a mismatch
//! from a process-local registry of names: the types this program has sent or received
//! itself, and the names that arrived in long messages (checked against their
//! fingerprints). A send to a rank sends a type's first message to it in the long
//! form, named, and only later ones in the short form above [`TINY`] bytes, so the
//! receiver has the name before it needs it. Where the registry has no name (a short
//! message of at most [`TINY`] bytes of a type the receiver never used, or one that
//! overtook its named predecessor on another tag), the error gives the 32-bit
//! fingerprint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{bad, Fingerprint, Parsed, TypeName};
use crate::error::Result;

/// Bytes of the short header: the marker and the 32-bit fingerprint.
pub(crate) const HEADER_LEN: usize = 5;

/// The longest message sent in the short form, to a rank that has the type's name
/// (Open MPI 4.1's inline limit: [`super::INLINE`]).
pub(crate) const MAX: usize = super::INLINE;

/// The longest message sent in the short form to any rank, whether it has the type's
/// name or not.
pub(crate) const TINY: usize = 24;

/// The most names the registry learns from other processes' messages (a bound on what
/// a hostile sender can make it hold), and the longest such name.
const LEARN_MAX: usize = 4096;
const LEARN_NAME_MAX: usize = 1024;

/// The marker byte: the short magic in the high three bits, the bare flag in bit 4 (the
/// payload is a vector's elements, their count taken from the message size), the format
/// version in the low four bits.
const MAGIC: u8 = 0xe0;
const MAGIC_MASK: u8 = 0xe0;
const BARE: u8 = 0x10;
const VERSION_MASK: u8 = 0x0f;
/// A short message with a bincode payload.
pub(crate) const SERDE: u8 = MAGIC | super::VERSION;
/// A short message whose payload is a vector's bare elements.
pub(crate) const ELEMENTS: u8 = MAGIC | BARE | super::VERSION;

/// The short fingerprint of a type: the two halves of its fingerprint folded.
#[inline(always)]
pub(crate) fn fold(fingerprint: u64) -> u32 {
    (fingerprint ^ (fingerprint >> 32)) as u32
}

/// Whether `bytes` starts like a short message of any version.
#[inline(always)]
pub(crate) fn is_short(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|&m| m & MAGIC_MASK == MAGIC)
}

/// The version of a message that [`is_short`].
pub(crate) fn version(marker: u8) -> u8 {
    marker & VERSION_MASK
}

/// Whether a short message's payload is bare elements.
pub(crate) fn is_bare(marker: u8) -> bool {
    marker & BARE != 0
}

/// Write the short header of a message of `name` into `out`; where the payload starts.
#[inline(always)]
pub(crate) fn put_header(out: &mut [u8], bare: bool, name: TypeName) -> usize {
    out[0] = if bare { ELEMENTS } else { SERDE };
    out[1..HEADER_LEN].copy_from_slice(&fold(name.fingerprint()).to_le_bytes());
    HEADER_LEN
}

/// The short fingerprint at the start of `bytes` (at least [`HEADER_LEN`] long).
#[inline(always)]
pub(crate) fn fingerprint_of(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]])
}

/// Slots of the registry's lock-free front: the short fingerprint last noted there.
const SLOTS: usize = 256;
static SEEN: [AtomicU32; SLOTS] = [const { AtomicU32::new(0) }; SLOTS];
static NAMES: OnceLock<Mutex<Registry>> = OnceLock::new();

/// The names this process knows, by short fingerprint.
#[derive(Default)]
struct Registry {
    names: HashMap<u32, Box<str>>,
    /// How many of them came from other processes' messages.
    learned: usize,
}

/// Whether the registry has a name for `short` (0 is never marked: it is the empty slot).
#[inline(always)]
fn seen(short: u32) -> bool {
    short != 0 && SEEN[short as usize % SLOTS].load(Ordering::Relaxed) == short
}

/// Mark `short` as named in the registry.
fn mark_seen(short: u32) {
    SEEN[short as usize % SLOTS].store(short, Ordering::Relaxed);
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Note that this program uses `name` (it sends or receives it): a relaxed load and a
/// compare once noted.
#[inline(always)]
pub(crate) fn note(name: TypeName) {
    let short = fold(name.fingerprint());
    if !seen(short) {
        note_slow(short, name);
    }
}

#[cold]
#[inline(never)]
fn note_slow(short: u32, name: TypeName) {
    registry()
        .names
        .entry(short)
        .or_insert_with(|| name.to_string().into());
    mark_seen(short);
}

/// Learn the `name` of the type of `fingerprint` from a message another process sent:
/// kept only when it is UTF-8 and its fingerprint is `fingerprint` (bytes that lie are
/// ignored), and at most [`LEARN_MAX`] such names.
#[cold]
#[inline(never)]
pub(crate) fn learn(fingerprint: u64, name: &[u8]) {
    let short = fold(fingerprint);
    if seen(short) {
        return;
    }
    if name.len() > LEARN_NAME_MAX || super::fnv1a(&[name]) != fingerprint {
        return;
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return;
    };
    let mut registry = registry();
    if !registry.names.contains_key(&short) {
        if registry.learned >= LEARN_MAX {
            return;
        }
        registry.names.insert(short, name.into());
        registry.learned += 1;
    }
    mark_seen(short);
}

/// The name of the type of fingerprint `full`, when this program has used it or has
/// learned it.
pub(crate) fn full_name_of(full: u64) -> Option<String> {
    name_of(fold(full)).filter(|name| super::fnv1a(&[name.as_bytes()]) == full)
}

/// The name of the type of short fingerprint `short`, when this program has used it or
/// has learned it.
pub(crate) fn name_of(short: u32) -> Option<String> {
    NAMES.get()?;
    registry().names.get(&short).map(|name| name.to_string())
}

/// [`super::parse`] of a message that starts like a short one.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    let marker = bytes[0];
    if version(marker) != super::VERSION {
        let older = if version(marker) < super::VERSION {
            ", from an older rspar: every rank must run the same rspar"
        } else {
            ""
        };
        return Err(bad(format!(
            "a short object message of wire format version {} (this rspar reads version \
             {} only){older}",
            version(marker),
            super::VERSION
        )));
    }
    if bytes.len() < HEADER_LEN || bytes.len() > MAX {
        return Err(bad(format!(
            "a short object message of {} bytes (its header is {} and it is at most {})",
            bytes.len(),
            HEADER_LEN,
            MAX
        )));
    }
    Ok(Parsed {
        fingerprint: Fingerprint::Short(fingerprint_of(bytes)),
        bare: is_bare(marker),
        name: None,
        payload: &bytes[HEADER_LEN..],
    })
}

/// [`super::decode_common`] of a short message: its payload, and whether it is bare elements.
#[inline(always)]
pub(crate) fn payload<T>(bytes: &[u8]) -> Option<(&[u8], bool)> {
    if bytes.len() < HEADER_LEN
        || bytes.len() > MAX
        || fingerprint_of(bytes) != fold(super::fingerprint::<T>())
    {
        return None;
    }
    let payload = &bytes[HEADER_LEN..];
    let bare = match bytes[0] {
        ELEMENTS => true,
        SERDE => false,
        _ => return None,
    };
    note(TypeName::of::<T>());
    Some((payload, bare))
}
