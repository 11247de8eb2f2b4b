//! New communicators with MPI's return codes checked. rsmpi 0.8's `split_by_subgroup`,
//! `split_by_color` and `duplicate` drop the code and wrap whatever the handle holds:
//! where the communicator's error handler returns errors (a spawn's merged
//! communicator, which inherits the handler the spawn ran under, or any communicator
//! under ULFM), a failed call became an uninitialised handle and the next call on it a
//! crash (`PMPI_Comm_get_errhandler`, measured under Open MPI 5.0.11). Here a failed
//! call is an `Err` (`ProcessFailed` for a lost process), never a handle.

use std::mem::MaybeUninit;

use mpi::ffi;
use mpi::raw::{AsRaw, FromRaw};
use mpi::topology::SimpleCommunicator;

use super::{check, check_on, Comm};
use crate::error::{ErrorKind, Result};

/// `MPI_Comm_create_group` over ranks `ranks` of `comm` (in that order; all of them when
/// `None`), with `tag` telling concurrent calls apart: collective over those ranks only.
/// `Ok(None)` on a process outside the group (MPI gives it `MPI_COMM_NULL`).
pub(crate) fn create_group(
    comm: &SimpleCommunicator,
    ranks: Option<&[i32]>,
    tag: i32,
) -> Result<Option<SimpleCommunicator>> {
    let mut whole = MaybeUninit::<ffi::MPI_Group>::uninit();
    // SAFETY: `comm` is borrowed, so live; MPI_Comm_group writes one group handle, read
    // only after the call succeeded and freed below.
    let mut whole = unsafe {
        check(
            ffi::MPI_Comm_group(comm.as_raw(), whole.as_mut_ptr()),
            "MPI_Comm_group",
        )?;
        whole.assume_init()
    };
    let group = match ranks {
        None => Ok(whole),
        Some(ranks) => {
            let mut part = MaybeUninit::<ffi::MPI_Group>::uninit();
            let count = i32::try_from(ranks.len()).unwrap_or(i32::MAX);
            // SAFETY: MPI_Group_incl reads `count` ranks from the slice (that long) and
            // writes one group handle, read only after it succeeded (freed below). The
            // whole group is freed once the part is made (the part keeps what it needs).
            unsafe {
                let code = ffi::MPI_Group_incl(whole, count, ranks.as_ptr(), part.as_mut_ptr());
                ffi::MPI_Group_free(&mut whole);
                check(code, "MPI_Group_incl").map(|()| part.assume_init())
            }
        }
    };
    let mut group = group?;
    // SAFETY: reading a predefined handle.
    let mut new = unsafe { ffi::RSMPI_COMM_NULL };
    // SAFETY: `comm` is live and `group` a valid group (a subgroup of its group); the call
    // writes one communicator handle into `new`, which starts as MPI_COMM_NULL and is
    // read only when the call succeeded. The group is freed after the call.
    let code = unsafe {
        let code = ffi::MPI_Comm_create_group(comm.as_raw(), group, tag, &mut new);
        ffi::MPI_Group_free(&mut group);
        code
    };
    made(code, "MPI_Comm_create_group", comm, new)
}

/// `MPI_Comm_split` of `comm` by `color` (`None` is `MPI_UNDEFINED`: joins none,
/// `Ok(None)`) and `key`, checked.
pub(crate) fn split(
    comm: &SimpleCommunicator,
    color: Option<i32>,
    key: i32,
) -> Result<Option<SimpleCommunicator>> {
    // SAFETY: reading predefined constants.
    let (mut new, color) = unsafe { (ffi::RSMPI_COMM_NULL, color.unwrap_or(ffi::RSMPI_UNDEFINED)) };
    // SAFETY: `comm` is borrowed, so live; the call writes one handle into `new`, read
    // only when it succeeded.
    let code = unsafe { ffi::MPI_Comm_split(comm.as_raw(), color, key, &mut new) };
    made(code, "MPI_Comm_split", comm, new)
}

/// `MPI_Comm_dup` of `comm`, checked.
pub(crate) fn duplicate(comm: &SimpleCommunicator) -> Result<SimpleCommunicator> {
    // SAFETY: reading a predefined handle.
    let mut new = unsafe { ffi::RSMPI_COMM_NULL };
    // SAFETY: `comm` is borrowed, so live; the call writes one handle into `new`, read
    // only when it succeeded.
    let code = unsafe { ffi::MPI_Comm_dup(comm.as_raw(), &mut new) };
    made(code, "MPI_Comm_dup", comm, new)?.ok_or_else(|| {
        ErrorKind::Mpi {
            call: "MPI_Comm_dup",
            class: 0,
            message: "MPI returned no communicator".into(),
        }
        .into()
    })
}

/// The communicator a creating call on `comm` returned in `new` with `code`: `Err` for a
/// failed call (whatever `new` holds), `None` for `MPI_COMM_NULL`.
fn made(
    code: i32,
    call: &'static str,
    comm: &SimpleCommunicator,
    new: ffi::MPI_Comm,
) -> Result<Option<SimpleCommunicator>> {
    check_on(code, call, Comm::of(comm))?;
    // SAFETY: reading a predefined handle.
    if new == unsafe { ffi::RSMPI_COMM_NULL } {
        return Ok(None);
    }
    // SAFETY: the call succeeded, so `new` is a new communicator handle that nothing else
    // owns; the SimpleCommunicator owns it from now on (freed when it drops).
    Ok(Some(unsafe { SimpleCommunicator::from_raw(new) }))
}
