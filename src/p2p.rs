//! Point-to-point messages of any serde type: the object path.
//!
//! `send` encodes the value (see `wire`) and sends the bytes as one MPI message; `receive`
//! matches one message with a matched probe, receives exactly its size, and decodes it.
//! The same calls are on [`Communicator`] (default tag) and on [`Tagged`] (a chosen tag).

use serde::de::DeserializeOwned;
use serde::Serialize;

use mpi::traits::{Communicator as _, Destination as _};

use crate::comm::Communicator;
use crate::envelope::{Source, Status, Tag, DEFAULT_TAG};
use crate::error::{ErrorKind, Result};
use crate::pending::{self, Entry, Held, Origin};
use crate::wire;

/// A communicator with a tag chosen for its sends and receives; made by
/// [`Communicator::tag`]. It has every point-to-point method of the communicator.
#[derive(Debug, Clone, Copy)]
pub struct Tagged<'c> {
    comm: &'c Communicator,
    tag: Tag,
}

impl<'c> Tagged<'c> {
    pub(crate) fn new(comm: &'c Communicator, tag: Tag) -> Tagged<'c> {
        Tagged { comm, tag }
    }

    pub(crate) fn comm(&self) -> &'c Communicator {
        self.comm
    }

    pub(crate) fn tag_value(&self) -> Tag {
        self.tag
    }

    /// The (source, tag) filter of a receive, checked.
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
        self.comm.check_rank(dest)?;
        self.tag.for_send()?;
        self.send_encoded(wire::encode(value)?, dest)
    }

    /// Send bytes made by `wire` as one object message.
    pub(crate) fn send_encoded(&self, bytes: Vec<u8>, dest: usize) -> Result<()> {
        let dest_rank = self.comm.check_rank(dest)?;
        let tag = self.tag.for_send()?;
        if dest == self.comm.rank() {
            self.hold_for_self(tag, bytes);
        } else {
            check_count(bytes.len())?;
            self.comm
                .raw()
                .process_at_rank(dest_rank)
                .send_with_tag(&bytes[..], tag);
        }
        Ok(())
    }

    /// Receive a value of type `T` from `source` (a rank or [`Any`](crate::Any)).
    pub fn receive<T: DeserializeOwned>(&self, source: impl Into<Source>) -> Result<T> {
        self.receive_with_status(source).map(|(value, _)| value)
    }

    /// Receive a value of type `T` and the [`Status`] of its message (source, tag, size).
    ///
    /// A message of another type is `Err(TypeMismatch)` naming both types, and stays
    /// queued; bytes that do not decode are `Err(Decode)`.
    pub fn receive_with_status<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
    ) -> Result<(T, Status)> {
        let (source, tag) = self.filter(source.into())?;
        let (entry, origin) = pending::next(self.comm, source, tag)?;
        self.decode_entry(entry, origin)
    }

    /// Send `value` to `dest` and receive a `R` from `source` at the same time, without
    /// deadlock whatever the sizes (e.g. every rank passing to its right neighbour).
    pub fn sendrecv<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        value: &T,
        dest: usize,
        source: impl Into<Source>,
    ) -> Result<R> {
        let dest_rank = self.comm.check_rank(dest)?;
        let tag = self.tag.for_send()?;
        let (source, recv_tag) = self.filter(source.into())?;
        let bytes = wire::encode(value)?;
        if dest == self.comm.rank() {
            self.hold_for_self(tag, bytes);
            let (entry, origin) = pending::next(self.comm, source, recv_tag)?;
            return self.decode_entry(entry, origin).map(|(v, _)| v);
        }
        check_count(bytes.len())?;
        mpi::request::scope(|scope| {
            let request = self
                .comm
                .raw()
                .process_at_rank(dest_rank)
                .immediate_send_with_tag(scope, &bytes[..], tag);
            let received = pending::next(self.comm, source, recv_tag)
                .and_then(|(entry, origin)| self.decode_entry(entry, origin));
            request.wait();
            received.map(|(v, _)| v)
        })
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
        let status = entry.status;
        let bytes = pending::into_bytes(entry.held).map_err(|name| ErrorKind::Decode {
            reason: format!(
                "the message is a buffer of {name} sent with send_buffer, not an object"
            ),
        })?;
        match wire::decode::<T>(&bytes) {
            Ok(value) => Ok((value, status)),
            Err(err) => {
                if matches!(err.kind(), ErrorKind::TypeMismatch { .. }) {
                    let held = Held::Object(bytes);
                    self.comm.pending().put_back(Entry { status, held }, origin);
                }
                Err(err)
            }
        }
    }
}

/// MPI counts are C ints: one message carries at most `i32::MAX` elements.
pub(crate) fn check_count(count: usize) -> Result<()> {
    if count > i32::MAX as usize {
        return Err(ErrorKind::TooLarge {
            bytes: count as u64,
            max: i32::MAX as u64,
        }
        .into());
    }
    Ok(())
}

/// The object path on the communicator itself, with [`DEFAULT_TAG`].
impl Communicator {
    fn default_tag(&self) -> Tagged<'_> {
        self.tag(DEFAULT_TAG)
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

    /// Receive a `T` and its [`Status`]; see [`Tagged::receive_with_status`].
    ///
    /// ```no_run
    /// use rspar::Any;
    /// let world = rspar::init()?;
    /// if world.rank() == 0 {
    ///     for _ in 1..world.size() {
    ///         let (n, status) = world.receive_with_status::<u64>(Any)?;
    ///         println!("rank {} sent {n} ({} bytes)", status.source, status.bytes);
    ///     }
    /// } else {
    ///     world.send(&(world.rank() as u64 * 10), 0)?;
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn receive_with_status<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
    ) -> Result<(T, Status)> {
        self.default_tag().receive_with_status(source)
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
