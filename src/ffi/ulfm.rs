//! ULFM (User Level Failure Mitigation), the MPI fault-tolerance extension: Open MPI 5's
//! `MPIX_` functions, compiled only where the build found them (`cfg(rspar_ulfm)`,
//! build.rs: `mpi-ext.h` enables the `ftmpi` extension). rsmpi has no bindings for them,
//! so they are declared here from Open MPI's `mpiext_ftmpi_c.h`; the library rsmpi links
//! (`libmpi`) defines them.
//!
//! - [`failed_ranks`]: the ranks of a communicator that this process knows have failed
//!   (`MPIX_Comm_get_failed`, translated to the communicator's ranks);
//! - [`ack_failed`]: acknowledge them (`MPIX_Comm_ack_failed`), so receives from any
//!   source work again;
//! - [`shrink`], [`revoke`], [`agree`]: `MPIX_Comm_shrink`, `MPIX_Comm_revoke`,
//!   `MPIX_Comm_agree`;
//! - [`note_errors`] and [`take_noted`]: an error handler (`ulfm.c`: a C variadic
//!   function, which stable Rust cannot define) that notes an error code instead of
//!   ending the job, for the collectives rspar runs through rsmpi, which drop MPI's
//!   return codes.

use std::ffi::c_int;
use std::mem::MaybeUninit;

use mpi::ffi;
use mpi::raw::{AsRaw, FromRaw};
use mpi::topology::SimpleCommunicator;

use super::{check, Comm};
use crate::error::Result;

extern "C" {
    fn MPIX_Comm_revoke(comm: ffi::MPI_Comm) -> c_int;
    fn MPIX_Comm_shrink(comm: ffi::MPI_Comm, newcomm: *mut ffi::MPI_Comm) -> c_int;
    fn MPIX_Comm_get_failed(comm: ffi::MPI_Comm, failedgroup: *mut ffi::MPI_Group) -> c_int;
    fn MPIX_Comm_ack_failed(comm: ffi::MPI_Comm, num_to_ack: c_int, num_acked: *mut c_int)
        -> c_int;
    fn MPIX_Comm_agree(comm: ffi::MPI_Comm, flag: *mut c_int) -> c_int;
    // ulfm.c, compiled by build.rs.
    fn rspar_ulfm_note_errors(comm: ffi::MPI_Comm) -> c_int;
    fn rspar_ulfm_take_noted() -> c_int;
}

/// The error classes of a lost process: a failed peer, a receive from any source while
/// a failure is unacknowledged, a revoked communicator.
pub(crate) fn is_failure(class: i32) -> bool {
    [
        ffi::MPI_ERR_PROC_FAILED,
        ffi::MPI_ERR_PROC_FAILED_PENDING,
        ffi::MPI_ERR_REVOKED,
    ]
    .contains(&(class as u32))
}

/// True for the class of a revoked communicator.
pub(crate) fn is_revoked(class: i32) -> bool {
    class as u32 == ffi::MPI_ERR_REVOKED
}

/// The ranks of `comm` known to have failed, in increasing order (empty when MPI cannot
/// tell).
pub(crate) fn failed_ranks(comm: Comm) -> Vec<usize> {
    let mut failed = MaybeUninit::<ffi::MPI_Group>::uninit();
    let mut all = MaybeUninit::<ffi::MPI_Group>::uninit();
    // SAFETY: `comm` is a live communicator (its owner holds it while `Comm` is used).
    // The calls write the group handles (read only after they succeeded) and `size`;
    // `MPI_Group_translate_ranks` reads `size` ranks from `theirs` and writes `size` into
    // `ours`, both that long; both groups are freed before returning.
    unsafe {
        if MPIX_Comm_get_failed(comm.0, failed.as_mut_ptr()) != 0 {
            return Vec::new();
        }
        let mut failed = failed.assume_init();
        let mut size = 0;
        let mut ranks = Vec::new();
        if ffi::MPI_Group_size(failed, &mut size) == 0
            && size > 0
            && ffi::MPI_Comm_group(comm.0, all.as_mut_ptr()) == 0
        {
            let mut all = all.assume_init();
            let theirs: Vec<c_int> = (0..size).collect();
            let mut ours = vec![0 as c_int; size as usize];
            if ffi::MPI_Group_translate_ranks(failed, size, theirs.as_ptr(), all, ours.as_mut_ptr())
                == 0
            {
                ranks = ours
                    .into_iter()
                    .filter_map(|r| usize::try_from(r).ok())
                    .collect();
            }
            ffi::MPI_Group_free(&mut all);
        }
        ffi::MPI_Group_free(&mut failed);
        ranks.sort_unstable();
        ranks
    }
}

