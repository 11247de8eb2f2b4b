//! The MPI calls rspar makes through `mpi::ffi` itself: the crate's only `unsafe` code.
//!
//! - [`receive_into`]: `MPI_Recv` that reports MPI's error code. Receiving straight into
//!   the caller's memory (no matched probe first) is what makes rspar's receives as fast
//!   as C's, and a message longer than the memory is then `MPI_ERR_TRUNCATE`, which
//!   rsmpi's safe calls cannot return.
//! - [`probe`] and [`Matched`]: matched probes (`MPI_Mprobe`/`MPI_Improbe`) and the
//!   receive of what they matched (`MPI_Mrecv`), with sizes as 64-bit counts.
//! - [`send`], [`isend`], [`test`], [`wait`]: sends, the nonblocking ones from a buffer
//!   owned by a handle (rsmpi ties requests to a borrow scope, which an owned handle
//!   cannot express).
//! - [`errors_return`]: the error handler that makes MPI return codes instead of
//!   aborting, set only on rspar's private communicators.
//!
//! Counts above `i32::MAX` elements (MPI's C `int`) travel as one element of a derived
//! datatype made for the message ([`Layout`]: blocks of 2^20 elements plus the rest), so
//! a message of any length is still one MPI message, received in place.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::Equivalence;

use crate::envelope::Status;
use crate::error::{ErrorKind, Result};

/// The raw handle of a communicator rspar sends on, read once (rsmpi's `as_raw` picks
/// among its kinds of handle on every call). Valid while the communicator it was read
/// from is alive: [`Communicator`](crate::Communicator) keeps both together.
#[derive(Clone, Copy)]
pub(crate) struct Comm(ffi::MPI_Comm);

impl Comm {
    pub(crate) fn of(comm: &SimpleCommunicator) -> Comm {
        Comm(comm.as_raw())
    }
}

/// Make MPI return error codes for calls on `comm` instead of aborting the job.
pub(crate) fn errors_return(comm: &SimpleCommunicator) {
    // SAFETY: `comm` is a valid communicator handle (borrowed, so alive) and
    // MPI_ERRORS_RETURN is a predefined handler; the call changes only `comm`'s handler.
    unsafe {
        ffi::MPI_Comm_set_errhandler(comm.as_raw(), ffi::RSMPI_ERRORS_RETURN);
    }
}

/// `Ok` for `MPI_SUCCESS`, else the error with MPI's class and text.
#[inline]
fn check(code: i32, call: &'static str) -> Result<()> {
    if code == ffi::MPI_SUCCESS as i32 {
        Ok(())
    } else {
        Err(mpi_error(code, call))
    }
}

#[cold]
#[inline(never)]
fn mpi_error(code: i32, call: &'static str) -> crate::Error {
    let mut class = code;
    let mut text = [0u8; ffi::MPI_MAX_ERROR_STRING as usize + 1];
    let mut len = 0;
    // SAFETY: MPI_Error_class writes one int; MPI_Error_string writes at most
    // MPI_MAX_ERROR_STRING chars and their length into the buffers given.
    unsafe {
        ffi::MPI_Error_class(code, &mut class);
        ffi::MPI_Error_string(code, text.as_mut_ptr().cast(), &mut len);
    }
    let len = (len.max(0) as usize).min(text.len());
    ErrorKind::Mpi {
        call,
        class,
        message: String::from_utf8_lossy(&text[..len]).into_owned(),
    }
    .into()
}

/// The datatype and count that describe `len` elements of `T` in one MPI call.
struct Layout {
    count: i32,
    datatype: ffi::MPI_Datatype,
    /// True for a datatype made here, freed on drop.
    owned: bool,
}

/// Elements per block of a [`Layout`] for long messages.
const BLOCK: usize = 1 << 20;

impl Layout {
    #[inline]
    fn of<T: Equivalence>(len: usize) -> Result<Layout> {
        let base = T::equivalent_datatype().as_raw();
        match i32::try_from(len) {
            Ok(count) => Ok(Layout {
                count,
                datatype: base,
                owned: false,
            }),
            Err(_) => Layout::blocks::<T>(base, len),
        }
    }

