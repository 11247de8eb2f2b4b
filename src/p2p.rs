//! Point-to-point messages of any serde type: the object path.
//!
//! `send` encodes the value (see `wire`) into a reused buffer and sends the bytes as one
//! MPI message (two when long); `receive` receives straight into the communicator's
//! landing buffer, which every first message fits, and decodes from there.
//! The same calls are on [`Communicator`] (default tag) and on [`Tagged`] (a chosen tag).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::comm::Communicator;
use crate::envelope::{Source, Status, Tag, DEFAULT_TAG};
use crate::error::{ErrorKind, Result};
use crate::ffi::{self, Received};
use crate::nonblocking::post_send;
use crate::pending::{self, Entry, Held, Origin};
use crate::with_status::WithStatus;
use crate::{watch, wire};

/// A communicator with a tag chosen for its sends and receives; made by
/// [`Communicator::tag`]. It has every point-to-point method of the communicator.
///
/// A view borrows its communicator, so it cannot outlive it:
///
/// ```compile_fail,E0505
/// let world = rspar::init()?;
/// let urgent = world.tag(7);
/// drop(world); // the world is still borrowed by `urgent`
/// urgent.send(&1u8, 0)?;
/// # Ok::<(), rspar::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Tagged<'c> {
    comm: &'c Communicator,
    tag: Tag,
    timeout: Option<Duration>,
}

impl<'c> Tagged<'c> {
    pub(crate) fn new(comm: &'c Communicator, tag: Tag) -> Tagged<'c> {
        Tagged {
            comm,
            tag,
            timeout: None,
        }
    }

    /// The same view with another tag.
    pub fn tag(self, tag: impl Into<Tag>) -> Tagged<'c> {
        Tagged {
            tag: tag.into(),
            ..self
        }
    }

