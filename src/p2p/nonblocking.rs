//! Nonblocking object messages: `isend` and `ireceive`, and waiting on many of them.
//!
//! - [`SendRequest`] owns the encoded bytes of its value while MPI sends them
//!   (`MPI_Isend`), through `ffi::OwnedSend`, which frees them only once MPI is done.
//!   `wait` finishes it; **dropping it waits too**, so an unfinished send is never
//!   abandoned. While the program is failing (a panic or an rspar error alive), a drop
//!   hands the unfinished send to the environment instead of blocking (`Env::park`):
//!   finalize completes it, or the failure's abort ends it with the job. A long message
//!   is split in two, as by `send`.
//! - [`ReceiveRequest`] holds no MPI resource until its message is there: `test` polls
//!   with a matched probe (`MPI_Improbe`) and receives exactly the message's size once it
//!   has matched, so no buffer size is ever guessed. Requests match in the order they
//!   were posted, as `MPI_Irecv`s do (the engine's `posted`): a message goes to the
//!   oldest pending request it matches, whichever request or receive found it. Dropping
//!   a request cancels nothing and loses nothing: its message, if one was matched for
//!   it, goes back to the engine's held messages, and an unmatched one stays queued.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::tagged::{Dest, Tagged};
use crate::comm::Communicator;
use crate::engine::Peer;
use crate::envelope::{Source, Status, DEFAULT_TAG};
use crate::error::Result;
use crate::ffi::OwnedSend;
use crate::wire;

/// An object send in flight, from [`Tagged::isend`]. Wait for it, test it, or drop it,
/// which waits too. While the program is failing (a panic, or an rspar error alive, as
/// when `?` takes an `Err` out of `main`), dropping it does not block: the unfinished send
/// is handed to MPI's environment, which completes it before `MPI_Finalize`, or ends with
/// the job when the failure aborts it. Either way its bytes live until MPI is done with
/// them.
///
/// A request borrows its communicator, so it cannot outlive it:
///
/// ```compile_fail,E0505
/// let world = rspar::init()?;
/// let send = world.isend(&[1u8; 8], 0)?;
/// drop(world); // the world is still borrowed by `send`
/// send.wait()?;
/// # Ok::<(), rspar::Error>(())
/// ```
#[must_use = "a send request waits for its send when dropped; keep it to overlap work"]
pub struct SendRequest<'c> {
    // The bytes and the requests that read them, in one owner (`ffi::OwnedSend`).
    send: OwnedSend,
    comm: &'c Communicator,
}

impl<'c> SendRequest<'c> {
    /// Start sending encoded object bytes to `to` (split in two if long, as `send` does).
    pub(crate) fn post(comm: &'c Communicator, bytes: Vec<u8>, to: Peer) -> Result<Self> {
        let (send, posted) = comm.engine().post_parts(bytes, to);
        if let Err(err) = posted {
            // A part already posted may still be read: its owner goes to the
            // environment, not to the allocator.
            comm.park(send);
            return Err(err);
        }
        Ok(SendRequest { send, comm })
    }

    /// Post `value` to `to` encoded for it (short once `to` has its type's name; a named
    /// message posted tells the engine that `to` now has it).
    pub(crate) fn post_value<T: Serialize + ?Sized>(
        comm: &'c Communicator,
        value: &T,
        to: Peer,
    ) -> Result<Self> {
        let (bytes, named) = comm.engine().encode_for(value, to)?;
        let request = SendRequest::post(comm, bytes, to)?;
        if named {
            comm.engine().introduce::<T>(to);
        }
        Ok(request)
    }

    /// `Ok(true)` once the send has completed (`MPI_Test`); the buffer is then released.
    pub fn test(&mut self) -> Result<bool> {
        self.send.test()
    }

    /// Block until the send has completed.
    pub fn wait(mut self) -> Result<()> {
        self.finish()
    }

    /// Wait until the send completes or `deadline` passes (polled with the back-off);
    /// unfinished then, it is handed to the environment, which completes it before
    /// `MPI_Finalize` (a failure's abort ends it). The bytes live until MPI is done.
    pub(crate) fn wait_until(mut self, deadline: std::time::Instant) -> Result<()> {
        if self.send.is_done() {
            return Ok(());
        }
        let _wait = crate::watch::waiting("wait (for an isend)", String::new);
        let limit = deadline.saturating_duration_since(std::time::Instant::now());
        let send = &mut self.send;
        let done = crate::backoff::poll_until(Some(limit), || Ok(send.test()?.then_some(())))?;
        if done.is_none() {
            self.comm.park(std::mem::take(&mut self.send));
        }
        Ok(())
    }

