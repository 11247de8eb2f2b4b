//! The MPI calls rspar makes through `mpi::ffi` itself: the crate's only `unsafe` code.
//!
//! - [`receive_into`]: `MPI_Recv` that reports MPI's error code. Receiving straight into
//!   the caller's memory (no matched probe first) is what makes rspar's receives as fast
//!   as C's, and a message longer than the memory is then `MPI_ERR_TRUNCATE`, which
//!   rsmpi's safe calls cannot return.
//! - [`probe_wait`], [`probe_now`] and [`Matched`]: matched probes (`MPI_Mprobe`/`MPI_Improbe`) and the
//!   receive of what they matched (`MPI_Mrecv`), with sizes as 64-bit counts.
//! - [`send`] and [`OwnedSend`]: sends, the nonblocking ones from bytes the send owns
//!   together with its requests (rsmpi ties requests to a borrow scope, which an owned
//!   handle cannot express).
//! - [`broadcast`], [`reduce`], [`all_reduce`]: the buffer collectives, on the raw handle
//!   (rsmpi's `process_at_rank` asks MPI for the size on every call).
//! - [`errors_return`]: the error handler that makes MPI return codes instead of
//!   aborting, set only on rspar's private communicators.
//! - [`Plain`]: the buffer path's layout contract. User data crosses into MPI flattened:
//!   `len` values of `T` are `len * T::PER_VALUE` elements of `T::Element`'s datatype
//!   (an array of numbers is its numbers), and [`as_elements`] views a slice that way
//!   for the collectives rspar runs through rsmpi. `derived`: the datatype of a struct
//!   with `#[derive(Plain)]`.
//! - [`create_group`], [`split`], [`duplicate`]: new communicators with MPI's return
//!   code checked (rsmpi drops it and wraps whatever the handle holds).
//! - [`Handle`] and `Init::wrap_raw`: the communicators rspar holds (its own, freed
//!   unless MPI was finalized first; a host's, never freed) and a host's raw `MPI_Comm`.
//! - [`spawn`], [`parent_merged`], [`Spawned`]: the pool's workers started at run time
//!   (`MPI_Comm_spawn` with an info, `MPI_Intercomm_merge`, `MPI_Comm_disconnect`).
//! - [`quiet_abort_banner`]: Open MPI 4's `MPI_ABORT` help text left out of an abort
//!   rspar has already explained (mpirun 4.1 sometimes misreads it and prints
//!   `ORTE_ERROR_LOG` lines instead).
//!
//! Counts above `i32::MAX` elements (MPI's C `int`) travel as one element of a derived
//! datatype made for the message ([`Layout`]: blocks of 2^20 elements plus the rest), so
//! a message of any length is still one MPI message, received in place.
//!
//! One module, split by concern: handles, errors and [`Layout`] here; message sizes in
//! `status`; point-to-point calls in `p2p`; nonblocking sends in `send`; collectives in
//! `collective`; `Plain` in `plain`, derived datatypes in `derived`.
#![allow(unsafe_code)]

mod collective;
mod create;
mod derived;
mod host;
mod p2p;
mod plain;
mod process;
mod send;
mod spawn;
mod status;
#[cfg(rspar_ulfm)]
pub(crate) mod ulfm;
mod wrap;

use std::mem::MaybeUninit;

use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::Equivalence;

use crate::error::{ErrorKind, Result};

pub(crate) use collective::{all_reduce, broadcast, gather, reduce, scatter};
pub(crate) use create::{create_group, duplicate, split};
pub use derived::{Derived, Field};
pub(crate) use host::Handle;
pub(crate) use p2p::{peek_tag, probe_now, probe_wait, receive_into, send, Matched, Received};
pub use plain::Plain;
pub(crate) use plain::{as_elements, as_elements_mut, bytes_if_u8, element_count};
pub(crate) use process::{
    exit_with_queued_code, parent_pid, signal_process, signal_when_parent_dies, terminate_with,
};
pub(crate) use send::OwnedSend;
pub(crate) use spawn::{disconnect_parent, parent_merged, spawn, Spawned};
pub(crate) use status::values_in;

/// The raw handle of a communicator rspar sends on, read once (rsmpi's `as_raw` picks
/// among its kinds of handle on every call). Valid while the communicator it was read
/// from is alive: [`Communicator`](crate::Communicator) keeps both together.
#[derive(Clone, Copy, PartialEq)]
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