    /// The same view whose receives give up after `limit`: `receive`,
    /// `receive_buffer`, `receive_buffer_into`, `sendrecv`, `ReceiveRequest::wait` and
    /// the same calls through [`with_status`](Self::with_status) return `Err(`[`Timeout`](ErrorKind::Timeout)`)` when no matching message has
    /// arrived by then. Nothing is received in that case, so the communicator stays
    /// usable and the message, if it comes later, is there for the next receive.
    /// (Sends are not bounded by it.)
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let world = rspar::init()?;
    /// match world.timeout(Duration::from_secs(2)).receive::<String>(rspar::Any) {
    ///     Ok(text) => println!("got {text}"),
    ///     Err(err) => eprintln!("rank {}: {err}", world.rank()),
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn timeout(self, limit: Duration) -> Tagged<'c> {
        Tagged {
            timeout: Some(limit),
            ..self
        }
    }

    #[inline]
    pub(crate) fn timeout_value(&self) -> Option<Duration> {
        self.timeout
    }

    #[inline]
    pub(crate) fn comm(&self) -> &'c Communicator {
        self.comm
    }

    #[inline]
    pub(crate) fn tag_value(&self) -> Tag {
        self.tag
    }

    /// The (source, tag) filter of a receive, checked.
    #[inline]
    pub(crate) fn filter(&self, source: Source) -> Result<(Option<usize>, Option<i32>)> {
        let source = match source {
            Source::Any => None,
            Source::Rank(rank) => Some(self.comm.check_rank(rank)? as usize),
        };
        Ok((source, self.tag.for_receive()?))
    }

    /// Send `value` to rank `dest` with this view's tag. Returns once the value's buffer
    /// may be reused (MPI standard mode: small messages are usually buffered, large ones
    /// wait for the receiver). A send to one's own rank never blocks.
    pub fn send<T: Serialize + ?Sized>(&self, value: &T, dest: usize) -> Result<()> {
        let dest_rank = self.comm.check_rank(dest)?;
        let tag = self.tag.for_send()?;
        if dest == self.comm.rank() {
            self.hold_for_self(tag, wire::encode(value)?);
            return Ok(());
        }
        let mut scratch = self.comm.scratch();
        if let Some(bulk) = wire::bulk::of(value) {
            // A long vector of numbers: the first part carries its count, and its
            // elements go straight from `value`.
            let payload_len = bulk.payload_len();
            if payload_len > wire::SPLIT_ABOVE {
                let len = wire::split_head_into::<T>(&mut scratch, payload_len, bulk.count)?;
                let _wait = watch::send("send", dest, tag, len + bulk.bytes.len());
                let p2p = self.comm.p2p();
                ffi::send(p2p, &scratch[..len], dest_rank, tag)?;
                return ffi::send(p2p, bulk.bytes, dest_rank, tag);
            }
        }
        let len = wire::encode_into::<T, T>(&mut scratch, value)?;
        let _wait = watch::send("send", dest, tag, len);
        let sent = send_bytes(self.comm, &scratch[..len], dest_rank, tag);
        if scratch.len() > BUFFER_KEEP {
            *scratch = Vec::new();
        }
        sent
    }

    /// Send bytes made by `wire` as one object message.
    pub(crate) fn send_encoded(&self, bytes: Vec<u8>, dest: usize) -> Result<()> {
        let dest_rank = self.comm.check_rank(dest)?;
        let tag = self.tag.for_send()?;
        if dest == self.comm.rank() {
            self.hold_for_self(tag, bytes);
            Ok(())
        } else {
            let _wait = watch::send("send", dest, tag, bytes.len());
            send_bytes(self.comm, &bytes, dest_rank, tag)
        }
    }

    /// Receive a value of type `T` from `source` (a rank or [`Any`](crate::Any)).
    ///
    /// A message of another type is `Err(TypeMismatch)` naming both types, and stays
    /// queued; bytes that do not decode are `Err(Decode)`. The message's [`Status`]
    /// (source, tag, size) comes with [`with_status`](Self::with_status).
    pub fn receive<T: DeserializeOwned>(&self, source: impl Into<Source>) -> Result<T> {
        self.receive_status(source).map(|(value, _)| value)
    }

    /// [`receive`](Self::receive) and the message's status.
    pub(crate) fn receive_status<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
    ) -> Result<(T, Status)> {
        let (source, tag) = self.filter(source.into())?;
        let _wait = watch::receive("receive", source, tag);
        let received = self.receive_object(source, tag);
        if let Ok((_, status)) = &received {
            watch::received("receive", status);
        }
        received
    }

    fn receive_object<T: DeserializeOwned>(
        &self,
        source: Option<usize>,
        tag: Option<i32>,
    ) -> Result<(T, Status)> {
        if self.timeout.is_some() {
            let (entry, origin) = pending::next(self.comm, source, tag, self.timeout)?;
            return self.decode_entry(entry, origin);
        }
        if let Some((entry, origin)) = pending::held(self.comm, source, tag) {
            return self.decode_entry(entry, origin);
        }
        pending::check_not_self(self.comm, source, tag)?;
        // Straight into the landing buffer: every object message (or first part of a
        // split one) fits it, so no probe is needed.
        let mut landing = self.comm.landing(wire::SPLIT_ABOVE);
        let buf = &mut landing[..wire::SPLIT_ABOVE];
        let status = match ffi::receive_into(self.comm.p2p(), buf, source, tag)? {
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
        let (source, tag, len) = (status.source, status.tag, status.bytes);
        if let Some(decoded) = wire::decode_common::<T>(&landing[..len]) {
            // A whole message of type `T`: any error is a corrupt payload, consumed.
            return decoded.map(|value| (value, status));
        }
        let Some(head) = wire::split_payload(&landing[..len]) else {
            let first = &landing[..len];
            return wire::decode::<T>(first)
                .map(|value| (value, status))
                .map_err(|err| self.keep_mismatched(err, status, Origin::Mpi, || first.to_vec()));
        };
        // The rest of a split message lands in the same buffer, after the first part,
        // once MPI has matched it and shown that its size is the announced one.
        let matched = pending::match_payload(self.comm, source, tag, head.rest)?;
        let total = len + head.rest as usize;
        let status = Status {
            bytes: total,
            ..status
        };
        // A vector of numbers of the right type goes straight into its new vector.
        let matched = match wire::check_split_type::<T>(&landing[..len], &head) {
            Ok(()) => {
                let whole_payload = head.rest as usize + wire::LEAD;
                match wire::bulk::receive::<T, _>(whole_payload, head.lead, matched) {
                    Ok(value) => return value.map(|value| (value, status)),
                    Err(matched) => matched,
                }
            }
            Err(_) => matched,
        };
        drop(landing);
        let mut landing = self.comm.landing(total);
        matched.receive_into(&mut landing[len..total])?;
        let whole = &landing[..total];
        let decoded = wire::decode::<T>(whole)
            .map(|value| (value, status))
            .map_err(|err| self.keep_mismatched(err, status, Origin::Mpi, || whole.to_vec()));
        if landing.len() > BUFFER_KEEP {
            *landing = Vec::new();
        }
        decoded
    }

    /// A message of the wrong type goes back where it came from (for a message fresh from
    /// MPI: the back of the queue, as nothing older matched), so a receive of the right
    /// type gets it; other errors consume it.
    fn keep_mismatched(
        &self,
        err: crate::Error,
        status: Status,
        origin: Origin,
        bytes: impl FnOnce() -> Vec<u8>,
    ) -> crate::Error {
        if matches!(err.kind(), ErrorKind::TypeMismatch { .. }) {
            let held = Held::Object(bytes());
            self.comm.pending().put_back(Entry { status, held }, origin);
        }
        err
    }

    /// Send `value` to `dest` and receive a `R` from `source` at the same time, without
    /// deadlock whatever the sizes (e.g. every rank passing to its right neighbour).
    pub fn sendrecv<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        value: &T,
        dest: usize,
        source: impl Into<Source>,
    ) -> Result<R> {
        self.sendrecv_status(value, dest, source)
            .map(|(value, _)| value)
    }

    /// [`sendrecv`](Self::sendrecv) and the received message's status.
    pub(crate) fn sendrecv_status<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        value: &T,
        dest: usize,
        source: impl Into<Source>,
    ) -> Result<(R, Status)> {
        let dest_rank = self.comm.check_rank(dest)?;
        let tag = self.tag.for_send()?;
        let source = source.into();
        self.filter(source)?;
        let bytes = wire::encode(value)?;
        if dest == self.comm.rank() {
            self.hold_for_self(tag, bytes);
            return self.receive_status(source);
        }
        let request = post_send(self.comm, bytes, dest_rank, tag)?;
        let received = self.receive_status(source);
        request.wait()?;
        received
    }

    pub(crate) fn hold_for_self(&self, tag: i32, bytes: Vec<u8>) {
        let status = Status {
            source: self.comm.rank(),
            tag,
            bytes: bytes.len(),
        };
        self.comm.pending().push(Entry {
            status,
            held: Held::Object(bytes),
        });
    }

    pub(crate) fn decode_entry<T: DeserializeOwned>(
        &self,
        entry: Entry,
        origin: Origin,
    ) -> Result<(T, Status)> {
        let bytes = pending::into_bytes(self.comm, entry.held)?;
        let status = Status {
            bytes: bytes.len(),
            ..entry.status
        };
        wire::decode::<T>(&bytes)
            .map(|value| (value, status))
            .map_err(|err| self.keep_mismatched(err, status, origin, || bytes))
    }
}

