//! Reading a message of the object wire format (the format is documented in `wire.rs`):
//! the header checks, the type check by fingerprint, and the payload's decode, with the
//! common case (a whole message of the receiver's type) first.

use bincode::Options;
use serde::de::DeserializeOwned;

use super::*;

/// The parts of a message that passed the header checks.
pub(crate) struct Parsed<'a> {
    /// The fingerprint of the sent type.
    pub(crate) fingerprint: Fingerprint,
    /// The payload is a vector's bare elements (a short message), not bincode.
    pub(crate) bare: bool,
    /// The sent type's name, as bytes, when the message is named (UTF-8 is only checked
    /// when it is shown).
    pub(crate) name: Option<&'a [u8]>,
    /// The bincode payload.
    pub(crate) payload: &'a [u8],
}

/// A sent type's fingerprint, from a long message or a short one (which has no name).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fingerprint {
    /// The whole fingerprint.
    Full(u64),
    /// From a short message.
    Short(u64),
}

impl Fingerprint {
    /// Whether this is the fingerprint of `T`.
    #[inline(always)]
    pub(crate) fn is<T: ?Sized>(self) -> bool {
        match self {
            Fingerprint::Full(full) | Fingerprint::Short(full) => full == fingerprint::<T>(),
        }
    }
}

impl Parsed<'_> {
    /// The sent type, for messages: its name, or its fingerprint when unnamed.
    pub(crate) fn sent_type(&self) -> Result<String> {
        match (self.name, self.fingerprint) {
            (Some(name), _) => Ok(name_str(name)?.to_owned()),
            (None, Fingerprint::Full(full)) => Ok(short::name_of(full).unwrap_or_else(|| {
                format!(
                    "a type of fingerprint {full:#018x} (its name was left off this message, \
                     and this program has not used that type)"
                )
            })),
            (None, Fingerprint::Short(full)) => Ok(short::name_of(full).unwrap_or_else(|| {
                format!(
                    "a type of fingerprint {full:#018x} (a short message carries no \
                     name, and this program has not used that type)"
                )
            })),
        }
    }
}

/// Check the header of `bytes` and split it into name and payload.
#[inline(always)]
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    if short::is_short(bytes) {
        return short::parse(bytes);
    }
    let head = header(bytes)?;
    let named = head.flags & FLAG_NAMED != 0;
    if head.flags & !(FLAG_SPLIT | FLAG_NAMED) != 0 || (!named && head.name_len != 0) {
        return Err(bad_flags(head.flags));
    }
    let Some(body) = bytes.get(HEADER_LEN + head.name_len..) else {
        return Err(name_cut(bytes.len(), head.name_len));
    };
    let name = named.then(|| &bytes[HEADER_LEN..HEADER_LEN + head.name_len]);
    if let Some(name) = name {
        short::learn(head.fingerprint, name);
    }
    let payload = if head.flags & FLAG_SPLIT == 0 {
        body
    } else {
        split_body(body)?
    };
    Ok(Parsed {
        fingerprint: Fingerprint::Full(head.fingerprint),
        bare: false,
        name,
        payload,
    })
}

#[cold]
pub(super) fn bad_flags(flags: u8) -> crate::Error {
    bad(format!("unknown header flags {flags:#04x}"))
}

#[cold]
pub(super) fn name_cut(len: usize, name_len: usize) -> crate::Error {
    bad(format!(
        "a {len}-byte message cannot hold the {name_len}-byte type name its header announces"
    ))
}

/// The payload of a whole split message (its two parts side by side): after the length
/// it announces, which must be what follows.
#[cold]
pub(super) fn split_body(body: &[u8]) -> Result<&[u8]> {
    let announced = match body.get(..LEN_LEN) {
        Some(_) => u64_at(body, 0),
        None => return Err(bad("a split message without its payload length".into())),
    };
    let payload = &body[LEN_LEN..];
    if announced != payload.len() as u64 {
        return Err(bad(format!(
            "header announces a {announced}-byte payload but the message carries {}",
            payload.len()
        )));
    }
    Ok(payload)
}

/// The fixed header fields of a message.
pub(super) struct Header {
    pub(super) flags: u8,
    pub(super) name_len: usize,
    pub(super) fingerprint: u64,
}

/// Check that `bytes` starts with a whole rspar header of this version, and read it.
#[inline(always)]
pub(super) fn header(bytes: &[u8]) -> Result<Header> {
    if bytes.len() < HEADER_LEN {
        return Err(header_error(bytes));
    }
    let word = u64_at(bytes, 0);
    if word & 0xff_ffff_ffff != MAGIC_VERSION {
        return Err(header_error(bytes));
    }
    Ok(Header {
        flags: (word >> 40) as u8,
        name_len: (word >> 48) as usize,
        fingerprint: u64_at(bytes, 8),
    })
}

/// Why `bytes` does not start with a header [`header`] accepts.
#[cold]
pub(super) fn header_error(bytes: &[u8]) -> crate::Error {
    if bytes.len() >= 5 && bytes[0..4] == MAGIC && bytes[4] < VERSION {
        bad(format!(
            "an object message in wire format version {}, from an older rspar (this rspar \
             reads version {VERSION} only): every rank must run the same rspar",
            bytes[4]
        ))
    } else if bytes.len() < HEADER_LEN {
        bad(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte rspar header (was it sent by send_buffer?)",
            bytes.len()
        ))
    } else if bytes[0..4] != MAGIC {
        bad("no rspar header (bad magic): not sent by the object path, or corrupt".into())
    } else {
        bad(format!(
            "wire format version {} (this rspar reads version {VERSION} only)",
            bytes[4]
        ))
    }
}