/// Before `MPI_Abort`: keep Open MPI's runtime (ORTE, in Open MPI up to 4.x) from sending
/// mpirun its `MPI_ABORT was invoked on rank ...` help text, by setting ORTE's own
/// `orte_execute_quiet` flag (what mpirun's `-q` sets) in this process only; rspar has
/// printed a line saying the same. mpirun 4.1 receives that text on its PMIx thread and
/// passes it to itself (`orte/mca/rml/oob/rml_oob_send.c`, send to self), scheduling the
/// text's release on its main thread before copying it: when the main thread wins, the
/// copy is of freed memory, and mpirun prints `ORTE_ERROR_LOG: Data unpack would read
/// past end of buffer` (or `Out of resource`, `Data unpack had inadequate space`) `in
/// file ../../../orte/util/show_help.c` instead of the banner, in 20-30% of aborts on a
/// busy 2-core machine. With the flag set no help text is sent, so nothing is misread.
/// The flag only silences help texts, and this process is about to end; the abort itself
/// is unchanged. No such symbol (MPICH, Open MPI 5): nothing to do.
pub(crate) fn quiet_abort_banner() {
    #[cfg(unix)]
    // SAFETY: `dlsym` reads a NUL-terminated name and returns the address of the symbol
    // or null. The symbol, where it exists, is ORTE's `bool orte_execute_quiet`
    // (`orte/runtime/orte_globals.c`), one C `_Bool`, which Rust's `bool` matches; a
    // volatile one-byte store of `true` is what mpirun's `-q` sets through an MCA
    // parameter at start-up.
    unsafe {
        let flag = libc::dlsym(libc::RTLD_DEFAULT, c"orte_execute_quiet".as_ptr());
        if !flag.is_null() {
            std::ptr::write_volatile(flag.cast::<bool>(), true);
        }
    }
}

/// Under ULFM (`fault::enabled`): end the job through its launcher, for an abort.
/// Open MPI 5.0.11 launched with `--with-ft ulfm` neither ends the job on `MPI_Abort`
/// nor tells the other ranks that the aborting one is gone (measured: 4 ranks, one
/// aborting while the others wait in an all-gather; they waited forever). So this sends
/// SIGTERM to this process's parent when it is Open MPI 5's launcher or daemon
/// (`prterun`, `mpirun`, `prted`), which ends every rank of the job; the job's exit
/// code is then the launcher's (1), not the abort's (also when the signal follows the
/// abort by 0.3 s: measured). Nothing otherwise.
pub(crate) fn end_job_through_launcher() {
    #[cfg(unix)]
    {
        // SAFETY: `getppid` has no preconditions and touches no memory.
        let parent = unsafe { libc::getppid() };
        let name = std::fs::read_to_string(format!("/proc/{parent}/comm")).unwrap_or_default();
        if parent > 1 && matches!(name.trim(), "prterun" | "mpirun" | "prted") {
            // SAFETY: `kill` sends a signal to a process id; it touches no memory of ours.
            unsafe {
                libc::kill(parent, libc::SIGTERM);
            }
        }
    }
}

/// End this process at once with `code` (`_exit`: no atexit handlers, which may call
/// into a stuck MPI), after flushing Rust's standard output.
pub(crate) fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().lock().flush();
    let _ = std::io::stderr().lock().flush();
    // SAFETY: `_exit` ends the process; it touches no memory of ours.
    unsafe { libc::_exit(code) }
}

