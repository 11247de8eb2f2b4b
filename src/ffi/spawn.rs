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
use mpi::raw::{AsRaw, FromRaw};
use mpi::topology::SimpleCommunicator;
use mpi::traits::Equivalence;

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

/// What [`spawn`] started: the parent's end of the spawn, the merged communicator (this
/// process rank 0, the children 1..), and each child's process id as it told it (0 for
/// a child on another node).
pub(crate) struct Started {
    pub(crate) spawned: Spawned,
    pub(crate) merged: SimpleCommunicator,
    pub(crate) pids: Vec<u32>,
    /// Why fewer children than asked for started (MPI's error), when they did.
    pub(crate) short: Option<crate::Error>,
}

/// Start `count` processes of `program args` from this process alone (`MPI_COMM_SELF`)
/// with the info `keys`, and merge the new inter-communicator with this process first
/// (rank 0) and the children after it (ranks 1..); then each child tells its process id
/// (`gather_pids`, the other half of [`parent_merged`]). When only some children
/// started, they are merged and kept (they wait in the merge otherwise) and
/// [`Started::short`] says why the others did not; when none did, the
/// inter-communicator is freed. `Err` with MPI's message when MPI cannot spawn at all
/// (MPICH's ucx device); never an abort.
pub(crate) fn spawn(
    program: &Path,
    args: &[OsString],
    count: usize,
    keys: &[(&str, &str)],
) -> Result<Started> {
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
    let mut errcodes = vec![ffi::MPI_SUCCESS as i32; count as usize];
    let mut info = MaybeUninit::<ffi::MPI_Info>::uninit();
    // SAFETY: reading a predefined handle.
    let mut inter = unsafe { ffi::RSMPI_COMM_NULL };
    let mut handler = MaybeUninit::<ffi::MPI_Errhandler>::uninit();
    // SAFETY: MPI_Info_create writes one handle, MPI_Info_set copies the NUL-terminated
    // strings (alive until after the call). MPI_Comm_spawn reads `program`, the
    // NULL-terminated `argv` of live C strings (MPI does not write through them) and the
    // info, and writes one handle (which starts as MPI_COMM_NULL, so a failed call that
    // sets nothing leaves it so) and `count` error codes into buffers of that size. The
    // error handler of MPI_COMM_SELF is set to return codes for the spawn only and put
    // back after it (the user may rely on the default). The info is freed after use.
    let code = unsafe {
        check(ffi::MPI_Info_create(info.as_mut_ptr()), "MPI_Info_create")?;
        let mut info = info.assume_init();
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
            &mut inter,
            errcodes.as_mut_ptr(),
        );
        ffi::MPI_Comm_set_errhandler(ffi::RSMPI_COMM_SELF, handler);
        ffi::MPI_Errhandler_free(&mut handler);
        ffi::MPI_Info_free(&mut info);
        code
    };
    let failed = if code != ffi::MPI_SUCCESS as i32 {
        Some(super::mpi_error(code, "MPI_Comm_spawn"))
    } else {
        errcodes
            .iter()
            .find(|&&c| c != ffi::MPI_SUCCESS as i32)
            .map(|&bad| super::mpi_error(bad, "MPI_Comm_spawn (a child)"))
    };
    // SAFETY: reading a predefined handle.
    if inter == unsafe { ffi::RSMPI_COMM_NULL } {
        return Err(failed.unwrap_or_else(|| super::mpi_error(code, "MPI_Comm_spawn")));
    }
    let spawned = Spawned { inter };
    let mut started = 0;
    // SAFETY: `inter` is the live inter-communicator the spawn made; the call writes one
    // int.
    let sized = unsafe { ffi::MPI_Comm_remote_size(inter, &mut started) };
    if sized != ffi::MPI_SUCCESS as i32 || started <= 0 {
        // Nobody to merge with: free the parent's end (a disconnect waits for no one).
        let _ = spawned.disconnect();
        return Err(failed.unwrap_or_else(|| super::mpi_error(sized, "MPI_Comm_remote_size")));
    }
    let merged = merge(inter, false)?;
    let pids = gather_pids(&merged, 0)?;
    Ok(Started {
        spawned,
        merged,
        pids,
        short: failed.filter(|_| started < count),
    })
}

/// Every process of a spawn's merged communicator `merged` sends `mine` to its rank 0
/// (`MPI_Gather`): on rank 0 (the parent) the children's values in rank order, elsewhere
/// nothing. The parent's end of the spawn and each child's `parent_merged` call it once,
/// right after the merge.
fn gather_pids(merged: &SimpleCommunicator, mine: u32) -> Result<Vec<u32>> {
    use mpi::traits::Communicator as _;
    let (rank, size) = (merged.rank(), merged.size());
    let mut all = vec![0u32; if rank == 0 { size as usize } else { 0 }];
    let datatype = u32::equivalent_datatype().as_raw();
    // SAFETY: `merged` is borrowed, so live. Every process sends one u32 from `mine`; the
    // root receives one per process into `all`, which holds `size` of them (the receive
    // buffer is not read on the other processes, where it is empty and MPI gets a
    // non-null address from `mpi_address_mut`).
    let code = unsafe {
        ffi::MPI_Gather(
            (&mine as *const u32).cast(),
            1,
            datatype,
            super::mpi_address_mut(all.as_mut_ptr(), all.len()),
            1,
            datatype,
            0,
            merged.as_raw(),
        )
    };
    super::check_on(code, "MPI_Gather", super::Comm::of(merged))?;
    Ok(all.into_iter().skip(1).collect())
}

/// In a process that a parent spawned, the parent's inter-communicator merged with the
/// parent first (rank 0), after telling the parent `pid` (this process's id, or 0 on
/// another node than the parent's; the other half of [`spawn`]): `None` when there is
/// no parent.
pub(crate) fn parent_merged(pid: u32) -> Result<Option<SimpleCommunicator>> {
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
    let merged = merge(parent, true)?;
    gather_pids(&merged, pid)?;
    Ok(Some(merged))
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
