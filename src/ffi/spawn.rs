//! Dynamic processes for the pool: `MPI_Comm_spawn` of this program with an `MPI_Info`
//! (rsmpi 0.8's `spawn` passes `MPI_INFO_NULL`, and Open MPI 4.1 spawns from a singleton
//! only with `map_by`; its failure there is fatal, as it runs on the communicator's
//! default error handler), the merge of the parent-child inter-communicator, and its
//! `MPI_Comm_disconnect` (which rsmpi offers only for a child's parent, at finalize).

use std::ffi::{CString, OsString};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use mpi::ffi;
use mpi::raw::FromRaw;
use mpi::topology::SimpleCommunicator;

use super::check;
use super::p2p::written;
use crate::error::{ErrorKind, Result};

/// The parent's end of one spawn: the inter-communicator to the children it started.
/// Disconnected by [`Spawned::disconnect`] (collective with the children, whose
/// `MPI_Finalize` disconnects their end), or left alone once MPI is finalized.
pub(crate) struct Spawned {
    inter: ffi::MPI_Comm,
}

impl Spawned {
    /// `MPI_Comm_disconnect`: waits until every child has disconnected too (each does at
    /// its `MPI_Finalize`). Nothing once MPI is finalized.
    pub(crate) fn disconnect(mut self) -> Result<()> {
        if mpi::environment::is_finalized() {
            return Ok(());
        }
        // SAFETY: `inter` is the live inter-communicator `spawn` made, disconnected once
        // (this consumes `self`); MPI sets the handle to MPI_COMM_NULL.
        let code = unsafe { ffi::MPI_Comm_disconnect(&mut self.inter) };
        check(code, "MPI_Comm_disconnect")
    }
}

fn c_string(text: &[u8], what: &str) -> Result<CString> {
    CString::new(text).map_err(|_| {
        ErrorKind::Spawn {
            reason: format!("the {what} holds a NUL byte"),
        }
        .into()
    })
}

/// Start `count` processes of `program args` from this process alone (`MPI_COMM_SELF`)
/// with the info `keys`, and merge the new inter-communicator with this process first
/// (rank 0) and the children after it (ranks 1..=count). `Err` with MPI's message when
/// MPI cannot spawn (MPICH's ucx device) or a child failed to start; never an abort.
pub(crate) fn spawn(
    program: &Path,
    args: &[OsString],
    count: usize,
    keys: &[(&str, &str)],
) -> Result<(Spawned, SimpleCommunicator)> {
    let count = i32::try_from(count).map_err(|_| ErrorKind::Spawn {
        reason: format!("{count} processes are more than MPI can spawn at once"),
    })?;
    let program = c_string(program.as_os_str().as_bytes(), "program's path")?;
    let args: Vec<CString> = args
        .iter()
        .map(|a| c_string(a.as_bytes(), "command line"))
        .collect::<Result<_>>()?;
    let mut argv: Vec<*mut std::os::raw::c_char> = args
        .iter()
        .map(|a| a.as_ptr().cast_mut())
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect();
    let keys: Vec<(CString, CString)> = keys
        .iter()
        .map(|(k, v)| {
            Ok((
                c_string(k.as_bytes(), "info key")?,
                c_string(v.as_bytes(), "info value")?,
            ))
        })
        .collect::<Result<_>>()?;
    let mut errcodes = vec![0i32; count as usize];
    let mut info = MaybeUninit::<ffi::MPI_Info>::uninit();
    let mut inter = MaybeUninit::<ffi::MPI_Comm>::uninit();
    let mut handler = MaybeUninit::<ffi::MPI_Errhandler>::uninit();
    // SAFETY: MPI_Info_create writes one handle, MPI_Info_set copies the NUL-terminated
    // strings (alive until after the call). MPI_Comm_spawn reads `program`, the
    // NULL-terminated `argv` of live C strings (MPI does not write through them) and the
    // info, and writes one handle and `count` error codes into buffers of that size. The
    // error handler of MPI_COMM_SELF is set to return codes for the spawn only and put
    // back after it (the user may rely on the default). The info is freed after use.
    // Each handle is read only after the call that writes it succeeded (`written`): a
    // failed MPI_Comm_spawn (MPICH's ucx device) leaves `inter` unwritten.
    let (code, inter) = unsafe {
        let made = ffi::MPI_Info_create(info.as_mut_ptr());
        let Some(mut info) = written(made, info) else {
            return Err(super::mpi_error(made, "MPI_Info_create"));
        };
        for (key, value) in &keys {
            ffi::MPI_Info_set(info, key.as_ptr(), value.as_ptr());
        }
        let got = ffi::MPI_Comm_get_errhandler(ffi::RSMPI_COMM_SELF, handler.as_mut_ptr());
        let Some(mut handler) = written(got, handler) else {
            ffi::MPI_Info_free(&mut info);
            return Err(super::mpi_error(got, "MPI_Comm_get_errhandler"));
        };
        ffi::MPI_Comm_set_errhandler(ffi::RSMPI_COMM_SELF, ffi::RSMPI_ERRORS_RETURN);
        let code = ffi::MPI_Comm_spawn(
            program.as_ptr(),
            argv.as_mut_ptr(),
            count,
            info,
            0,
            ffi::RSMPI_COMM_SELF,
            inter.as_mut_ptr(),
            errcodes.as_mut_ptr(),
        );
        ffi::MPI_Comm_set_errhandler(ffi::RSMPI_COMM_SELF, handler);
        ffi::MPI_Errhandler_free(&mut handler);
        ffi::MPI_Info_free(&mut info);
        (code, written(code, inter))
    };
    check(code, "MPI_Comm_spawn")?;
    let inter = inter.expect("a successful MPI_Comm_spawn writes its communicator");
    let spawned = Spawned { inter };
    if let Some(&bad) = errcodes.iter().find(|&&c| c != ffi::MPI_SUCCESS as i32) {
        // Some started, some not: the started ones wait in the merge; there is no
        // clean way back, so report it (the pool then runs without them).
        return Err(super::mpi_error(bad, "MPI_Comm_spawn (a child)"));
    }
    let merged = merge(inter, false)?;
    Ok((spawned, merged))
}

