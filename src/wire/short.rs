//! The short form of a message (wire format 5): a one-byte marker and the type's whole
//! 64-bit fingerprint, for messages of at most [`MAX`] bytes, so that small objects stay
//! nearly as short as raw MPI's messages of their size, and two types are told apart as
//! surely as by the long form. (Format 4 carried the fingerprint folded to 32 bits: a
//! search over generated type names finds a colliding pair in under a second, and the
//! pair then decoded as each other.) The layout is in the docs of [`super`].
//!
//! A short message carries no name. The receiver names the sender's type for a mismatch
//! from a process-local registry of names: the types this program has sent or received
//! itself, and the names that arrived in long messages (checked against their
//! fingerprints). A send to a rank sends a type's first message to it in the long
//! form, named, and only later ones in the short form above [`TINY`] bytes, so the
//! receiver has the name before it needs it. Where the registry has no name (a short
//! message of at most [`TINY`] bytes of a type the receiver never used, or one that
//! overtook its named predecessor on another tag), the error gives the fingerprint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{bad, Fingerprint, Parsed, TypeName};
use crate::error::Result;

/// Bytes of the short header: the marker and the 64-bit fingerprint.
pub(crate) const HEADER_LEN: usize = 9;

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

/// A 32-bit digest of a fingerprint (its halves folded), for keys of tables that only
/// decide how to send (`engine/introduced.rs`): a collision there costs at most a name
/// left off, never a type check, which compares the whole fingerprint.
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

/// Write the short header of a message of the type of fingerprint `full` into `out`;
/// where the payload starts.
#[inline(always)]
pub(crate) fn put_header(out: &mut [u8], bare: bool, full: u64) -> usize {
    out[0] = if bare { ELEMENTS } else { SERDE };
    out[1..HEADER_LEN].copy_from_slice(&full.to_le_bytes());
    HEADER_LEN
}

/// The fingerprint in the header at the start of `bytes` (at least [`HEADER_LEN`] long).
#[inline(always)]
pub(crate) fn fingerprint_of(bytes: &[u8]) -> u64 {
    super::u64_at(bytes, 1)
}

/// Slots of the registry's lock-free front: the fingerprint last noted there.
const SLOTS: usize = 256;
static SEEN: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static NAMES: OnceLock<Mutex<Registry>> = OnceLock::new();

/// The names this process knows, by fingerprint.
#[derive(Default)]
struct Registry {
    names: HashMap<u64, Box<str>>,
    /// How many of them came from other processes' messages.
    learned: usize,
}

/// Whether the registry has a name for fingerprint `full` (0 is never marked: it is the
/// empty slot).
#[inline(always)]
fn seen(full: u64) -> bool {
    full != 0 && SEEN[full as usize % SLOTS].load(Ordering::Relaxed) == full
}

/// Mark fingerprint `full` as named in the registry.
fn mark_seen(full: u64) {
    SEEN[full as usize % SLOTS].store(full, Ordering::Relaxed);
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
    let full = name.fingerprint();
    if !seen(full) {
        note_slow(full, name);
    }
}

/// [`note`] of `T`, whose fingerprint `full` the caller has at hand (computing it once
/// keeps the caller small enough for the compiler to fold it, a constant).
#[inline(always)]
pub(crate) fn note_known<T: ?Sized>(full: u64) {
    if !seen(full) {
        note_slow(full, TypeName::of::<T>());
    }
}

#[cold]
#[inline(never)]
fn note_slow(full: u64, name: TypeName) {
    registry()
        .names
        .entry(full)
        .or_insert_with(|| name.to_string().into());
    mark_seen(full);
}

/// Learn the `name` of the type of `fingerprint` from a message another process sent:
/// kept only when it is UTF-8 and its fingerprint is `fingerprint` (bytes that lie are
/// ignored), and at most [`LEARN_MAX`] such names.
#[cold]
#[inline(never)]
pub(crate) fn learn(fingerprint: u64, name: &[u8]) {
    if seen(fingerprint) {
        return;
    }
    if name.len() > LEARN_NAME_MAX || super::fnv1a(&[name]) != fingerprint {
        return;
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return;
    };
    let mut registry = registry();
    if !registry.names.contains_key(&fingerprint) {
        if registry.learned >= LEARN_MAX {
            return;
        }
        registry.names.insert(fingerprint, name.into());
        registry.learned += 1;
    }
    mark_seen(fingerprint);
}

/// The name of the type of fingerprint `full`, when this program has used it or has
/// learned it.
pub(crate) fn name_of(full: u64) -> Option<String> {
    NAMES.get()?;
    registry().names.get(&full).map(|name| name.to_string())
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
    // The fingerprint once (a constant the compiler folds, as long as this stays small),
    // for the check and the registry's look.
    let full = super::fingerprint::<T>();
    if bytes.len() < HEADER_LEN || bytes.len() > MAX || fingerprint_of(bytes) != full {
        return None;
    }
    let payload = &bytes[HEADER_LEN..];
    let bare = match bytes[0] {
        ELEMENTS => true,
        SERDE => false,
        _ => return None,
    };
    note_known::<T>(full);
    Some((payload, bare))
}

#[cfg(test)]
mod tests {
    use super::super::{decode, encode_for, fingerprint, fnv1a, Reader};
    use super::*;
    use crate::error::ErrorKind;

    /// Two types whose fingerprints' halves folded to 32 bits are equal (found by the
    /// birthday search below, over `Twin<1>`, `Twin<2>`, ...): wire format 4's short form
    /// carried only that, and a `Twin<5544>` arrived as a `Twin<68269>`.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Twin<const N: u64>(u64);

    #[test]
    fn types_whose_short_fingerprints_collided_are_told_apart() {
        type Sent = Twin<5544>;
        type Expected = Twin<68269>;
        let (sent, expected) = (fingerprint::<Sent>(), fingerprint::<Expected>());
        assert_eq!(fold(sent), fold(expected), "a 32-bit collision");
        assert_ne!(sent, expected);
        // In the short form, to anyone and to a rank that has the name.
        for reader in [Reader::Anyone, Reader::Introduced] {
            let (bytes, _) = encode_for(&Twin::<5544>(7), || reader).unwrap();
            assert!(is_short(&bytes));
            match decode::<Expected>(&bytes).unwrap_err().kind() {
                ErrorKind::TypeMismatch { expected, found } => {
                    assert!(expected.ends_with("Twin<68269>"), "{expected}");
                    assert!(found.ends_with("Twin<5544>"), "{found}");
                }
                other => panic!("expected TypeMismatch, got {other:?}"),
            }
            assert_eq!(decode::<Sent>(&bytes).unwrap(), Twin(7));
        }
    }

    #[test]
    fn a_birthday_search_finds_32_bit_collisions_but_not_64_bit_ones() {
        // About 2^16 names give a pair of equal 32-bit folds: a search is cheap, which is
        // why the short form carries the whole fingerprint.
        let mut folds = std::collections::HashMap::new();
        let mut found = None;
        for n in 0..1_000_000u64 {
            let name = format!("crate::generated::Type{n}");
            let full = fnv1a(&[name.as_bytes()]);
            if let Some((other, other_full)) = folds.insert(fold(full), (n, full)) {
                found = Some((other, n, other_full, full));
                break;
            }
        }
        let (a, b, full_a, full_b) = found.expect("a 32-bit collision among a million names");
        assert_ne!(a, b);
        assert_ne!(full_a, full_b, "the whole fingerprints differ");
    }
}