pub(super) fn name_str(name: &[u8]) -> Result<&str> {
    std::str::from_utf8(name).map_err(|_| bad("type name is not UTF-8".into()))
}

pub(crate) fn bad(reason: String) -> crate::Error {
    ErrorKind::Decode { reason }.into()
}

/// Decode a whole message as a `T`.
#[inline(always)]
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    match decode_common::<T>(bytes) {
        Some(decoded) => decoded,
        None => decode_other(bytes),
    }
}

/// The common case, decided in a few instructions: a whole message (not split) of this
/// version whose fingerprint is `T`'s, decoded; `None` for anything else, which
/// [`decode`] judges in full (the outcome is the same as judging this one in full).
#[inline(always)]
pub(crate) fn decode_common<T: DeserializeOwned>(bytes: &[u8]) -> Option<Result<T>> {
    let (payload, bare) = match long_payload::<T>(bytes) {
        Some(payload) => (payload, false),
        None => short::payload::<T>(bytes)?,
    };
    Some(decode_payload(payload, bare))
}

/// [`decode_common`] of a message in the long form: its payload.
#[inline(always)]
pub(super) fn long_payload<T>(bytes: &[u8]) -> Option<&[u8]> {
    let full = fingerprint::<T>();
    if bytes.len() < HEADER_LEN || u64_at(bytes, 8) != full {
        return None;
    }
    let word = u64_at(bytes, 0);
    // Magic, version and flags named (any name length), or unnamed with none.
    let named = word & 0xffff_ffff_ffff == MAGIC_VERSION | u64::from(FLAG_NAMED) << 40;
    if !named && word != MAGIC_VERSION {
        return None;
    }
    if named {
        // The sender's first message of `T` to this process: later ones may come in the
        // short form, unnamed, and a receive of another type then names `T` from here.
        short::note_known::<T>(full);
    }
    bytes.get(HEADER_LEN + (word >> 48) as usize..)
}

/// [`decode`] of everything [`decode_common`] does not take.
#[inline(never)]
pub(super) fn decode_other<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let parsed = parse(bytes)?;
    check_type::<T>(&parsed)?;
    decode_payload(parsed.payload, parsed.bare)
}

/// `Err(TypeMismatch)` unless a message `parsed` can be received as a `T` (`Err(Decode)`
/// when its name is not even UTF-8).
#[inline(always)]
pub(crate) fn check_type<T: ?Sized>(parsed: &Parsed<'_>) -> Result<()> {
    if parsed.fingerprint.is::<T>() {
        Ok(())
    } else {
        Err(type_mismatch(TypeName::of::<T>(), parsed))
    }
}

/// `Err(TypeMismatch)` unless the first part of a split message (`head`, of `first`) can
/// be received as a `T`.
#[inline]
pub(crate) fn check_split_type<T: ?Sized>(first: &[u8], head: &SplitHead) -> Result<()> {
    let full = fingerprint::<T>();
    if head.fingerprint == full {
        // Named (or its name too long to travel): later messages may come short.
        short::note_known::<T>(full);
        return Ok(());
    }
    let named = first[5] & FLAG_NAMED != 0;
    let parsed = Parsed {
        fingerprint: Fingerprint::Full(head.fingerprint),
        bare: false,
        name: named.then(|| &first[HEADER_LEN..HEADER_LEN + name_len(first)]),
        payload: &[],
    };
    Err(type_mismatch(TypeName::of::<T>(), &parsed))
}

#[cold]
#[inline(never)]
pub(super) fn type_mismatch(expected: TypeName, parsed: &Parsed<'_>) -> crate::Error {
    match parsed.sent_type() {
        Ok(found) => ErrorKind::TypeMismatch {
            expected: expected.to_string(),
            found,
        }
        .into(),
        Err(err) => err,
    }
}

/// Decode a payload whose type has been checked as a `T`: bincode, or a vector's bare
/// elements when `bare`.
#[inline(always)]
pub(super) fn decode_payload<T: DeserializeOwned>(payload: &[u8], bare: bool) -> Result<T> {
    if let Some(decoded) = bulk::decode::<T>(payload, bare) {
        return decoded;
    }
    if bare {
        return Err(not_bulk::<T>());
    }
    options()
        .with_limit(payload.len() as u64)
        .deserialize(payload)
        .map_err(|err| corrupt::<T>(err))
}

#[cold]
pub(super) fn not_bulk<T: ?Sized>() -> crate::Error {
    bad(format!(
        "a short message of a vector's bare elements cannot be a {}",
        TypeName::of::<T>()
    ))
}

#[cold]
pub(super) fn corrupt<T: ?Sized>(err: bincode::Error) -> crate::Error {
    ErrorKind::Decode {
        reason: format!("payload of {} is corrupt: {err}", TypeName::of::<T>()),
    }
    .into()
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
    // Bytes that are no header at all (a buffer read as bytes) leave here, before
    // `header` would build the error that says why.
    if first.len() < HEADER_LEN || u64_at(first, 0) & 0xff_ffff_ffff != MAGIC_VERSION {
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

/// Decode a payload that [`encode_bare_into`] wrote, its type vouched for by its
/// container.
pub(crate) fn decode_bare<T: DeserializeOwned>(payload: &[u8]) -> Result<T> {
    decode_payload(payload, false)
}