    /// Wait for every request; the first error, after all have been waited for.
    fn finish(&mut self) -> Result<()> {
        if self.send.is_done() {
            return Ok(());
        }
        let _wait = crate::watch::waiting("wait (for an isend)", String::new);
        self.send.wait()
    }

    /// Wait for every send.
    pub fn wait_all<'a>(requests: impl IntoIterator<Item = SendRequest<'a>>) -> Result<()> {
        requests.into_iter().try_for_each(SendRequest::wait)
    }
}

impl Drop for SendRequest<'_> {
    fn drop(&mut self) {
        if self.send.is_done() {
            return;
        }
        if std::thread::panicking() || crate::error::live_error().is_some() {
            // The program may be failing: waiting here for a receiver that may never
            // come would keep the failure from ending the job. The environment keeps
            // the send until finalize (which completes it) or the abort.
            self.comm.park(std::mem::take(&mut self.send));
            return;
        }
        let _ = self.finish();
    }
}

impl std::fmt::Debug for SendRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendRequest")
            .field("done", &self.send.is_done())
            .finish_non_exhaustive()
    }
}

/// What a [`ReceiveRequest`] gives when it completes, by its third parameter `S`: `()`
/// gives the value, `T` (from `ireceive`); [`Status`] gives the value and the status of
/// its message, `(T, Status)` (from [`with_status().ireceive`](crate::WithStatus::ireceive)).
/// Sealed: rspar implements it for these two only.
pub trait Reply<T>: sealed::Sealed {
    /// What `wait` returns.
    type Out;
    /// The reply from the decoded value and its status.
    #[doc(hidden)]
    fn from_parts(value: T, status: Status) -> Self::Out;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl Sealed for crate::Status {}
}

impl<T> Reply<T> for () {
    type Out = T;
    fn from_parts(value: T, _: Status) -> T {
        value
    }
}

impl<T> Reply<T> for Status {
    type Out = (T, Status);
    fn from_parts(value: T, status: Status) -> (T, Status) {
        (value, status)
    }
}

/// A receive of a `T` waiting for its message, from [`Tagged::ireceive`] (its `wait` and
/// `test` give the value) or, with `S` = [`Status`], from
/// [`WithStatus::ireceive`](crate::WithStatus::ireceive) (they give the value and its
/// status, `(T, Status)`); see [`Reply`].
///
/// A request borrows its communicator, so it cannot outlive it:
///
/// ```compile_fail,E0505
/// let world = rspar::init()?;
/// let incoming = world.ireceive::<u64>(0);
/// drop(world); // the world is still borrowed by `incoming`
/// let n = incoming.wait()?;
/// # Ok::<(), rspar::Error>(())
/// ```
///
/// Requests match in the order they were posted, as `MPI_Irecv`s: of two requests that
/// can take the same message, the one made first gets it, whichever is waited first; a
/// blocking receive made while requests are pending comes after them.
///
/// ```no_run
/// let world = rspar::init()?;
/// let me = world.rank();
/// world.send(&1u64, me)?;
/// world.send(&2u64, me)?;
/// let first = world.ireceive::<u64>(me);
/// let second = world.ireceive::<u64>(me);
/// assert_eq!(second.wait()?, 2);
/// assert_eq!(first.wait()?, 1);
/// # Ok::<(), rspar::Error>(())
/// ```
#[must_use = "a receive request does nothing until it is tested or waited"]
#[derive(Debug)]
pub struct ReceiveRequest<'c, T, S: Reply<T> = ()> {
    view: Tagged<'c>,
    source: Source,
    // The engine's id of this request while it is posted (`None`: its source or tag is
    // invalid, which `test` and `wait` report, or it has completed).
    posted: Option<u64>,
    _value: PhantomData<fn() -> (T, S)>,
}

