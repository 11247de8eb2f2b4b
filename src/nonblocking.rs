//! Nonblocking object messages: `isend` and `ireceive`, and waiting on many of them.
//!
//! - [`SendRequest`] owns the encoded bytes of its value while MPI sends them
//!   (`MPI_Isend`). `wait` finishes it; **dropping it waits too**, so an unfinished send
//!   is never abandoned (except while the program is failing, a panic or an rspar error
//!   alive: then the bytes are leaked and the failure ends the job). MPI reads the bytes after
//!   `isend` returns, which Rust's borrow rules cannot express for an owned handle (the
//!   raw calls are in `ffi`). A long message is split in two, as by `send`.
//! - [`ReceiveRequest`] holds no MPI resource until its message is there: `test` polls
//!   with a matched probe (`MPI_Improbe`) and receives exactly the message's size once it
//!   has matched, so no buffer size is ever guessed. Dropping it cancels nothing and loses
//!   nothing: an unmatched message simply stays queued.

use std::marker::PhantomData;

use mpi::ffi;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::comm::Communicator;
use crate::envelope::{Source, Status, DEFAULT_TAG};
use crate::error::Result;
use crate::ffi as raw;
use crate::p2p::{parts, Tagged};
use crate::{pending, wire};

/// An object send in flight, from [`Tagged::isend`]. Wait for it, test it, or drop it
/// (which waits, unless a panic or a live rspar error shows the program is failing: then
/// it leaks the buffer instead, so `?` out of `main` still ends the job).
#[must_use = "a send request waits for its send when dropped; keep it to overlap work"]
pub struct SendRequest<'c> {
    // Active requests (two for a split message). `bytes` is the heap buffer MPI reads;
    // its address does not change when the handle moves, and it is freed only after
    // every request has completed (or never, if the handle is forgotten).
    requests: Vec<ffi::MPI_Request>,
    bytes: Vec<u8>,
    _comm: PhantomData<&'c Communicator>,
}

impl SendRequest<'_> {
    /// `Ok(true)` once the send has completed (`MPI_Test`); the buffer is then released.
    pub fn test(&mut self) -> Result<bool> {
        let mut failed = None;
        self.requests
            .retain_mut(|request| match raw::test(request) {
                Ok(done) => !done,
                Err(err) => {
                    failed.get_or_insert(err);
                    true
                }
            });
        if let Some(err) = failed {
            return Err(err);
        }
        if self.requests.is_empty() {
            self.bytes = Vec::new();
        }
        Ok(self.requests.is_empty())
    }

    /// Block until the send has completed.
    pub fn wait(mut self) -> Result<()> {
        self.finish()
    }

    /// Wait for every request; the first error, after all have been waited for.
    fn finish(&mut self) -> Result<()> {
        if self.requests.is_empty() {
            return Ok(());
        }
        let _wait = crate::watch::waiting("wait (for an isend)", String::new);
        let mut outcome = Ok(());
        for mut request in self.requests.drain(..) {
            let waited = raw::wait(&mut request);
            if outcome.is_ok() {
                outcome = waited;
            }
        }
        outcome
    }

    /// Wait for every send.
    pub fn wait_all<'a>(requests: impl IntoIterator<Item = SendRequest<'a>>) -> Result<()> {
        requests.into_iter().try_for_each(SendRequest::wait)
    }
}

impl Drop for SendRequest<'_> {
    fn drop(&mut self) {
        if self.requests.is_empty() {
            return;
        }
        if std::thread::panicking() || crate::error::live_error().is_some() {
            // The program is failing (a panic, or an `Err` on its way out of `main`):
            // waiting here for a receiver that may never come would keep the failure
            // from ending the job. MPI may still read the bytes, so they are leaked.
            std::mem::forget(std::mem::take(&mut self.bytes));
            return;
        }
        let _ = self.finish();
    }
}

/// Start sending encoded object bytes to `dest` (split in two if long, as `send` does).
pub(crate) fn post_send(
    comm: &Communicator,
    mut bytes: Vec<u8>,
    dest: i32,
    tag: i32,
) -> Result<SendRequest<'_>> {
    let mut request = SendRequest {
        requests: Vec::with_capacity(2),
        bytes: Vec::new(),
        _comm: PhantomData,
    };
    let (first, payload) = parts(&mut bytes);
    for part in std::iter::once(first).chain(payload) {
        // On an error, dropping `request` waits for the part already posted; `bytes`
        // outlives it (declared first, dropped last).
        request
            .requests
            .push(raw::isend(comm.p2p(), part, dest, tag)?);
    }
    request.bytes = bytes;
    Ok(request)
}

/// A receive of a `T` waiting for its message, from [`Tagged::ireceive`].
#[must_use = "a receive request does nothing until it is tested or waited"]
pub struct ReceiveRequest<'c, T> {
    view: Tagged<'c>,
    source: Source,
    _value: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> ReceiveRequest<'_, T> {
    /// The value and its status if the message has arrived, `None` if not yet (never
    /// blocks for long: the matched message is received at once).
    pub fn test(&mut self) -> Result<Option<(T, Status)>> {
        let (source, tag) = self.view.filter(self.source)?;
        match pending::poll(self.view.comm(), source, tag)? {
            Some((entry, origin)) => self.view.decode_entry(entry, origin).map(Some),
            None => Ok(None),
        }
    }

    /// Block until the message arrives; the value and its status.
    pub fn wait(self) -> Result<(T, Status)> {
        self.view.receive_with_status(self.source)
    }

    /// Wait for every receive; the values in the order of `requests`.
    pub fn wait_all(requests: impl IntoIterator<Item = Self>) -> Result<Vec<T>> {
        requests
            .into_iter()
            .map(|r| r.wait().map(|(v, _)| v))
            .collect()
    }

    /// Wait until any one of `requests` completes; remove it and return its index (in
    /// `requests` before removal), value and status. An empty `requests` is `Err(Deadlock)`.
    pub fn wait_any(requests: &mut Vec<Self>) -> Result<(usize, T, Status)> {
        if requests.is_empty() {
            return Err(crate::ErrorKind::Deadlock {
                reason: "wait_any was given no requests, so it could never return".into(),
            }
            .into());
        }
        let _wait = crate::watch::waiting("wait_any", || format!("({} receives)", requests.len()));
        loop {
            for index in 0..requests.len() {
                if let Some((value, status)) = requests[index].test()? {
                    drop(requests.remove(index));
                    return Ok((index, value, status));
                }
            }
            std::thread::yield_now();
        }
    }
}

impl<'c> Tagged<'c> {
    /// Start sending `value` to `dest` and return at once; see [`SendRequest`].
    pub fn isend<T: Serialize + ?Sized>(&self, value: &T, dest: usize) -> Result<SendRequest<'c>> {
        let comm = self.comm();
        let dest_rank = comm.check_rank(dest)?;
        let tag = self.tag_value().for_send()?;
        let bytes = wire::encode(value)?;
        if dest == comm.rank() {
            self.hold_for_self(tag, bytes);
            return Ok(SendRequest {
                requests: Vec::new(),
                bytes: Vec::new(),
                _comm: PhantomData,
            });
        }
        post_send(comm, bytes, dest_rank, tag)
    }

    /// A receive of a `T` from `source`, to test or wait later; see [`ReceiveRequest`].
    pub fn ireceive<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
    ) -> ReceiveRequest<'c, T> {
        ReceiveRequest {
            view: *self,
            source: source.into(),
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
    /// let (data, _) = incoming.wait()?;
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