/// Acknowledge the first `count` failures `comm` knows of (those [`failed_ranks`]
/// named), so that receives from any source on it stop failing for them.
pub(crate) fn ack_failed(comm: Comm, count: usize) -> Result<()> {
    let mut acked = 0;
    let count = c_int::try_from(count).unwrap_or(c_int::MAX);
    // SAFETY: `comm` is live; the call writes one int.
    let code = unsafe { MPIX_Comm_ack_failed(comm.0, count, &mut acked) };
    check(code, "MPIX_Comm_ack_failed")
}

/// `MPIX_Comm_shrink`: a new communicator of `comm`'s live processes (collective over
/// them).
pub(crate) fn shrink(comm: &SimpleCommunicator) -> Result<SimpleCommunicator> {
    let mut new = MaybeUninit::<ffi::MPI_Comm>::uninit();
    // SAFETY: `comm` is borrowed, so live; the call writes the new handle, read only
    // after it succeeded, and owned from then on by the `SimpleCommunicator` (freed on
    // its drop).
    unsafe {
        check(
            MPIX_Comm_shrink(comm.as_raw(), new.as_mut_ptr()),
            "MPIX_Comm_shrink",
        )?;
        Ok(SimpleCommunicator::from_raw(new.assume_init()))
    }
}

/// `MPI_Comm_dup` with its errors returned (`ProcessFailed` when a process of `comm`
/// has died), whatever `comm`'s handler; the new communicator gets `comm`'s handler.
/// Under ULFM a failing dup need not fail on every process, and MPI's default handler
/// would `MPI_Abort`, which there ends only the calling process: rspar's error path
/// ends the job instead (`env::abort_job`).
pub(crate) fn dup(comm: &SimpleCommunicator) -> Result<SimpleCommunicator> {
    let mut handler = MaybeUninit::<ffi::MPI_Errhandler>::uninit();
    let mut new = MaybeUninit::<ffi::MPI_Comm>::uninit();
    // SAFETY: `comm` is borrowed, so live. `MPI_Comm_get_errhandler` writes a handler
    // reference (read only after it succeeded, freed here after use); setting handlers
    // changes only `comm` and the new communicator; the dup writes the new handle, read
    // only after it succeeded and owned from then on by the `SimpleCommunicator`.
    unsafe {
        check(
            ffi::MPI_Comm_get_errhandler(comm.as_raw(), handler.as_mut_ptr()),
            "MPI_Comm_get_errhandler",
        )?;
        let mut handler = handler.assume_init();
        ffi::MPI_Comm_set_errhandler(comm.as_raw(), ffi::RSMPI_ERRORS_RETURN);
        let code = ffi::MPI_Comm_dup(comm.as_raw(), new.as_mut_ptr());
        ffi::MPI_Comm_set_errhandler(comm.as_raw(), handler);
        let made = super::check_failure(code, "MPI_Comm_dup", Comm::of(comm)).map(|()| {
            let new = new.assume_init();
            ffi::MPI_Comm_set_errhandler(new, handler);
            SimpleCommunicator::from_raw(new)
        });
        ffi::MPI_Errhandler_free(&mut handler);
        made
    }
}

/// `MPIX_Comm_revoke`: every pending and later operation on `comm`, on every process,
/// fails with `MPI_ERR_REVOKED`.
pub(crate) fn revoke(comm: Comm) -> Result<()> {
    // SAFETY: `comm` is live; the call takes the handle only.
    check(unsafe { MPIX_Comm_revoke(comm.0) }, "MPIX_Comm_revoke")
}

/// `MPIX_Comm_agree`: the bitwise AND of every live process's `flag`, and whether a
/// failure happened (`Err` on every process that took part, with the same value).
pub(crate) fn agree(comm: Comm, flag: u32) -> (u32, i32) {
    let mut value = flag as c_int;
    // SAFETY: `comm` is live; the call reads and writes one int.
    let code = unsafe { MPIX_Comm_agree(comm.0, &mut value) };
    (value as u32, code)
}

/// Give `comm` the noting error handler (`ulfm.c`): an error in a call on it is noted
/// for [`take_noted`] instead of ending the job.
pub(crate) fn note_errors(comm: &SimpleCommunicator) -> Result<()> {
    // SAFETY: `comm` is borrowed, so live; the C function makes the handler once and
    // sets it on `comm`.
    check(
        unsafe { rspar_ulfm_note_errors(comm.as_raw()) },
        "MPI_Comm_set_errhandler",
    )
}

/// Forget what the noting handler saw (an error already returned by the call itself).
pub(crate) fn clear_noted() {
    // SAFETY: as in `take_noted`.
    unsafe { rspar_ulfm_take_noted() };
}

/// The error the noting handler saw since the last call on this thread, as rspar's
/// error (a lost process: `ProcessFailed` naming `comm`'s failed ranks), and forget it.
pub(crate) fn take_noted(comm: Comm, call: &'static str) -> Result<()> {
    // SAFETY: reads and clears one int of `ulfm.c`; only MPI's thread calls it.
    let code = unsafe { rspar_ulfm_take_noted() };
    super::check_on(code, call, comm)
}