impl<T: DeserializeOwned, S: Reply<T>> ReceiveRequest<'_, T, S> {
    /// What was received if the message has arrived, `None` if not yet (never blocks for
    /// long: the matched message is received at once). A message found for a request
    /// made earlier goes to that one (it has completed first) and this `test` says
    /// `None`; the next `test` looks again.
    pub fn test(&mut self) -> Result<Option<S::Out>> {
        let (source, tag) = self.view.filter(self.source)?;
        let engine = self.view.engine();
        match engine.poll_posted(self.posted, source, tag)? {
            Some((entry, origin)) => {
                let (value, status) = engine.decode_entry(entry, origin)?;
                self.done();
                Ok(Some(S::from_parts(value, status)))
            }
            None => Ok(None),
        }
    }

    /// Block until the message arrives; what was received.
    pub fn wait(mut self) -> Result<S::Out> {
        let (source, tag) = self.view.filter(self.source)?;
        let engine = self.view.engine();
        let _wait = crate::trace::receiving("receive", source, tag);
        let timeout = self.view.timeout_value();
        let (entry, origin) = engine.next_posted(self.posted, source, tag, timeout)?;
        let (value, status) = engine.decode_entry(entry, origin)?;
        crate::trace::received("receive", &status);
        self.done();
        Ok(S::from_parts(value, status))
    }

    /// The request has its message: it matches nothing more.
    fn done(&mut self) {
        if let Some(id) = self.posted.take() {
            self.view.engine().unpost(id);
        }
    }

    /// Wait for every receive; what each received, in the order of `requests`.
    pub fn wait_all(requests: impl IntoIterator<Item = Self>) -> Result<Vec<S::Out>> {
        requests.into_iter().map(Self::wait).collect()
    }

    /// Wait until any one of `requests` completes; remove it and return its index (in
    /// `requests` before removal) and what it received. An empty `requests` is
    /// `Err(Deadlock)`.
    pub fn wait_any(requests: &mut Vec<Self>) -> Result<(usize, S::Out)> {
        if requests.is_empty() {
            return Err(crate::ErrorKind::Deadlock {
                reason: "wait_any was given no requests, so it could never return".into(),
            }
            .into());
        }
        let _wait = crate::watch::waiting("wait_any", || format!("({} receives)", requests.len()));
        loop {
            for index in 0..requests.len() {
                if let Some(reply) = requests[index].test()? {
                    drop(requests.remove(index));
                    return Ok((index, reply));
                }
            }
            std::thread::yield_now();
        }
    }
}

impl<T, S: Reply<T>> Drop for ReceiveRequest<'_, T, S> {
    fn drop(&mut self) {
        if let Some(id) = self.posted.take() {
            self.view.engine().unpost(id);
        }
    }
}

impl<'c> Tagged<'c> {
    /// Start sending `value` to `dest` and return at once; see [`SendRequest`].
    pub fn isend<T: Serialize + ?Sized>(&self, value: &T, dest: usize) -> Result<SendRequest<'c>> {
        match self.dest(dest)? {
            Dest::Peer(to) => SendRequest::post_value(self.comm(), value, to),
            Dest::Myself(tag) => {
                self.engine().hold_encoded(tag, wire::encode(value)?);
                Ok(SendRequest {
                    send: OwnedSend::default(),
                    comm: self.comm(),
                })
            }
        }
    }

    /// A receive of a `T` from `source`, to test or wait later; see [`ReceiveRequest`].
    pub fn ireceive<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
    ) -> ReceiveRequest<'c, T> {
        self.request(source.into())
    }

    /// A receive request on this view whose reply is `S`'s, posted now.
    pub(crate) fn request<T, S: Reply<T>>(&self, source: Source) -> ReceiveRequest<'c, T, S> {
        let posted = self
            .filter(source)
            .ok()
            .map(|(source, tag)| self.engine().post(source, tag));
        ReceiveRequest {
            view: *self,
            source,
            posted,
            _value: PhantomData,
        }
    }
}

/// Nonblocking object messages on the communicator itself, with the default tag.
impl Communicator {
    /// Start sending `value` to `dest`; see [`Tagged::isend`].
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let (rank, size) = (world.rank(), world.size());
    /// let send = world.isend(&vec![rank; 1 << 20], (rank + 1) % size)?;
    /// let incoming = world.ireceive::<Vec<usize>>((rank + size - 1) % size);
    /// let data = incoming.wait()?;
    /// send.wait()?;
    /// assert_eq!(data[0], (rank + size - 1) % size);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn isend<T: Serialize + ?Sized>(&self, value: &T, dest: usize) -> Result<SendRequest<'_>> {
        self.tag(DEFAULT_TAG).isend(value, dest)
    }

    /// A receive of a `T` from `source` to test or wait later; see [`Tagged::ireceive`].
    pub fn ireceive<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
    ) -> ReceiveRequest<'_, T> {
        self.tag(DEFAULT_TAG).ireceive(source)
    }
}