/// The processors online on this node, whatever this process may run on: mpirun binds a
/// rank to one core (`std::thread::available_parallelism` then says 1), but the pool
/// asks how many ranks the node has cores for.
pub(crate) fn cpus_online() -> usize {
    #[cfg(unix)]
    {
        // SAFETY: `sysconf` takes a name constant and returns a value or -1; it reads no
        // memory of ours.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        if n > 0 {
            return n as usize;
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
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

/// [`check`] of a call on `comm`: a lost process (ULFM) is `ProcessFailed` naming
/// `comm`'s failed ranks (acknowledged, so receives from any source work again), or
/// `Revoked`.
#[inline]
fn check_on(code: i32, call: &'static str, comm: Comm) -> Result<()> {
    if code == ffi::MPI_SUCCESS as i32 {
        Ok(())
    } else {
        Err(mpi_error_on(code, call, comm))
    }
}

#[cold]
#[inline(never)]
fn mpi_error_on(code: i32, call: &'static str, comm: Comm) -> crate::Error {
    #[cfg(rspar_ulfm)]
    {
        let mut class = code;
        // SAFETY: MPI_Error_class writes one int.
        unsafe { ffi::MPI_Error_class(code, &mut class) };
        // The call returned the code itself: what the noting handler saw is told.
        ulfm::clear_noted();
        if ulfm::is_revoked(class) {
            note_failure();
            return ErrorKind::Revoked.into();
        }
        if ulfm::is_failure(class) {
            note_failure();
            let ranks = ulfm::failed_ranks(comm);
            // Seen: later receives from any source must not fail for it again.
            let _ = ulfm::ack_failed(comm, ranks.len());
            ulfm::clear_noted();
            return ErrorKind::ProcessFailed { ranks }.into();
        }
    }
    let _ = comm;
    mpi_error(code, call)
}

/// True once a call of this process reported a process failure (ULFM).
static FAILURE_NOTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Note that a call reported a process failure (or that every survivor agreed one
/// happened).
#[cfg_attr(not(rspar_ulfm), allow(dead_code))] // the ULFM build's
pub(crate) fn note_failure() {
    FAILURE_NOTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether a process failure has been noted in this process ([`note_failure`]).
pub(crate) fn failure_noted() -> bool {
    FAILURE_NOTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// [`check_on`] for the crate's other modules.
#[cfg_attr(not(rspar_ulfm), allow(dead_code))] // the ULFM build's
pub(crate) fn check_failure(code: i32, call: &'static str, comm: Comm) -> Result<()> {
    check_on(code, call, comm)
}

/// `MPI_Barrier` on `comm`.
pub(crate) fn barrier(comm: Comm) -> Result<()> {
    // SAFETY: `comm` is live while its owner is borrowed; the call takes the handle only.
    check_on(unsafe { ffi::MPI_Barrier(comm.0) }, "MPI_Barrier", comm)
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
    // A lost process where no communicator is at hand (a nonblocking send's request,
    // which may outlive its communicator): typed, without the ranks.
    #[cfg(rspar_ulfm)]
    if ulfm::is_revoked(class) {
        note_failure();
        return ErrorKind::Revoked.into();
    } else if ulfm::is_failure(class) {
        note_failure();
        return ErrorKind::ProcessFailed { ranks: Vec::new() }.into();
    }
    let len = (len.max(0) as usize).min(text.len());
    ErrorKind::Mpi {
        call,
        class,
        message: String::from_utf8_lossy(&text[..len]).into_owned(),
    }
    .into()
}

/// How `len` values of `T` travel in one MPI call: [`Layout::with`] hands the call a
/// count and a datatype. The values are `len * T::PER_VALUE` elements of `T::Element`
/// ([`Plain`]); up to `i32::MAX` elements that is the count and the element's own
/// datatype, with nothing to clean up (the hot path compiles to a compare); beyond, one
/// element of a datatype made for the message ([`Layout::blocks`]), freed after the call.
struct Layout {
    datatype: ffi::MPI_Datatype,
}

/// Elements per block of a [`Layout`] for long messages.
const BLOCK: usize = 1 << 20;

impl Layout {
    /// Run `call` with the count and datatype of `len` values of `T`.
    #[inline(always)]
    fn with<T: Plain, R>(len: usize, call: impl FnOnce(i32, ffi::MPI_Datatype) -> R) -> Result<R> {
        let len = element_count::<T>(len)?;
        let base = T::Element::equivalent_datatype().as_raw();
        match i32::try_from(len) {
            Ok(count) => Ok(call(count, base)),
            Err(_) => {
                let layout = Layout::blocks::<T::Element>(base, len)?;
                Ok(call(1, layout.datatype))
            }
        }
    }

    /// A datatype for more than `i32::MAX` elements: blocks of `BLOCK`, then the rest.
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
            // Owned from here on: freed on drop, also when the commit fails.
            let mut layout = Layout {
                datatype: whole.assume_init(),
            };
            check(
                ffi::MPI_Type_commit(&mut layout.datatype),
                "MPI_Type_commit",
            )?;
            Ok(layout)
        }
    }
}

impl Drop for Layout {
    fn drop(&mut self) {
        // SAFETY: a datatype made by `Layout::blocks` (committed unless the commit
        // failed; freeing is valid either way); MPI keeps it alive for operations still
        // using it (a nonblocking send, say).
        unsafe {
            ffi::MPI_Type_free(&mut self.datatype);
        }
    }
}

/// The address MPI gets for the memory of `len` values of `T` at `ptr`: `ptr`, or, for no
/// values, an aligned address that is no MPI sentinel. An empty `Vec`'s or slice's
/// pointer is `align_of::<T>()`, which for bytes is `1`: Open MPI's `MPI_IN_PLACE`, so a
/// collective on empty byte buffers read as "in place" (an invalid argument, which ended
/// the job). MPI touches no memory for zero elements, so any such address serves.
#[inline(always)]
fn mpi_address<T>(ptr: *const T, len: usize) -> *const std::ffi::c_void {
    if len == 0 {
        no_values::<T>()
    } else {
        ptr.cast()
    }
}

/// [`mpi_address`] for memory MPI writes (the pointer keeps its exclusive provenance).
#[inline(always)]
fn mpi_address_mut<T>(ptr: *mut T, len: usize) -> *mut std::ffi::c_void {
    if len == 0 {
        no_values::<T>().cast_mut()
    } else {
        ptr.cast()
    }
}

/// An address aligned for `T` (alignments are powers of two, so a multiple of 16 is
/// aligned for any of 16 or less) that is neither `MPI_BOTTOM` (0) nor `MPI_IN_PLACE`
/// (1 in Open MPI, -1 in MPICH).
#[inline(always)]
fn no_values<T>() -> *const std::ffi::c_void {
    std::mem::align_of::<T>().max(16) as *const std::ffi::c_void
}

fn request_null() -> ffi::MPI_Request {
    // SAFETY: reading an MPI constant exported by rsmpi's C shim.
    unsafe { ffi::RSMPI_REQUEST_NULL }
}
