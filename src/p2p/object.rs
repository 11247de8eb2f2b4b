//! Point-to-point messages of any serde type: the object path's calls.
//!
//! Each call checks its arguments (the view's preamble, `tagged`), traces its wait, and
//! hands the engine ranks and tags: `send` encodes the value into the engine's reused
//! buffer and sends the bytes as one MPI message (two when long); `receive` receives
//! straight into the engine's landing buffer, which every first message fits, and
//! decodes from there. The same calls are on [`Communicator`] (default tag) and on
//! [`Tagged`] (a chosen tag).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::nonblocking::SendRequest;
use super::tagged::{Dest, Tagged};
use super::with_status::WithStatus;
use crate::comm::Communicator;
use crate::envelope::{Source, Status};
use crate::error::Result;
use crate::{trace, wire};

impl Tagged<'_> {
    /// Send `value` to rank `dest` with this view's tag. Returns once the value's buffer
    /// may be reused (MPI standard mode: small messages are usually buffered, large ones
    /// wait for the receiver). A send to one's own rank never blocks.
    pub fn send<T: Serialize + ?Sized>(&self, value: &T, dest: usize) -> Result<()> {
        match self.dest(dest)? {
            Dest::Peer(to) => self.engine().send_value(value, to),
            Dest::Myself(tag) => {
                self.engine().hold_encoded(tag, wire::encode(value)?);
                Ok(())
            }
        }
    }

    /// Send bytes made by `wire` as one object message.
    pub(crate) fn send_encoded(&self, bytes: Vec<u8>, dest: usize) -> Result<()> {
        match self.dest(dest)? {
            Dest::Peer(to) => self.engine().send_encoded(&bytes, to),
            Dest::Myself(tag) => {
                self.engine().hold_encoded(tag, bytes);
                Ok(())
            }
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
        let _wait = trace::receiving("receive", source, tag);
        let received = self
            .engine()
            .receive_value(source, tag, self.timeout_value());
        if let Ok((_, status)) = &received {
            trace::received("receive", status);
        }
        received
    }

    /// Send `value` to `dest` and receive a `R` from `source` at the same time, without
    /// deadlock whatever the sizes (e.g. every rank passing to its right neighbour).
    ///
    /// With a [`timeout`](Self::timeout) the whole call returns within the limit: the
    /// receive gives up as every timed receive does (`Err(Timeout)`, nothing received),
    /// and a send that has not completed by then stays in flight, handed to MPI's
    /// environment (it completes when `dest` receives it, at the latest at finalize).
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
        let dest = self.dest(dest)?;
        let source = source.into();
        self.filter(source)?;
        let to = match dest {
            Dest::Peer(to) => to,
            Dest::Myself(tag) => {
                self.engine().hold_encoded(tag, wire::encode(value)?);
                return self.receive_status(source);
            }
        };
        let start = std::time::Instant::now();
        let request = SendRequest::post_value(self.comm(), value, to)?;
        let received = self.receive_status(source);
        match self.timeout_value() {
            None => request.wait()?,
            // The send is bounded by the same limit; unfinished then, it goes to the
            // environment (finalize completes it, or a failure's abort ends it).
            Some(limit) => request.wait_until(start + limit)?,
        }
        received
    }
}

/// The object path on the communicator itself, with [`DEFAULT_TAG`](crate::DEFAULT_TAG).
impl Communicator {
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
