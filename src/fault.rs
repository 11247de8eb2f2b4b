//! Fault tolerance (ULFM, User Level Failure Mitigation): what rspar does when a process
//! of a communicator is lost, and the calls that recover from it.
//!
//! Two conditions, both needed: the build found the `MPIX_` functions (`cfg(rspar_ulfm)`:
//! the `ulfm` configuration of `src/flavours.txt`, Open MPI 5 with its `ftmpi`
//! extension), and the launch enabled them (`mpirun --with-ft ulfm` sets
//! `OMPI_MCA_mpi_ft_enable=1` in every rank: the table's `enabled`). Then a call that
//! involves a lost process returns `ProcessFailed { ranks }` (or `Revoked`) instead of
//! hanging, `Communicator::shrink` (`comm/fault.rs`) makes a communicator of the survivors, and the pool
//! hands a lost worker's tasks to the others. Otherwise nothing changes: the MPI runtime
//! ends the job when a process dies, as it always did.
//!
//! Errors: rspar's point-to-point copy returns error codes anyway; with ULFM on, the
//! collectives' copy gets a noting error handler (`ffi::ulfm`), read after each
//! collective rspar runs through rsmpi ([`collective_outcome`]). The user's own
//! communicator (`raw()`) keeps its handler: MPI calls of the user's own are the user's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{ErrorKind, Result};

/// True when a lost process is an error rather than the end of the job: built with the
/// `MPIX_` functions and launched with them enabled.
pub(crate) fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| cfg!(rspar_ulfm) && launched_with_ft())
}

/// Whether the launch set the `ulfm` configuration's `enabled` variable
/// (`src/flavours.txt`: `OMPI_MCA_mpi_ft_enable=1`, set by `mpirun --with-ft ulfm`).
fn launched_with_ft() -> bool {
    let Some((variable, want)) = crate::flavour::named("ulfm").and_then(|c| c.enabled) else {
        return false;
    };
    std::env::var(variable).is_ok_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        v == want || ["true", "yes", "enabled"].contains(&v.as_str())
    })
}

/// Whether every process of `MPI_COMM_WORLD` runs rspar, so finalizes through it and
/// joins [`failure_known`]'s agreement (`init` says; not for an interop world, whose
/// other ranks may be C, Fortran or mpi4py, which never would).
static WORLD_RUNS_RSPAR: AtomicBool = AtomicBool::new(false);

/// At `init`: whether every process of `MPI_COMM_WORLD` runs rspar.
pub(crate) fn world_runs_rspar(yes: bool) {
    WORLD_RUNS_RSPAR.store(yes, Ordering::Relaxed);
}

/// Before finalizing under ULFM: whether any process of the job has failed, as every
/// survivor agrees. A call of this process may have reported one; if not, the live ranks
/// agree over the world (`MPIX_Comm_agree`, which fails on every survivor once a failure
/// is not acknowledged everywhere): a pool's idle worker never calls anything that
/// fails, and its finalize hangs the same way. Every rank finalizes, so every live rank
/// joins the agreement, as it would finalize's own synchronisation. Only where every
/// process of the world runs rspar ([`world_runs_rspar`]): in an MPMD job the C ranks
/// never join it, and the agreement waited forever; there only a failure a call of this
/// process reported counts.
fn failure_known() -> bool {
    #[cfg(rspar_ulfm)]
    if WORLD_RUNS_RSPAR.load(Ordering::Relaxed) {
        let world = mpi::topology::SimpleCommunicator::world();
        // Finalize comes next: the world's handler may return errors from now on.
        crate::ffi::errors_return(&world);
        let (_, code) = crate::ffi::ulfm::agree(crate::ffi::Comm::of(&world), 1);
        if code != 0 {
            crate::ffi::note_failure();
        }
    }
    crate::ffi::failure_noted()
}

/// How long `MPI_Finalize` may take after a process failure before this process ends.
const FINALIZE_LIMIT: Duration = Duration::from_secs(3);

/// Around `MPI_Finalize` after a process failure under ULFM: Open MPI 5.0.11's finalize
/// then waits forever in about one job of six (measured with a plain C program: 3 ranks,
/// one killed, the other two finalizing; 2 ranks never hung), while a survivor that ends
/// without finalizing lets `mpirun --with-ft ulfm` exit 0. So while the returned guard
/// lives, a thread waits [`FINALIZE_LIMIT`]; if finalize has not returned by then, it
/// says so on stderr and ends the process with exit code 0 (everything the program did
/// before finalizing is done). `None` (no thread) in every other case.
pub(crate) fn finalize_watch() -> Option<mpsc::Sender<()>> {
    if !enabled() || !failure_known() {
        return None;
    }
    let (done, wait) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(FINALIZE_LIMIT) {
            crate::stderr::say(
                "rspar: MPI_Finalize (or the disconnect from spawned workers) has not returned after a process failure (a known \
                 Open MPI 5 fault-tolerance hang); ending this process, exit code 0",
            );
            crate::ffi::exit_now(0);
        }
    });
    Some(done)
}

/// With ULFM on: give a new communicator's collective copy the noting error handler.
pub(crate) fn guard_collectives(collectives: &mpi::topology::SimpleCommunicator) -> Result<()> {
    #[cfg(rspar_ulfm)]
    if enabled() {
        return crate::ffi::ulfm::note_errors(collectives);
    }
    let _ = collectives;
    Ok(())
}

/// The error MPI noted on the collective copy `collectives` during `call`, if any.
#[inline]
pub(crate) fn collective_outcome(collectives: crate::ffi::Comm, call: &'static str) -> Result<()> {
    #[cfg(rspar_ulfm)]
    if enabled() {
        return crate::ffi::ulfm::take_noted(collectives, call);
    }
    let _ = (collectives, call);
    Ok(())
}

pub(crate) fn unavailable() -> crate::Error {
    let reason = if cfg!(rspar_ulfm) {
        "the job was not launched with fault tolerance on (mpirun --with-ft ulfm)"
    } else {
        "rspar was not built against an MPI with ULFM (scripts/setup.sh --mpi ulfm)"
    };
    ErrorKind::FaultTolerance { reason }.into()
}