    /// A layout of more than `i32::MAX` elements: a datatype made for it.
    #[cold]
    #[inline(never)]
    fn blocks<T: Equivalence>(base: ffi::MPI_Datatype, len: usize) -> Result<Layout> {
        let (blocks, rest) = (len / BLOCK, len % BLOCK);
        let too_large = || ErrorKind::TooLarge {
            bytes: (len as u64).saturating_mul(std::mem::size_of::<T>() as u64),
            max: (i32::MAX as u64) * (BLOCK * std::mem::size_of::<T>()) as u64,
        };
        let blocks = i32::try_from(blocks).map_err(|_| too_large())?;
        let mut extent = 0;
        let mut lower = 0;
        let mut block = MaybeUninit::<ffi::MPI_Datatype>::uninit();
        let mut whole = MaybeUninit::<ffi::MPI_Datatype>::uninit();
        // SAFETY: the calls read the handles and arrays given and write the new datatype
        // handles into `block` and `whole` (checked before they are read); `block` is
        // freed once `whole` (which keeps its own reference) has been built from it.
        unsafe {
            check(
                ffi::MPI_Type_get_extent_x(base, &mut lower, &mut extent),
                "MPI_Type_get_extent_x",
            )?;
            check(
                ffi::MPI_Type_contiguous(BLOCK as i32, base, block.as_mut_ptr()),
                "MPI_Type_contiguous",
            )?;
            let mut block = block.assume_init();
            let lengths = [blocks, rest as i32];
            // MPI_Aint is `isize` in Open MPI's header and `i64` in MPICH's.
            let offsets: [ffi::MPI_Aint; 2] = [
                0,
                (blocks as ffi::MPI_Aint) * (BLOCK as ffi::MPI_Aint) * extent as ffi::MPI_Aint,
            ];
            let types = [block, base];
            let made = ffi::MPI_Type_create_struct(
                2,
                lengths.as_ptr(),
                offsets.as_ptr(),
                types.as_ptr(),
                whole.as_mut_ptr(),
            );
            ffi::MPI_Type_free(&mut block);
            check(made, "MPI_Type_create_struct")?;
            let mut whole = whole.assume_init();
            check(ffi::MPI_Type_commit(&mut whole), "MPI_Type_commit")?;
            Ok(Layout {
                count: 1,
                datatype: whole,
                owned: true,
            })
        }
    }
}

impl Drop for Layout {
    #[inline]
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: a committed datatype made by `Layout::of`; MPI keeps it alive for
            // operations still using it.
            unsafe {
                ffi::MPI_Type_free(&mut self.datatype);
            }
        }
    }
}

