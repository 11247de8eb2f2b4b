//! The buffer collectives on rspar's private collective communicator.

use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::traits::Equivalence;

use super::{check_on, element_count, mpi_address, mpi_address_mut, Comm, Layout, Plain};
use crate::error::{ErrorKind, Result};

/// `MPI_Bcast` of `buf` from `root` (a valid rank: callers check) on `comm`. Any length:
/// beyond `i32::MAX` elements it travels as one element of a derived datatype.
#[inline]
pub(crate) fn broadcast<T: Plain>(comm: Comm, buf: &mut [T], root: i32) -> Result<()> {
    let code = Layout::with::<T, _>(buf.len(), |count, datatype| {
        // SAFETY: `buf` is exclusively borrowed memory of `buf.len()` values of `T`,
        // which `count` and `datatype` describe (`Layout::with`); MPI reads it on the root and writes it
        // elsewhere, and is done with it when MPI_Bcast returns.
        unsafe {
            ffi::MPI_Bcast(
                mpi_address_mut(buf.as_mut_ptr(), buf.len()),
                count,
                datatype,
                root,
                comm.0,
            )
        }
    })?;
    check_on(code, "MPI_Bcast", comm)
}

/// `MPI_Gather` of `send` (the same length on every rank) from every rank into `recv` on
/// `root` (a valid rank), `size() * send.len()` values there (else `Err(Count)` before any
/// MPI call); `recv` is ignored elsewhere. Any length per rank: beyond `i32::MAX`
/// elements a rank's block travels as one element of a derived datatype, and the root's
/// total is never an MPI count.
pub(crate) fn gather<T: Plain>(
    comm: Comm,
    send: &[T],
    recv: Option<&mut [T]>,
    root: i32,
) -> Result<()> {
    let out = match recv {
        Some(recv) => {
            blocks_fit(comm, send.len(), recv.len())?;
            mpi_address_mut(recv.as_mut_ptr(), recv.len())
        }
        None => std::ptr::null_mut(),
    };
    let code = Layout::with::<T, _>(send.len(), |count, datatype| {
        // SAFETY: `send` is borrowed memory of `send.len()` values of `T`, which `count`
        // and `datatype` describe (`Layout::with`), that MPI only reads; on the root `out`
        // is exclusively borrowed memory of `size` such blocks (checked above), which MPI
        // writes; elsewhere MPI ignores the receive buffer (null). MPI is done with both
        // when MPI_Gather returns.
        unsafe {
            ffi::MPI_Gather(
                mpi_address(send.as_ptr(), send.len()),
                count,
                datatype,
                out,
                count,
                datatype,
                root,
                comm.0,
            )
        }
    })?;
    check_on(code, "MPI_Gather", comm)
}

/// `MPI_Scatter` from `send` on `root` (`size() * recv.len()` values there, else
/// `Err(Count)` before any MPI call; ignored elsewhere) into every rank's `recv` (the
/// same length on every rank). Any length, as [`gather`].
pub(crate) fn scatter<T: Plain>(
    comm: Comm,
    send: Option<&[T]>,
    recv: &mut [T],
    root: i32,
) -> Result<()> {
    let from = match send {
        Some(send) => {
            blocks_fit(comm, recv.len(), send.len())?;
            mpi_address(send.as_ptr(), send.len())
        }
        None => std::ptr::null(),
    };
    let code = Layout::with::<T, _>(recv.len(), |count, datatype| {
        // SAFETY: on the root `from` is borrowed memory of `size` blocks of `recv.len()`
        // values of `T` (checked above) that MPI only reads; elsewhere MPI ignores it
        // (null). `recv` is exclusively borrowed memory of `recv.len()` values, which
        // `count` and `datatype` describe (`Layout::with`). MPI is done with both when
        // MPI_Scatter returns.
        unsafe {
            ffi::MPI_Scatter(
                from,
                count,
                datatype,
                mpi_address_mut(recv.as_mut_ptr(), recv.len()),
                count,
                datatype,
                root,
                comm.0,
            )
        }
    })?;
    check_on(code, "MPI_Scatter", comm)
}

