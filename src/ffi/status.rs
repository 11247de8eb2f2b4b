//! How many bytes a received or probed message holds, and its envelope.

use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::traits::Equivalence;

use super::plain::Plain;
use crate::envelope::Status;

/// Bytes in the message a status describes (64-bit, any size). Read from the status
/// itself where the build found which fields hold it (`build.rs`): that saves a call to
/// `MPI_Get_count` on every receive. Debug builds check the two agree.
#[inline]
pub(super) fn status_bytes(status: &ffi::MPI_Status) -> usize {
    match status_fields(status) {
        Some(bytes) => {
            debug_assert_eq!(bytes, counted_bytes(status));
            bytes
        }
        None => counted_bytes(status),
    }
}

/// Open MPI's status: `size_t _ucount`, in bytes.
#[cfg(rspar_status = "ucount")]
#[inline(always)]
fn status_fields(status: &ffi::MPI_Status) -> Option<usize> {
    Some(status._ucount)
}

/// MPICH's status: the low 32 bits in `count_lo`, the high ones above the cancelled bit.
#[cfg(rspar_status = "count_lo_hi")]
#[inline(always)]
fn status_fields(status: &ffi::MPI_Status) -> Option<usize> {
    let low = status.count_lo as u32 as u64;
    let high = (status.count_hi_and_cancelled as u32 >> 1) as u64;
    usize::try_from(high << 32 | low).ok()
}

/// Any other MPI: ask it.
#[cfg(not(any(rspar_status = "ucount", rspar_status = "count_lo_hi")))]
#[inline(always)]
fn status_fields(_status: &ffi::MPI_Status) -> Option<usize> {
    None
}

/// Bytes in the message a status describes, as MPI counts them: `MPI_Get_count`, the
/// cheaper call, unless the size is beyond an `int`.
#[cfg_attr(any(rspar_status = "ucount", rspar_status = "count_lo_hi"), cold)]
#[inline(never)]
fn counted_bytes(status: &ffi::MPI_Status) -> usize {
    let byte = u8::equivalent_datatype().as_raw();
    let mut count = 0;
    // SAFETY: `status` was filled by MPI; the call writes one int.
    unsafe {
        ffi::MPI_Get_count(status, byte, &mut count);
    }
    // SAFETY: reading a constant exported by rsmpi's C shim.
    if count != unsafe { ffi::RSMPI_UNDEFINED } {
        return count.max(0) as usize;
    }
    let mut bytes: ffi::MPI_Count = 0;
    // SAFETY: as above; the call writes one MPI_Count.
    unsafe {
        ffi::MPI_Get_elements_x(status, byte, &mut bytes);
    }
    bytes.max(0) as usize
}

/// Values of `T` in `bytes` bytes, `None` when not a whole number of them.
#[inline]
pub(crate) fn values_in<T: Plain>(bytes: usize) -> Option<usize> {
    // A value is `PER_VALUE` elements. A number type's MPI size is its Rust size (known
    // at compile time); other elements (derived ones leave out padding) ask MPI.
    let element = match crate::wire::bulk::number_size::<T::Element>() {
        Some(size) => size,
        None => {
            let mut size: ffi::MPI_Count = 0;
            // SAFETY: the datatype handle is valid; the call writes one MPI_Count.
            unsafe {
                ffi::MPI_Type_size_x(T::Element::equivalent_datatype().as_raw(), &mut size);
            }
            size.max(0) as usize
        }
    };
    match element.checked_mul(T::PER_VALUE)? {
        0 => (bytes == 0).then_some(0),
        size => (bytes % size == 0).then_some(bytes / size),
    }
}

pub(super) fn envelope(status: &ffi::MPI_Status, bytes: usize) -> Status {
    Status {
        source: status.MPI_SOURCE as usize,
        tag: status.MPI_TAG,
        bytes,
    }
}