/// Bytes in the message a status describes (64-bit, any size). Read from the status
/// itself where the build found which fields hold it (`build.rs`): that saves a call to
/// `MPI_Get_count` on every receive. Debug builds check the two agree.
#[inline]
fn status_bytes(status: &ffi::MPI_Status) -> usize {
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

/// Elements of `T` in `bytes` bytes, `None` when not a whole number of them.
#[inline]
pub(crate) fn elements<T: Equivalence>(bytes: usize) -> Option<usize> {
    // A number type's MPI size is its Rust size (known at compile time); other types
    // (derived ones may leave out padding) ask MPI.
    if let Some(size) = crate::wire::bulk::number_size::<T>() {
        return (bytes % size == 0).then_some(bytes / size);
    }
    let mut size: ffi::MPI_Count = 0;
    // SAFETY: the datatype handle is valid; the call writes one MPI_Count.
    unsafe {
        ffi::MPI_Type_size_x(T::equivalent_datatype().as_raw(), &mut size);
    }
    match size.max(0) as usize {
        0 => (bytes == 0).then_some(0),
        size => (bytes % size == 0).then_some(bytes / size),
    }
}

fn envelope(status: &ffi::MPI_Status, bytes: usize) -> Status {
    Status {
        source: status.MPI_SOURCE as usize,
        tag: status.MPI_TAG,
        bytes,
    }
}

#[inline]
fn any_source(source: Option<usize>) -> i32 {
    // SAFETY: reading a constant exported by rsmpi's C shim.
    source.map_or(unsafe { ffi::RSMPI_ANY_SOURCE }, |s| s as i32)
}

#[inline]
fn any_tag(tag: Option<i32>) -> i32 {
    // SAFETY: reading a constant exported by rsmpi's C shim.
    tag.unwrap_or(unsafe { ffi::RSMPI_ANY_TAG })
}

/// What a direct receive found.
pub(crate) enum Received {
    /// A message fitted: its envelope (its length in elements is [`elements`] of its
    /// bytes).
    Message { status: Status },
    /// A message longer than the buffer: MPI filled the buffer and discarded the rest.
    Overflow,
}

/// `MPI_Recv` into `buf` from `source` with `tag` (`None` = any) on `comm`, whose
/// error handler must be [`errors_return`].
#[inline]
pub(crate) fn receive_into<T: Equivalence>(
    comm: Comm,
    buf: &mut [T],
    source: Option<usize>,
    tag: Option<i32>,
) -> Result<Received> {
    let layout = Layout::of::<T>(buf.len())?;
    let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
    // SAFETY: `buf` is exclusively borrowed memory of `buf.len()` elements of `T`, which
    // `layout` describes, so MPI writes at most that many; the handles are valid while
    // borrowed; `status` is written by MPI_Recv before it returns (also on error, as the
    // communicator returns errors).
    let (code, status) = unsafe {
        let code = ffi::MPI_Recv(
            buf.as_mut_ptr().cast(),
            layout.count,
            layout.datatype,
            any_source(source),
            any_tag(tag),
            comm.0,
            status.as_mut_ptr(),
        );
        (code, status.assume_init())
    };
    if let Err(err) = check(code, "MPI_Recv") {
        if let ErrorKind::Mpi { class, .. } = err.kind() {
            if *class == ffi::MPI_ERR_TRUNCATE as i32 {
                return Ok(Received::Overflow);
            }
        }
        return Err(err);
    }
    let bytes = status_bytes(&status);
    Ok(Received::Message {
        status: envelope(&status, bytes),
    })
}

/// A message MPI has matched for this process and not yet received. Dropping it
/// receives and discards it (MPI requires matched messages to be received).
pub(crate) struct Matched {
    message: ffi::MPI_Message,
    status: ffi::MPI_Status,
    bytes: usize,
}

impl Matched {
    /// Its envelope.
    pub(crate) fn status(&self) -> Status {
        envelope(&self.status, self.bytes)
    }

    /// Its length in elements of `T`, `None` when not a whole number of them.
    pub(crate) fn count<T: Equivalence>(&self) -> Option<usize> {
        elements::<T>(self.bytes)
    }

    /// Receive it into `buf`, which must hold exactly its elements (callers check with
    /// [`Matched::count`]).
    pub(crate) fn receive_into<T: Equivalence>(mut self, buf: &mut [T]) -> Result<()> {
        debug_assert_eq!(self.count::<T>(), Some(buf.len()));
        // SAFETY: `buf` is exclusively borrowed memory of `buf.len()` elements.
        unsafe { self.receive_raw::<T>(buf.as_mut_ptr(), buf.len()) }
    }

    /// Receive it as a new `Vec` of `T` (it must be a whole number of them).
    pub(crate) fn receive_vec<T: Equivalence>(mut self) -> Result<Vec<T>> {
        let len = self.count::<T>().unwrap_or(0);
        let mut vec = Vec::<T>::with_capacity(len);
        // SAFETY: `vec` has room for `len` elements, the message's exact length.
        unsafe { self.receive_raw::<T>(vec.as_mut_ptr(), len)? };
        // SAFETY: MPI_Mrecv succeeded, so it wrote all `len` elements.
        unsafe { vec.set_len(len) };
        Ok(vec)
    }

    /// Receive its bytes as a new `Vec` of `len` plain elements of `E`: it must be
    /// exactly `len * size_of::<E>()` bytes (callers check).
    pub(crate) fn receive_elements<E: bytemuck::Pod>(mut self, len: usize) -> Result<Vec<E>> {
        let bytes = len * std::mem::size_of::<E>();
        debug_assert_eq!(self.bytes, bytes);
        let mut vec = Vec::<E>::with_capacity(len);
        // SAFETY: `vec` has room for `len` elements, which are the message's `bytes`
        // bytes exactly.
        unsafe { self.receive_raw::<u8>(vec.as_mut_ptr().cast(), bytes)? };
        // SAFETY: MPI_Mrecv succeeded, so it wrote all `len` elements, and any bytes
        // are a valid `E` (`Pod`).
        unsafe { vec.set_len(len) };
        Ok(vec)
    }

    /// `MPI_Mrecv` of this message into `len` elements of `T` at `buf`. The message is
    /// received (and null) afterwards, also when MPI reports an error.
    ///
    /// # Safety
    /// `buf` must be valid for writes of `len` elements of `T`, and `len` must be the
    /// message's length in elements (MPI writes that many).
    unsafe fn receive_raw<T: Equivalence>(&mut self, buf: *mut T, len: usize) -> Result<()> {
        let layout = Layout::of::<T>(len);
        // SAFETY: reading a constant exported by rsmpi's C shim.
        let null = unsafe { ffi::RSMPI_MESSAGE_NULL };
        let layout = match layout {
            Ok(layout) => layout,
            Err(err) => {
                self.message = null;
                return Err(err);
            }
        };
        // SAFETY: the caller guarantees `buf`; `self.message` is a matched, unreceived
        // message, which MPI_Mrecv receives and sets to MPI_MESSAGE_NULL.
        let code = unsafe {
            ffi::MPI_Mrecv(
                buf.cast(),
                layout.count,
                layout.datatype,
                &mut self.message,
                ffi::RSMPI_STATUS_IGNORE,
            )
        };
        self.message = null;
        check(code, "MPI_Mrecv")
    }
}

impl Drop for Matched {
    fn drop(&mut self) {
        // SAFETY: reading a constant exported by rsmpi's C shim.
        if self.message != unsafe { ffi::RSMPI_MESSAGE_NULL } {
            let mut sink = vec![0u8; self.bytes];
            // SAFETY: `sink` holds the message's `bytes` bytes.
            let _ = unsafe { self.receive_raw::<u8>(sink.as_mut_ptr(), sink.len()) };
        }
    }
}

/// A matched probe on `comm` for `source` and `tag` (`None` = any): `MPI_Mprobe` when
/// `blocking`, else `MPI_Improbe` (`Ok(None)`: nothing there yet).
pub(crate) fn probe(
    comm: Comm,
    source: Option<usize>,
    tag: Option<i32>,
    blocking: bool,
) -> Result<Option<Matched>> {
    let (source, tag) = (any_source(source), any_tag(tag));
    let mut message = MaybeUninit::<ffi::MPI_Message>::uninit();
    let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
    let mut found = 1;
    // SAFETY: the handles are valid while borrowed; the calls write `message`, `status`
    // and `found`; `message` and `status` are read only when a message was found.
    unsafe {
        let code = if blocking {
            ffi::MPI_Mprobe(
                source,
                tag,
                comm.0,
                message.as_mut_ptr(),
                status.as_mut_ptr(),
            )
        } else {
            ffi::MPI_Improbe(
                source,
                tag,
                comm.0,
                &mut found,
                message.as_mut_ptr(),
                status.as_mut_ptr(),
            )
        };
        check(
            code,
            if blocking {
                "MPI_Mprobe"
            } else {
                "MPI_Improbe"
            },
        )?;
        if found == 0 {
            return Ok(None);
        }
        let status = status.assume_init();
        Ok(Some(Matched {
            message: message.assume_init(),
            bytes: status_bytes(&status),
            status,
        }))
    }
}

/// `MPI_Send` of `buf` to `dest` (a valid rank: callers check) with `tag` on `comm`.
#[inline]
pub(crate) fn send<T: Equivalence>(comm: Comm, buf: &[T], dest: i32, tag: i32) -> Result<()> {
    let layout = Layout::of::<T>(buf.len())?;
    // SAFETY: `buf` is borrowed memory of `buf.len()` elements of `T`, which `layout`
    // describes; MPI only reads it, and is done with it when MPI_Send returns.
    let code = unsafe {
        ffi::MPI_Send(
            buf.as_ptr().cast(),
            layout.count,
            layout.datatype,
            dest,
            tag,
            comm.0,
        )
    };
    check(code, "MPI_Send")
}

/// Post `MPI_Isend` of `bytes` on `comm`. The caller keeps `bytes` alive and unmoved
/// until [`test`] or [`wait`] has completed the request.
pub(crate) fn isend(comm: Comm, bytes: &[u8], dest: i32, tag: i32) -> Result<ffi::MPI_Request> {
    let layout = Layout::of::<u8>(bytes.len())?;
    let mut request: ffi::MPI_Request = request_null();
    // SAFETY: `bytes` is a live buffer of `bytes.len()` bytes; the caller stores it next
    // to the request and frees it only after MPI_Wait/MPI_Test has completed the request.
    // The handles are valid while MPI is up (MPI keeps a freed datatype alive for the
    // operations that use it).
    let code = unsafe {
        ffi::MPI_Isend(
            bytes.as_ptr().cast(),
            layout.count,
            layout.datatype,
            dest,
            tag,
            comm.0,
            &mut request,
        )
    };
    check(code, "MPI_Isend").map(|()| request)
}

/// `MPI_Test`: true (and the request is null) once it has completed.
pub(crate) fn test(request: &mut ffi::MPI_Request) -> Result<bool> {
    let mut flag = 0;
    // SAFETY: `request` is an active request from `isend` whose buffer is still alive;
    // MPI_Test sets it to MPI_REQUEST_NULL when it completes.
    let code = unsafe { ffi::MPI_Test(request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
    check(code, "MPI_Test").map(|()| flag != 0)
}

/// `MPI_Wait`: block until the request has completed; MPI no longer reads its buffer.
pub(crate) fn wait(request: &mut ffi::MPI_Request) -> Result<()> {
    // SAFETY: as in `test`.
    let code = unsafe { ffi::MPI_Wait(request, ffi::RSMPI_STATUS_IGNORE) };
    check(code, "MPI_Wait")
}

fn request_null() -> ffi::MPI_Request {
    // SAFETY: reading an MPI constant exported by rsmpi's C shim.
    unsafe { ffi::RSMPI_REQUEST_NULL }
}