/// The root's side of a gather or scatter holds exactly one block of `block` values per
/// rank of `comm`: `Err(Count)` otherwise (this keeps MPI in bounds).
fn blocks_fit(comm: Comm, block: usize, root_len: usize) -> Result<()> {
    let mut size = 0;
    // SAFETY: `comm` is a live communicator handle; MPI writes one int into `size`.
    let code = unsafe { ffi::MPI_Comm_size(comm.0, &mut size) };
    check_on(code, "MPI_Comm_size", comm)?;
    let expected = block.checked_mul(size as usize);
    if expected == Some(root_len) {
        Ok(())
    } else {
        Err(ErrorKind::Count {
            expected: expected.unwrap_or(usize::MAX),
            got: root_len,
        }
        .into())
    }
}

/// `MPI_Reduce` of `send` with `op` into `recv` on `root` (a valid rank). `recv` must be
/// as long as `send` on the root and is not touched elsewhere.
#[inline]
pub(crate) fn reduce<T: Plain>(
    comm: Comm,
    send: &[T],
    recv: &mut [T],
    op: ffi::MPI_Op,
    root: i32,
    is_root: bool,
) -> Result<()> {
    if is_root {
        same_length(send, recv)?;
    }
    let count = count::<T>(send.len())?;
    let out = if is_root {
        mpi_address_mut(recv.as_mut_ptr(), recv.len())
    } else {
        std::ptr::null_mut()
    };
    // SAFETY: `send` is borrowed memory of `count` elements of `T::Element` (`Plain`'s
    // layout) that MPI only reads; on the root `recv` is exclusively borrowed memory of as
    // many (elsewhere MPI ignores the receive buffer); the datatype is the element's
    // (predefined for numbers, as MPI's reduction operations require); MPI is done with both when MPI_Reduce returns.
    let code = unsafe {
        ffi::MPI_Reduce(
            mpi_address(send.as_ptr(), send.len()),
            out,
            count,
            T::Element::equivalent_datatype().as_raw(),
            op,
            root,
            comm.0,
        )
    };
    check_on(code, "MPI_Reduce", comm)
}

/// `MPI_Allreduce` of `send` with `op` into `recv`, which must be as long.
#[inline]
pub(crate) fn all_reduce<T: Plain>(
    comm: Comm,
    send: &[T],
    recv: &mut [T],
    op: ffi::MPI_Op,
) -> Result<()> {
    same_length(send, recv)?;
    let count = count::<T>(send.len())?;
    // SAFETY: `send` and `recv` are borrowed memory of `count` elements of `T::Element`
    // each (`Plain`'s layout; `recv` exclusively, so they do not overlap); the datatype
    // is the element's (predefined for numbers, as MPI's reduction operations require); MPI is done with both when it returns.
    let code = unsafe {
        ffi::MPI_Allreduce(
            mpi_address(send.as_ptr(), send.len()),
            mpi_address_mut(recv.as_mut_ptr(), recv.len()),
            count,
            T::Element::equivalent_datatype().as_raw(),
            op,
            comm.0,
        )
    };
    check_on(code, "MPI_Allreduce", comm)
}

/// A reduction's element count (`len` values of `T` flattened to their elements, so an
/// `Op` on arrays works element by element) as MPI's `int`: a derived datatype cannot
/// carry more, as MPI's predefined operations work only on predefined datatypes.
#[inline]
fn count<T: Plain>(len: usize) -> Result<i32> {
    let elements = element_count::<T>(len)?;
    i32::try_from(elements).map_err(|_| {
        let size = std::mem::size_of::<T::Element>() as u64;
        ErrorKind::TooLarge {
            bytes: (elements as u64).saturating_mul(size),
            max: i32::MAX as u64 * size,
        }
        .into()
    })
}

/// The receive buffer of a reduction holds exactly the send buffer's elements (callers
/// check first and reduce into scratch memory otherwise; this keeps MPI in bounds).
#[inline]
fn same_length<T>(send: &[T], recv: &[T]) -> Result<()> {
    if recv.len() == send.len() {
        Ok(())
    } else {
        Err(ErrorKind::BufferLength {
            send: send.len(),
            recv: recv.len(),
        }
        .into())
    }
}
