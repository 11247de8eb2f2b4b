//! Point-to-point calls: receives (direct and matched), sends, nonblocking sends.

use std::mem::MaybeUninit;

use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::traits::Equivalence;

use super::status::{envelope, status_bytes, values_in};
use super::{check, check_on, Comm, Layout, Plain};
use crate::envelope::Status;
use crate::error::{ErrorKind, Result};

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
    /// A message fitted: its envelope (its length in values is [`values_in`] of its
    /// bytes).
    Message { status: Status },
    /// A message longer than the buffer: MPI filled the buffer and discarded the rest.
    Overflow,
}

/// The value an MPI call wrote into `out`, when its return `code` is `MPI_SUCCESS`;
/// `None`, with nothing read, on any error (a failed call may have written part of it,
/// or none).
///
/// # Safety
///
/// The call that returned `code` must have written a whole valid `T` into `out`
/// whenever it returned `MPI_SUCCESS`.
#[inline(always)]
pub(crate) unsafe fn written<T>(code: i32, out: MaybeUninit<T>) -> Option<T> {
    if code == ffi::MPI_SUCCESS as i32 {
        // SAFETY: the call succeeded, so (the caller's promise) it wrote a whole `T`.
        Some(unsafe { out.assume_init() })
    } else {
        None
    }
}

