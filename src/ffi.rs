//! The MPI calls rspar makes through `mpi::ffi` itself: the crate's only `unsafe` code.
//!
//! - [`receive_into`]: `MPI_Recv` that reports MPI's error code. Receiving straight into
//!   the caller's memory (no matched probe first) is what makes rspar's receives as fast
//!   as C's, and a message longer than the memory is then `MPI_ERR_TRUNCATE`, which
//!   rsmpi's safe calls cannot return.
//! - [`errors_return`]: the error handler that makes MPI return that code instead of
//!   aborting, set only on rspar's private communicators.
//! - [`isend`], [`test`], [`wait`]: nonblocking sends from a buffer owned by a handle
//!   (rsmpi ties requests to a borrow scope, which an owned handle cannot express).

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use mpi::ffi;
use mpi::point_to_point::Status as MpiStatus;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::Equivalence;

/// Make MPI return error codes for calls on `comm` instead of aborting the job.
pub(crate) fn errors_return(comm: &SimpleCommunicator) {
    // SAFETY: `comm` is a valid communicator handle (borrowed, so alive) and
    // MPI_ERRORS_RETURN is a predefined handler; the call changes only `comm`'s handler.
    unsafe {
        ffi::MPI_Comm_set_errhandler(comm.as_raw(), ffi::RSMPI_ERRORS_RETURN);
    }
}

/// What a direct receive found.
pub(crate) enum Received {
    /// A message fitted: its source, tag, size in bytes, and length in elements (`None`
    /// when its size is not a whole number of elements).
    Message {
        source: usize,
        tag: i32,
        bytes: usize,
        count: Option<usize>,
    },
    /// A message longer than the buffer: MPI filled the buffer and discarded the rest.
    Overflow,
}

/// `MPI_Recv` into `buf` from `source` with `tag` (`None` = any) on `comm`, whose
/// error handler must be [`errors_return`]. `buf.len()` must fit an `i32` (checked by the
/// callers).
pub(crate) fn receive_into<T: Equivalence>(
    comm: &SimpleCommunicator,
    buf: &mut [T],
    source: Option<usize>,
    tag: Option<i32>,
) -> Received {
    let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
    let datatype = T::equivalent_datatype();
    // SAFETY: `buf` is exclusively borrowed memory of `buf.len()` elements of `T`, which
    // `datatype` describes, so MPI writes at most that many; the handles are valid while
    // borrowed; `status` is written by MPI_Recv before it returns (also on error, as the
    // communicator returns errors). Reading the constants of rsmpi's C shim is sound.
    let (code, status) = unsafe {
        let code = ffi::MPI_Recv(
            buf.as_mut_ptr().cast(),
            buf.len() as i32,
            datatype.as_raw(),
            source.map_or(ffi::RSMPI_ANY_SOURCE, |s| s as i32),
            tag.unwrap_or(ffi::RSMPI_ANY_TAG),
            comm.as_raw(),
            status.as_mut_ptr(),
        );
        (code, status.assume_init())
    };
    if code != ffi::MPI_SUCCESS as i32 {
        let mut class = code;
        // SAFETY: MPI_Error_class only writes the int it is given.
        unsafe {
            ffi::MPI_Error_class(code, &mut class);
        }
        assert_eq!(
            class,
            ffi::MPI_ERR_TRUNCATE as i32,
            "MPI_Recv failed with error class {class}"
        );
        return Received::Overflow;
    }
    let status = MpiStatus::from_raw(status);
    Received::Message {
        source: status.source_rank() as usize,
        tag: status.tag(),
        bytes: status.count(u8::equivalent_datatype()).max(0) as usize,
        count: usize::try_from(status.count(datatype)).ok(),
    }
}

/// `MPI_Send` of `buf` to `dest` (a valid rank: callers check) with `tag` on `comm`.
/// `buf.len()` must fit an `i32` (checked by the callers).
pub(crate) fn send<T: Equivalence>(comm: &SimpleCommunicator, buf: &[T], dest: i32, tag: i32) {
    // SAFETY: `buf` is borrowed memory of `buf.len()` elements of `T`, which its
    // datatype describes; MPI only reads it, and is done with it when MPI_Send returns.
    unsafe {
        ffi::MPI_Send(
            buf.as_ptr().cast(),
            buf.len() as i32,
            T::equivalent_datatype().as_raw(),
            dest,
            tag,
            comm.as_raw(),
        );
    }
}

/// Post `MPI_Isend` of `bytes` on `comm`. The caller keeps `bytes` alive and unmoved
/// until [`test`] or [`wait`] has completed the request (`bytes.len()` <= `i32::MAX`).
pub(crate) fn isend(
    comm: &SimpleCommunicator,
    bytes: &[u8],
    dest: i32,
    tag: i32,
) -> ffi::MPI_Request {
    let mut request: ffi::MPI_Request = request_null();
    // SAFETY: `bytes` is a live buffer of `bytes.len()` bytes; the caller stores it next
    // to the request and frees it only after MPI_Wait/MPI_Test has completed the request.
    // Datatype and communicator handles are valid while MPI is up.
    unsafe {
        ffi::MPI_Isend(
            bytes.as_ptr().cast(),
            bytes.len() as i32,
            u8::equivalent_datatype().as_raw(),
            dest,
            tag,
            comm.as_raw(),
            &mut request,
        );
    }
    request
}

/// `MPI_Test`: true (and the request is null) once it has completed.
pub(crate) fn test(request: &mut ffi::MPI_Request) -> bool {
    let mut flag = 0;
    // SAFETY: `request` is an active request from `isend` whose buffer is still alive;
    // MPI_Test sets it to MPI_REQUEST_NULL when it completes.
    unsafe {
        ffi::MPI_Test(request, &mut flag, ffi::RSMPI_STATUS_IGNORE);
    }
    flag != 0
}

/// `MPI_Wait`: block until the request has completed; MPI no longer reads its buffer.
pub(crate) fn wait(request: &mut ffi::MPI_Request) {
    // SAFETY: as in `test`.
    unsafe {
        ffi::MPI_Wait(request, ffi::RSMPI_STATUS_IGNORE);
    }
}

fn request_null() -> ffi::MPI_Request {
    // SAFETY: reading an MPI constant exported by rsmpi's C shim.
    unsafe { ffi::RSMPI_REQUEST_NULL }
}
