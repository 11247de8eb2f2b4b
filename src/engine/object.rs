//! Object messages in and out: a value encoded by `wire` into the scratch buffer and sent,
//! and a message received straight into the landing buffer, which every first message
//! fits (no probe), and decoded from there. Long messages take the split protocol
//! (`split`).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{trim, Engine, Entry, Held, Origin, Peer};
use crate::envelope::Status;
use crate::error::{ErrorKind, Result};
use crate::ffi::{self, Received};
use crate::wire;

impl Engine {
    /// Send `value` to `to`: encoded into the scratch buffer (a long vector of numbers
    /// goes from `value` itself), one MPI message, two when long.
    pub(crate) fn send_value<T: Serialize + ?Sized>(&self, value: &T, to: Peer) -> Result<()> {
        let mut scratch = self.scratch();
        if let Some(bulk) = wire::bulk::of(value) {
            if bulk.payload_len() > wire::SPLIT_ABOVE {
                return self.send_split_bulk::<T>(&mut scratch, &bulk, to);
            }
        }
        let reader = || self.introduced.reader::<T>(to.rank);
        let (len, named) = wire::encode_into(&mut scratch, value, reader)?;
        let _wait = crate::trace::sending("send", to.dest(), to.tag, len);
        let sent = self.send_parts(&scratch[..len], to);
        trim(&mut scratch);
        if named && sent.is_ok() {
            self.introduced.note::<T>(to.rank);
        }
        sent
    }

    /// Encode `value` for `to` in a new buffer (a nonblocking send owns its bytes): in
    /// the short form once `to` has the type's name. Whether it carries the name: then
    /// call [`introduce`](Self::introduce) once the send is posted.
    pub(crate) fn encode_for<T: Serialize + ?Sized>(
        &self,
        value: &T,
        to: Peer,
    ) -> Result<(Vec<u8>, bool)> {
        wire::encode_for(value, || self.introduced.reader::<T>(to.rank))
    }

    /// Note that a message naming `T` went to `to`.
    pub(crate) fn introduce<T: ?Sized>(&self, to: Peer) {
        self.introduced.note::<T>(to.rank);
    }

    /// Send bytes made by `wire` as one object message.
    pub(crate) fn send_encoded(&self, bytes: &[u8], to: Peer) -> Result<()> {
        let _wait = crate::trace::sending("send", to.dest(), to.tag, bytes.len());
        self.send_parts(bytes, to)
    }

    /// Hold an encoded object sent to self with `tag`.
    pub(crate) fn hold_encoded(&self, tag: i32, bytes: Vec<u8>) {
        self.hold(tag, bytes.len(), Held::Object(bytes));
    }

    /// Receive a `T` from `source` with `tag` (`None` = any): a held message first, else
    /// straight into the landing buffer (with a `timeout`: after a matched probe, polled
    /// until it passes).
    pub(crate) fn receive_value<T: DeserializeOwned>(
        &self,
        source: Option<usize>,
        tag: Option<i32>,
        timeout: Option<Duration>,
    ) -> Result<(T, Status)> {
        if timeout.is_some() || self.any_posted() {
            let (entry, origin) = self.next(source, tag, timeout)?;
            return self.decode_entry(entry, origin);
        }
        if let Some((entry, origin)) = self.take_held(source, tag) {
            return self.decode_entry(entry, origin);
        }
        self.check_not_self(source, tag)?;
        // Straight into the landing buffer: every object message (or first part of a
        // split one) fits it, so no probe is needed.
        let mut landing = self.landing(wire::SPLIT_ABOVE);
        let buf = &mut landing[..wire::SPLIT_ABOVE];
        let status = match ffi::receive_into(self.handle, buf, source, tag)? {
            Received::Message { status, .. } => status,
            Received::Overflow => {
                return Err(ErrorKind::Decode {
                    reason: format!(
                        "a message of more than {} bytes that is not an object message \
                         arrived (sent with send_buffer?); MPI discarded it",
                        wire::SPLIT_ABOVE
                    ),
                }
                .into())
            }
        };
        let len = status.bytes;
        let first = &landing[..len];
        if let Some(decoded) = wire::decode_common::<T>(first) {
            // A whole message of type `T`: any error is a corrupt payload, consumed.
            return decoded.map(|value| (value, status));
        }
        let Some(head) = wire::split_payload(first) else {
            return wire::decode::<T>(first)
                .map(|value| (value, status))
                .map_err(|err| {
                    self.keep_mismatched(err, status, Origin::mpi(tag), || first.to_vec())
                });
        };
        drop(landing);
        self.receive_split(len, head, status, Origin::mpi(tag))
    }

    /// Decode a held or matched message as a `T` (both parts of a split one, joined).
    pub(crate) fn decode_entry<T: DeserializeOwned>(
        &self,
        entry: Entry,
        origin: Origin,
    ) -> Result<(T, Status)> {
        let bytes = self.join(entry.held)?;
        let status = Status {
            bytes: bytes.len(),
            ..entry.status
        };
        wire::decode::<T>(&bytes)
            .map(|value| (value, status))
            .map_err(|err| self.keep_mismatched(err, status, origin, || bytes))
    }

    /// A message of the wrong type goes back where it came from, so a receive of the
    /// right type gets it; other errors consume it.
    pub(super) fn keep_mismatched(
        &self,
        err: crate::Error,
        status: Status,
        origin: Origin,
        bytes: impl FnOnce() -> Vec<u8>,
    ) -> crate::Error {
        if matches!(err.kind(), ErrorKind::TypeMismatch { .. }) {
            let held = Held::Object(bytes());
            self.put_back(Entry { status, held }, origin);
        }
        err
    }
}