/// `MPI_Recv` into `buf` from `source` with `tag` (`None` = any) on `comm`, whose
/// error handler must be [`errors_return`](super::errors_return).
#[inline]
pub(crate) fn receive_into<T: Plain>(
    comm: Comm,
    buf: &mut [T],
    source: Option<usize>,
    tag: Option<i32>,
) -> Result<Received> {
    let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
    let len = buf.len();
    let recv = |count, datatype| {
        // SAFETY: `buf` is exclusively borrowed memory of `buf.len()` values of `T`,
        // which `count` and `datatype` describe (`Layout::with`), so MPI writes at most that many; the
        // handles are valid while borrowed; MPI_Recv writes `status` before it returns.
        unsafe {
            ffi::MPI_Recv(
                buf.as_mut_ptr().cast(),
                count,
                datatype,
                any_source(source),
                any_tag(tag),
                comm.0,
                status.as_mut_ptr(),
            )
        }
    };
    let code = Layout::with::<T, _>(len, recv)?;
    // SAFETY: a successful MPI_Recv writes the whole status. (On an error it may write
    // part of it, or none: Open MPI's MPI_Recv under fault tolerance returns early. It
    // is not read then.)
    let Some(status) = (unsafe { written(code, status) }) else {
        let err = super::mpi_error_on(code, "MPI_Recv", comm);
        if let ErrorKind::Mpi { class, .. } = err.kind() {
            if *class == ffi::MPI_ERR_TRUNCATE as i32 {
                return Ok(Received::Overflow);
            }
        }
        return Err(err);
    };
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

    /// Its length in values of `T`, `None` when not a whole number of them.
    pub(crate) fn count<T: Plain>(&self) -> Option<usize> {
        values_in::<T>(self.bytes)
    }

    /// Receive it into `buf`, which must hold exactly its elements (callers check with
    /// [`Matched::count`]).
    pub(crate) fn receive_into<T: Plain>(mut self, buf: &mut [T]) -> Result<()> {
        debug_assert_eq!(self.count::<T>(), Some(buf.len()));
        // SAFETY: `buf` is exclusively borrowed memory of `buf.len()` elements.
        unsafe { self.receive_raw::<T>(buf.as_mut_ptr(), buf.len()) }
    }

    /// Receive it as a new `Vec` of `T` (it must be a whole number of them).
    pub(crate) fn receive_vec<T: Plain>(mut self) -> Result<Vec<T>> {
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
    /// A message of any other size is `Err(Decode)`, and is consumed (discarded).
    pub(crate) fn receive_elements<E: bytemuck::Pod>(mut self, len: usize) -> Result<Vec<E>> {
        let size = std::mem::size_of::<E>();
        let bytes = match len.checked_mul(size) {
            Some(bytes) if bytes == self.bytes => bytes,
            _ => {
                return Err(ErrorKind::Decode {
                    reason: format!(
                        "a message of {} bytes is not {len} elements of {size} bytes",
                        self.bytes
                    ),
                }
                .into())
            }
        };
        let mut vec = Vec::<E>::with_capacity(len);
        // SAFETY: `vec` has room for `len` elements, which are the message's `bytes`
        // bytes exactly.
        unsafe { self.receive_raw::<u8>(vec.as_mut_ptr().cast(), bytes)? };
        // SAFETY: MPI_Mrecv succeeded, so it wrote all `len` elements (the message is
        // exactly their `bytes`, checked above), and any bytes are a valid `E` (`Pod`).
        unsafe { vec.set_len(len) };
        Ok(vec)
    }

    /// `MPI_Mrecv` of this message into `len` elements of `T` at `buf`. The message is
    /// received (and null) afterwards, also when MPI reports an error.
    ///
    /// # Safety
    /// `buf` must be valid for writes of `len` elements of `T`. MPI writes at most that
    /// many (a longer message fills them and is `MPI_ERR_TRUNCATE`); callers that read
    /// `len` elements back must know the message is exactly that long.
    unsafe fn receive_raw<T: Plain>(&mut self, buf: *mut T, len: usize) -> Result<()> {
        // SAFETY: reading a constant exported by rsmpi's C shim.
        let null = unsafe { ffi::RSMPI_MESSAGE_NULL };
        let message = &mut self.message;
        let mrecv = |count, datatype| {
            // SAFETY: the caller guarantees `buf` for `len` elements, which `count` and
            // `datatype` describe; `message` is a matched, unreceived message, which
            // MPI_Mrecv receives and sets to MPI_MESSAGE_NULL.
            unsafe {
                ffi::MPI_Mrecv(
                    buf.cast(),
                    count,
                    datatype,
                    message,
                    ffi::RSMPI_STATUS_IGNORE,
                )
            }
        };
        let code = Layout::with::<T, _>(len, mrecv);
        // Received, or (when no datatype could describe it) never to be: either way not
        // to be received again on drop.
        self.message = null;
        check(code?, "MPI_Mrecv")
    }
}

impl Drop for Matched {
    fn drop(&mut self) {
        // SAFETY: reading a constant exported by rsmpi's C shim.
        // (After a host finalized MPI, a matched message cannot be received any more.)
        if self.message != unsafe { ffi::RSMPI_MESSAGE_NULL } && !mpi::environment::is_finalized() {
            self.discard();
        }
    }
}

/// The sink a discarded message is received into, block after block.
const SINK: usize = 64 * 1024;

impl Matched {
    /// Receive the message into one `SINK`-byte block, over and over: a datatype of
    /// `SINK` bytes whose extent is 0, repeated as often as the message needs, so a huge
    /// message costs no memory of its size to throw away. Not a truncated receive into
    /// nothing: MPICH 4.0 aborts the job on a truncated `MPI_Mrecv`, and Open MPI 4's
    /// single-copy transport wrote past the buffer of one. (The standard calls a receive
    /// datatype whose entries overlap erroneous; both MPIs write its blocks in turn, as
    /// measured with Open MPI 4.1, with and without single copy, and MPICH 4.0, up to
    /// 256 MiB. The bytes are thrown away, so their order does not matter.)
    fn discard(&mut self) {
        let mut sink = vec![0u8; SINK.min(self.bytes.max(1))];
        let blocks = self.bytes.div_ceil(sink.len());
        let Ok(count) = i32::try_from(blocks) else {
            return; // More than 2^31 blocks (128 TiB): left matched, as MPI allows.
        };
        let byte = u8::equivalent_datatype().as_raw();
        let mut block = MaybeUninit::<ffi::MPI_Datatype>::uninit();
        let mut repeated = MaybeUninit::<ffi::MPI_Datatype>::uninit();
        // SAFETY: the type calls write new handles into `block` and `repeated`, read only
        // after they succeeded, and both are freed here (MPI keeps what a pending
        // operation uses). Every block of `repeated` lies in `sink`'s `sink.len()` bytes
        // (extent 0: each block starts at `sink`), so MPI_Mrecv writes only there;
        // `message` is matched and unreceived, and MPI_Mrecv sets it to
        // MPI_MESSAGE_NULL.
        unsafe {
            let made = ffi::MPI_Type_contiguous(sink.len() as i32, byte, block.as_mut_ptr());
            let Some(mut block) = written(made, block) else {
                return;
            };
            let made = ffi::MPI_Type_create_resized(block, 0, 0, repeated.as_mut_ptr());
            ffi::MPI_Type_free(&mut block);
            let Some(mut repeated) = written(made, repeated) else {
                return;
            };
            if ffi::MPI_Type_commit(&mut repeated) == 0 {
                ffi::MPI_Mrecv(
                    sink.as_mut_ptr().cast(),
                    count,
                    repeated,
                    &mut self.message,
                    ffi::RSMPI_STATUS_IGNORE,
                );
            }
            ffi::MPI_Type_free(&mut repeated);
        }
    }
}

/// A matched probe on `comm` for `source` and `tag` (`None` = any) that waits for its
/// message (`MPI_Mprobe`).
pub(crate) fn probe_wait(comm: Comm, source: Option<usize>, tag: Option<i32>) -> Result<Matched> {
    let (source, tag) = (any_source(source), any_tag(tag));
    let mut message = MaybeUninit::<ffi::MPI_Message>::uninit();
    let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
    // SAFETY: the handles are valid while borrowed; the call writes `message` and
    // `status`, which are read only after it succeeded.
    unsafe {
        let code = ffi::MPI_Mprobe(
            source,
            tag,
            comm.0,
            message.as_mut_ptr(),
            status.as_mut_ptr(),
        );
        check_on(code, "MPI_Mprobe", comm)?;
        Ok(matched(message.assume_init(), status.assume_init()))
    }
}

/// A matched probe on `comm` for `source` and `tag` (`None` = any) that does not wait
/// (`MPI_Improbe`): `Ok(None)` when nothing is there yet.
pub(crate) fn probe_now(
    comm: Comm,
    source: Option<usize>,
    tag: Option<i32>,
) -> Result<Option<Matched>> {
    let (source, tag) = (any_source(source), any_tag(tag));
    let mut message = MaybeUninit::<ffi::MPI_Message>::uninit();
    let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
    let mut found = 0;
    // SAFETY: the handles are valid while borrowed; the call writes `message`, `status`
    // and `found`; `message` and `status` are read only when a message was found.
    unsafe {
        let code = ffi::MPI_Improbe(
            source,
            tag,
            comm.0,
            &mut found,
            message.as_mut_ptr(),
            status.as_mut_ptr(),
        );
        check_on(code, "MPI_Improbe", comm)?;
        if found == 0 {
            return Ok(None);
        }
        Ok(Some(matched(message.assume_init(), status.assume_init())))
    }
}

/// The tag of the oldest message MPI holds on `comm` from `source` (a valid rank), any
/// tag, without matching it (`MPI_Iprobe`): `Ok(None)` when there is none yet.
pub(crate) fn peek_tag(comm: Comm, source: usize) -> Result<Option<i32>> {
    let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
    let mut found = 0;
    // SAFETY: the handle is valid while borrowed; the call writes `found` and `status`,
    // which is read only when a message was found.
    unsafe {
        let code = ffi::MPI_Iprobe(
            source as i32,
            any_tag(None),
            comm.0,
            &mut found,
            status.as_mut_ptr(),
        );
        check_on(code, "MPI_Iprobe", comm)?;
        if found == 0 {
            return Ok(None);
        }
        Ok(Some(status.assume_init().MPI_TAG))
    }
}

#[inline]
fn matched(message: ffi::MPI_Message, status: ffi::MPI_Status) -> Matched {
    Matched {
        message,
        bytes: status_bytes(&status),
        status,
    }
}

/// `MPI_Send` of `buf` to `dest` (a valid rank: callers check) with `tag` on `comm`.
#[inline]
pub(crate) fn send<T: Plain>(comm: Comm, buf: &[T], dest: i32, tag: i32) -> Result<()> {
    let code = Layout::with::<T, _>(buf.len(), |count, datatype| {
        // SAFETY: `buf` is borrowed memory of `buf.len()` values of `T`, which `count`
        // and `datatype` describe (`Layout::with`); MPI only reads it, and is done with it when MPI_Send
        // returns.
        unsafe { ffi::MPI_Send(buf.as_ptr().cast(), count, datatype, dest, tag, comm.0) }
    })?;
    check_on(code, "MPI_Send", comm)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call that fails writes nothing, or part of its value: nothing is read (under
    /// miri, reading it would be undefined behaviour, caught). No MPI here.
    #[test]
    fn a_failed_call_s_output_is_never_read() {
        let status = MaybeUninit::<ffi::MPI_Status>::uninit();
        // SAFETY: the code is an error: `written` must not read `status`.
        assert!(unsafe { written(ffi::MPI_ERR_OTHER as i32, status) }.is_none());
        let mut half = MaybeUninit::<[u64; 2]>::uninit();
        // Part of it written, as a failed MPI_Recv may (Open MPI under fault tolerance).
        // SAFETY: the first element is in bounds of `half`.
        unsafe { half.as_mut_ptr().cast::<u64>().write(7) };
        // SAFETY: as above.
        assert!(unsafe { written(ffi::MPI_ERR_TRUNCATE as i32, half) }.is_none());
        let mut whole = MaybeUninit::<u64>::uninit();
        whole.write(42);
        // SAFETY: success, and `whole` was written.
        assert_eq!(unsafe { written(ffi::MPI_SUCCESS as i32, whole) }, Some(42));
    }
}
