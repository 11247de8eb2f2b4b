//! Nonblocking sends from bytes the send owns: [`OwnedSend`].
//!
//! MPI reads an `MPI_Isend`'s buffer until the request completes, which Rust's borrows
//! cannot express for a handle that outlives the call. So one value owns both the bytes
//! and every request that reads them, posts only ranges of its own bytes, never hands
//! them out mutably, and frees them only after each request has completed: its `Drop`
//! waits. Forgetting it leaks the bytes, which is safe. Code that must not block (a
//! failing program) hands an unfinished send to its owner instead (`Env::park`).

use std::ops::Range;

use mpi::ffi;

use super::{check, request_null, Comm, Layout};
use crate::error::{ErrorKind, Result};

/// Bytes and the MPI requests that read them.
#[derive(Default)]
pub(crate) struct OwnedSend {
    requests: Vec<ffi::MPI_Request>,
    // Not moved, grown or written while a request is active: the heap block's address
    // stays what MPI was given even when the `OwnedSend` itself moves.
    bytes: Vec<u8>,
}

impl OwnedSend {
    /// Take ownership of `bytes`, with nothing posted yet.
    pub(crate) fn new(bytes: Vec<u8>) -> OwnedSend {
        OwnedSend {
            requests: Vec::with_capacity(2),
            bytes,
        }
    }

    /// Post `MPI_Isend` of `range` of the owned bytes to `dest` (a valid rank: callers
    /// check) with `tag` on `comm`.
    pub(crate) fn post(
        &mut self,
        comm: Comm,
        range: Range<usize>,
        dest: i32,
        tag: i32,
    ) -> Result<()> {
        let Some(part) = self.bytes.get(range.clone()) else {
            return Err(ErrorKind::Mpi {
                call: "MPI_Isend",
                class: 0,
                message: format!("bytes {range:?} of a {}-byte message", self.bytes.len()),
            }
            .into());
        };
        let mut request: ffi::MPI_Request = request_null();
        let code = Layout::with::<u8, _>(part.len(), |count, datatype| {
            // SAFETY: `part` lies in `self.bytes`, which this value owns and neither
            // moves, grows nor writes until the request pushed below has completed
            // (`Drop` waits for it); the handles are valid while MPI is up (MPI keeps a
            // freed datatype alive for the operations that use it).
            unsafe {
                ffi::MPI_Isend(
                    part.as_ptr().cast(),
                    count,
                    datatype,
                    dest,
                    tag,
                    comm.0,
                    &mut request,
                )
            }
        })?;
        check(code, "MPI_Isend")?;
        self.requests.push(request);
        Ok(())
    }

    /// `MPI_Test` of every request: `Ok(true)` once all have completed (the bytes are
    /// then freed). The first error, after every request has been tested.
    pub(crate) fn test(&mut self) -> Result<bool> {
        let mut failed = None;
        self.requests.retain_mut(|request| {
            let mut flag = 0;
            // SAFETY: `request` is an active request reading `self.bytes`, which is alive;
            // MPI_Test sets it to MPI_REQUEST_NULL when it completes.
            let code = unsafe { ffi::MPI_Test(request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            match check(code, "MPI_Test") {
                Ok(()) => flag == 0,
                Err(err) => {
                    failed.get_or_insert(err);
                    // An erroneous request is freed by MPI: nothing reads the bytes.
                    false
                }
            }
        });
        if self.requests.is_empty() {
            self.bytes = Vec::new();
        }
        match failed {
            Some(err) => Err(err),
            None => Ok(self.requests.is_empty()),
        }
    }

    /// `MPI_Wait` for every request; the first error, after all have been waited for.
    pub(crate) fn wait(&mut self) -> Result<()> {
        let mut outcome = Ok(());
        for mut request in self.requests.drain(..) {
            // SAFETY: as in `test`; MPI_Wait returns once MPI no longer reads the bytes.
            let code = unsafe { ffi::MPI_Wait(&mut request, ffi::RSMPI_STATUS_IGNORE) };
            if outcome.is_ok() {
                outcome = check(code, "MPI_Wait");
            }
        }
        self.bytes = Vec::new();
        outcome
    }

    /// True once nothing is left to complete.
    pub(crate) fn is_done(&self) -> bool {
        self.requests.is_empty()
    }
}

impl Drop for OwnedSend {
    fn drop(&mut self) {
        // The bytes outlive every request that reads them, whatever the outcome. After a
        // host finalized MPI nothing can be waited for: the bytes are leaked instead.
        if !self.requests.is_empty() && mpi::environment::is_finalized() {
            std::mem::forget(std::mem::take(&mut self.bytes));
            return;
        }
        let _ = self.wait();
    }
}
