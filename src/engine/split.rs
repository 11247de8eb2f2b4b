//! The two-part (split) protocol of long object messages, whole in this one file.
//!
//! An object message of more than `wire::SPLIT_ABOVE` bytes travels as two MPI messages
//! with the same envelope: the first part (its header, the payload's length and the
//! payload's first `wire::LEAD` bytes: `wire::split_at`, `wire::split_payload`), which
//! fits the landing buffer every receive posts, then the rest of the payload. MPI keeps
//! messages from one source with one tag in order, so the rest is the next message from
//! where the first part came from.
//!
//! - Sends: [`parts`] cuts encoded bytes in two; [`Engine::send_parts`] sends them,
//!   [`Engine::post_parts`] posts them (`isend`, `sendrecv`); a long vector of numbers
//!   goes straight from the caller's vector ([`Engine::send_split_bulk`]).
//! - Receives: [`Engine::match_rest`] matches the rest and checks its size against the
//!   announced one before a byte of it is received; [`Engine::receive_split`] lands it
//!   after the first part (or, for a vector of numbers of the receiver's type, straight
//!   into the new vector), and [`Engine::join`] gives a held message's bytes whole.

use serde::de::DeserializeOwned;

use super::{held::Held, trim, Engine, Peer};
use crate::envelope::Status;
use crate::error::{ErrorKind, Result};
use crate::ffi::{self, Matched, OwnedSend};
use crate::wire::{self, bulk::Bulk, SplitHead};

/// The MPI messages an encoded object travels as: the whole of it, or, when it is longer
/// than `wire::SPLIT_ABOVE`, its first part and the rest of its payload.
#[inline]
pub(super) fn parts(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    match wire::split_at(bytes) {
        None => (bytes, None),
        Some(first) => {
            let (first, payload) = bytes.split_at(first);
            (first, Some(payload))
        }
    }
}

impl Engine {
    /// Blocking send of an encoded object message, split in two if it is long.
    #[inline(always)]
    pub(super) fn send_parts(&self, bytes: &[u8], to: Peer) -> Result<()> {
        let (first, payload) = parts(bytes);
        ffi::send(self.handle, first, to.rank, to.tag)?;
        match payload {
            Some(payload) => ffi::send(self.handle, payload, to.rank, to.tag),
            None => Ok(()),
        }
    }

    /// Post the sends of an encoded object message (split in two if long), in an owner
    /// of its bytes and requests. On `Err`, a part already posted may still be read: the
    /// caller keeps the owner alive until MPI is done with it.
    pub(crate) fn post_parts(&self, bytes: Vec<u8>, to: Peer) -> (OwnedSend, Result<()>) {
        let len = bytes.len();
        let [whole, rest] = match wire::split_at(&bytes) {
            Some(first) => [0..first, first..len],
            None => [0..len, len..len],
        };
        let mut send = OwnedSend::new(bytes);
        let mut posted = send.post(self.handle, whole, to.rank, to.tag);
        if posted.is_ok() && !rest.is_empty() {
            posted = send.post(self.handle, rest, to.rank, to.tag);
        }
        (send, posted)
    }

    /// Send a long vector of numbers (`bulk`, of type `T`) as a split message: the first
    /// part, encoded into `scratch`, carries its count; its elements go straight from
    /// the caller's vector.
    pub(super) fn send_split_bulk<T: ?Sized>(
        &self,
        scratch: &mut Vec<u8>,
        bulk: &Bulk<'_>,
        to: Peer,
    ) -> Result<()> {
        let len = wire::split_head_into::<T>(scratch, bulk.payload_len(), bulk.count)?;
        let _wait = crate::trace::sending("send", to.dest(), to.tag, len + bulk.bytes.len());
        ffi::send(self.handle, &scratch[..len], to.rank, to.tag)?;
        ffi::send(self.handle, bulk.bytes, to.rank, to.tag)
    }

