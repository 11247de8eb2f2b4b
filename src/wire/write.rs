//! Writing a message of the object wire format (the format is documented in `wire.rs`):
//! which form a value takes for its reader (`Reader`, `Plan`), the headers, the bincode
//! payload, and the first part of a split message.

use bincode::Options;
use serde::Serialize;

use super::*;

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
    let plan = Plan::of(value, reader)?;
    let named = plan.named();
    // Zeroed by the allocator (`calloc`: a large one comes zeroed from the system).
    let mut bytes = vec![0u8; plan.total];
    plan.write(&mut bytes, value)?;
    Ok((bytes, named))
}

/// Encode `value` for `reader` (asked only when the message is longer than
/// [`short::TINY`]) into the start of `bytes`, which grows (never shrinks)
/// to hold it: the message's length, and whether it carries the type's name. A message
/// longer than [`SPLIT_ABOVE`] is encoded in the split layout, ready to be cut by
/// [`split_at`].
#[inline]
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    bytes: &mut Vec<u8>,
    value: &T,
    reader: impl FnOnce() -> Reader,
) -> Result<(usize, bool)> {
    let plan = Plan::of(value, reader)?;
    let total = plan.total;
    let named = plan.named();
    if bytes.len() < total {
        bytes.resize(total, 0);
    }
    plan.write(&mut bytes[..total], value)?;
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
    fn of<T: Serialize + ?Sized>(
        value: &'a T,
        reader: impl FnOnce() -> Reader,
    ) -> Result<Plan<'a>> {
        let bulk = bulk::of(value);
        let payload_len = match &bulk {
            Some(bulk) => bulk.payload_len() as u64,
            None => options().serialized_size(value).map_err(encode_error)?,
        };
        // In the short form a vector of numbers goes as its bare elements.
        let short_len = match &bulk {
            Some(bulk) => bulk.bytes.len() as u64,
            None => payload_len,
        };
        // Tiny messages go short to any reader (without asking who it is).
        let short_total = short_len + short::HEADER_LEN as u64;
        let tiny = short_total <= short::TINY as u64;
        let reader = if tiny { Reader::Anyone } else { reader() };
        if tiny || (reader == Reader::Introduced && short_total <= short::MAX as u64) {
            return Ok(Plan {
                short: true,
                flags: 0,
                payload_len: short_len,
                total: short::HEADER_LEN + short_len as usize,
                bulk,
            });
        }
        let name_len = TypeName::of::<T>().len();
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
    fn write<T: Serialize + ?Sized>(self, out: &mut [u8], value: &T) -> Result<()> {
        if self.short {
            let full = fingerprint::<T>();
            short::note_known::<T>(full);
            let at = short::put_header(out, self.bulk.is_some(), full);
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
            short::note(TypeName::of::<T>());
        }
        let at = put_header(out, self.flags, TypeName::of::<T>(), self.payload_len);
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
pub(super) fn put_header(out: &mut [u8], flags: u8, name: TypeName, payload_len: u64) -> usize {
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

pub(super) fn name_len(bytes: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([bytes[6], bytes[7]]))
}

fn encode_error(err: bincode::Error) -> crate::Error {
    ErrorKind::Encode {
        reason: err.to_string(),
    }
    .into()
}

/// Append the bincode payload of `value` alone (no header, no type check) to `out`; on
/// an error `out` is as it was. For containers that check the type themselves (the
/// pool's bundles, `pool/worker.rs`), so that one value that cannot be encoded fails
/// alone.
pub(crate) fn encode_bare_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    options().serialize_into(&mut *out, value).map_err(|err| {
        out.truncate(start);
        encode_error(err)
    })
}