impl wire::bulk::Receiver for ffi::Matched {
    fn receive<E: wire::bulk::Number>(self, elements: usize) -> Result<Vec<E>> {
        self.receive_elements(elements)
    }
}

/// The send scratch and landing buffers are kept between calls up to this size.
const BUFFER_KEEP: usize = 16 << 20;

/// The MPI messages an encoded object travels as: the whole of it, or, when it is longer
/// than `wire::SPLIT_ABOVE`, its first part and the rest of its payload.
#[inline]
pub(crate) fn parts(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    match wire::split_at(bytes) {
        None => (bytes, None),
        Some(first) => {
            let (first, payload) = bytes.split_at(first);
            (first, Some(payload))
        }
    }
}

/// Blocking send of an encoded object message to `dest`, split in two if it is long.
#[inline(always)]
pub(crate) fn send_bytes(comm: &Communicator, bytes: &[u8], dest: i32, tag: i32) -> Result<()> {
    let (first, payload) = parts(bytes);
    ffi::send(comm.p2p(), first, dest, tag)?;
    match payload {
        Some(payload) => ffi::send(comm.p2p(), payload, dest, tag),
        None => Ok(()),
    }
}

/// The object path on the communicator itself, with [`DEFAULT_TAG`].
impl Communicator {
    fn default_tag(&self) -> Tagged<'_> {
        self.tag(DEFAULT_TAG)
    }

    /// A view with the default tag whose receives give up after `limit` with
    /// `Err(Timeout)`; see [`Tagged::timeout`]. `world.tag(t).timeout(limit)` combines
    /// both.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let world = rspar::init()?;
    /// let late = world.timeout(Duration::from_millis(100)).receive::<u64>(rspar::Any);
    /// if let Err(err) = late {
    ///     assert!(matches!(err.kind(), rspar::ErrorKind::Timeout { .. }));
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn timeout(&self, limit: Duration) -> Tagged<'_> {
        self.default_tag().timeout(limit)
    }

    /// Send any serde value to rank `dest`; see [`Tagged::send`].
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let (rank, size) = (world.rank(), world.size());
    /// world.send(&format!("hello from {rank}"), (rank + 1) % size)?;
    /// let text: String = world.receive((rank + size - 1) % size)?;
    /// println!("{text}");
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, value: &T, dest: usize) -> Result<()> {
        self.default_tag().send(value, dest)
    }

    /// Receive a `T` from `source`; see [`Tagged::receive`].
    pub fn receive<T: DeserializeOwned>(&self, source: impl Into<Source>) -> Result<T> {
        self.default_tag().receive(source)
    }

    /// A view with the default tag whose receives return the [`Status`] of their message
    /// too; see [`WithStatus`]. `world.tag(t).with_status()` combines both.
    ///
    /// ```no_run
    /// use rspar::Any;
    /// let world = rspar::init()?;
    /// if world.rank() == 0 {
    ///     for _ in 1..world.size() {
    ///         let (n, status) = world.with_status().receive::<u64>(Any)?;
    ///         println!("rank {} sent {n} ({} bytes)", status.source, status.bytes);
    ///     }
    /// } else {
    ///     world.send(&(world.rank() as u64 * 10), 0)?;
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn with_status(&self) -> WithStatus<'_> {
        self.default_tag().with_status()
    }

    /// Send to `dest` and receive from `source` at once; see [`Tagged::sendrecv`].
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let (rank, size) = (world.rank(), world.size());
    /// let left: usize = world.sendrecv(&rank, (rank + 1) % size, (rank + size - 1) % size)?;
    /// assert_eq!(left, (rank + size - 1) % size);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn sendrecv<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        value: &T,
        dest: usize,
        source: impl Into<Source>,
    ) -> Result<R> {
        self.default_tag().sendrecv(value, dest, source)
    }
}