/// In a process that a parent spawned, the parent's inter-communicator merged with the
/// parent first (rank 0): `None` when there is no parent.
pub(crate) fn parent_merged() -> Result<Option<SimpleCommunicator>> {
    let mut parent = MaybeUninit::<ffi::MPI_Comm>::uninit();
    // SAFETY: MPI_Comm_get_parent writes one handle (MPI_COMM_NULL without a parent); the
    // handle is MPI's and not freed here (rsmpi disconnects it at finalize). It is read
    // only if the call succeeded.
    let got = unsafe { ffi::MPI_Comm_get_parent(parent.as_mut_ptr()) };
    // SAFETY: a successful MPI_Comm_get_parent writes the handle.
    let Some(parent) = (unsafe { written(got, parent) }) else {
        return Err(super::mpi_error(got, "MPI_Comm_get_parent"));
    };
    // SAFETY: reads a predefined handle.
    if parent == unsafe { ffi::RSMPI_COMM_NULL } {
        return Ok(None);
    }
    merge(parent, true).map(Some)
}

/// In a spawned process, before `MPI_Finalize`: `MPI_Comm_disconnect` of the parent's
/// inter-communicator (collective with the parent's [`Spawned::disconnect`]). Done here
/// because rsmpi 0.8's finalize disconnects it twice (its `parent()` wraps the handle as
/// an inter-communicator that disconnects on drop, and `disconnect_parent` wraps it once
/// more), which crashed Open MPI 4.1; afterwards `MPI_Comm_get_parent` returns
/// `MPI_COMM_NULL` and rsmpi does nothing.
pub(crate) fn disconnect_parent() -> Result<()> {
    if mpi::environment::is_finalized() {
        return Ok(());
    }
    let mut parent = MaybeUninit::<ffi::MPI_Comm>::uninit();
    // SAFETY: MPI_Comm_get_parent writes one handle; when it is not MPI_COMM_NULL it is
    // the live parent inter-communicator, disconnected once here (MPI then returns
    // MPI_COMM_NULL for the parent). It is read only if the call succeeded.
    unsafe {
        let got = ffi::MPI_Comm_get_parent(parent.as_mut_ptr());
        let Some(mut parent) = written(got, parent) else {
            return check(got, "MPI_Comm_get_parent");
        };
        if parent == ffi::RSMPI_COMM_NULL {
            return Ok(());
        }
        check(ffi::MPI_Comm_disconnect(&mut parent), "MPI_Comm_disconnect")
    }
}

/// `MPI_Intercomm_merge` of a live inter-communicator: this side after the other when
/// `high`.
fn merge(inter: ffi::MPI_Comm, high: bool) -> Result<SimpleCommunicator> {
    let mut merged = MaybeUninit::<ffi::MPI_Comm>::uninit();
    // SAFETY: `inter` is a live inter-communicator (from MPI_Comm_spawn or
    // MPI_Comm_get_parent); the call writes one new handle, owned from now on by the
    // returned SimpleCommunicator (an intra-communicator, freed when it drops).
    unsafe {
        check(
            ffi::MPI_Intercomm_merge(inter, i32::from(high), merged.as_mut_ptr()),
            "MPI_Intercomm_merge",
        )?;
        Ok(SimpleCommunicator::from_raw(merged.assume_init()))
    }
}