    /// Match the rest of a split object message whose first part came from `source` with
    /// `tag`: the next message from there (MPI keeps them in order). Its size must be the
    /// one the first part announced; otherwise it is received, dropped and reported.
    /// Nothing is allocated for a payload before MPI has shown its real size, so a
    /// corrupt announcement cannot make a receiver allocate more than arrived.
    fn match_rest(&self, source: usize, tag: i32, announced: u64) -> Result<Matched> {
        let matched = ffi::probe_wait(self.handle, Some(source), Some(tag))?;
        let got = matched.status().bytes as u64;
        if got != announced {
            drop(matched); // received and discarded
            return Err(ErrorKind::Decode {
                reason: format!(
                    "a split object message announced {announced} payload bytes but {got} arrived"
                ),
            }
            .into());
        }
        Ok(matched)
    }

    /// The rest of a split message whose first part (`len` bytes, its `head` read) is in
    /// the landing buffer (fresh from MPI: `origin`), received and decoded as a `T`: straight into a new vector for
    /// a vector of numbers of the right type, else into the landing buffer after the
    /// first part, the two side by side the whole message.
    pub(super) fn receive_split<T: DeserializeOwned>(
        &self,
        len: usize,
        head: SplitHead,
        status: Status,
        origin: super::Origin,
    ) -> Result<(T, Status)> {
        let matched = self.match_rest(status.source, status.tag, head.rest)?;
        let total = len + head.rest as usize;
        let status = Status {
            bytes: total,
            ..status
        };
        let fits = wire::check_split_type::<T>(&self.landing(len)[..len], &head).is_ok();
        let matched = if fits {
            let whole_payload = head.rest as usize + wire::LEAD;
            match wire::bulk::receive::<T, _>(whole_payload, head.lead, matched) {
                Ok(value) => return value.map(|value| (value, status)),
                Err(matched) => matched,
            }
        } else {
            matched
        };
        let mut landing = self.landing(total);
        matched.receive_into(&mut landing[len..total])?;
        let whole = &landing[..total];
        let decoded = wire::decode::<T>(whole)
            .map(|value| (value, status))
            .map_err(|err| self.keep_mismatched(err, status, origin, || whole.to_vec()));
        trim(&mut landing);
        decoded
    }

    /// `first`, the bytes of a message received from `status`'s source and tag, whole:
    /// when they are the first part of a split object message, the rest (the next
    /// message from there) is matched, checked and received after them.
    pub(crate) fn join_rest(&self, first: Vec<u8>, status: Status) -> Result<Vec<u8>> {
        let Some(head) = wire::split_payload(&first) else {
            return Ok(first);
        };
        let len = head.rest;
        // The rest lands right after the first part.
        let rest = self.match_rest(status.source, status.tag, len)?;
        let mut bytes = first;
        let at = bytes.len();
        bytes.resize(at + len as usize, 0);
        rest.receive_into(&mut bytes[at..])?;
        Ok(bytes)
    }

    /// The bytes of a held or matched message for the object path (both parts of a split
    /// message, joined). A buffer sent to self gives its bytes if it is a `u8` buffer, as
    /// the same buffer from another rank would; a buffer of any other type is `Err` with
    /// its type name (and is consumed, as from another rank).
    pub(crate) fn join(&self, held: Held) -> Result<Vec<u8>> {
        match held {
            Held::Matched(matched) => {
                let status = matched.status();
                let first = matched.receive_vec::<u8>()?;
                self.join_rest(first, status)
            }
            Held::Object(bytes) => Ok(bytes),
            Held::Local(boxed, name) => boxed.downcast::<Vec<u8>>().map(|b| *b).map_err(|_| {
                ErrorKind::Decode {
                    reason: format!(
                        "the message is a buffer of {name} sent with send_buffer, not an object"
                    ),
                }
                .into()
            }),
        }
    }
}

impl wire::bulk::Receiver for ffi::Matched {
    fn receive<E: wire::bulk::Number>(self, elements: usize) -> Result<Vec<E>> {
        self.receive_elements(elements)
    }
}
