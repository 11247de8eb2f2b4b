//! Fault tolerance (ULFM, User Level Failure Mitigation): what rspar does when a process
//! of a communicator is lost, and the calls that recover from it.
//!
//! Two conditions, both needed: the build found the `MPIX_` functions (`cfg(rspar_ulfm)`:
//! the `ulfm` configuration of `src/flavours.txt`, Open MPI 5 with its `ftmpi`
//! extension), and the launch enabled them (`mpirun --with-ft ulfm` sets
//! `OMPI_MCA_mpi_ft_enable=1` in every rank: the table's `enabled`). Then a call that
//! involves a lost process returns `ProcessFailed { ranks }` (or `Revoked`) instead of
//! hanging, [`Communicator::shrink`] makes a communicator of the survivors, and the pool
//! hands a lost worker's tasks to the others. Otherwise nothing changes: the MPI runtime
//! ends the job when a process dies, as it always did.
//!
//! Errors: rspar's point-to-point copy returns error codes anyway; with ULFM on, the
//! collectives' copy gets a noting error handler (`ffi::ulfm`), read after each
//! collective rspar runs through rsmpi ([`collective_outcome`]). The user's own
//! communicator (`raw()`) keeps its handler: MPI calls of the user's own are the user's.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use crate::comm::Communicator;
use crate::error::{ErrorKind, Result};
use crate::ffi::Handle;

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

/// A process failure has been reported in this process (set by `ffi`).
static FAILURE_SEEN: AtomicBool = AtomicBool::new(false);

/// Note that a call reported a process failure.
#[cfg_attr(not(rspar_ulfm), allow(dead_code))] // the ULFM build's
pub(crate) fn failure_seen() {
    FAILURE_SEEN.store(true, Ordering::Relaxed);
}

/// Before finalizing under ULFM: whether any process of the job has failed, as every
/// survivor agrees. A call of this process may have reported one; if not, the live ranks
/// agree over the world (`MPIX_Comm_agree`, which fails on every survivor once a failure
/// is not acknowledged everywhere): a pool's idle worker never calls anything that
/// fails, and its finalize hangs the same way. Every rank finalizes, so every live rank
/// joins the agreement, as it would finalize's own synchronisation.
fn failure_known() -> bool {
    #[cfg(rspar_ulfm)]
    {
        let world = mpi::topology::SimpleCommunicator::world();
        // Finalize comes next: the world's handler may return errors from now on.
        crate::ffi::errors_return(&world);
        let (_, code) = crate::ffi::ulfm::agree(crate::ffi::Comm::of(&world), 1);
        if code != 0 {
            FAILURE_SEEN.store(true, Ordering::Relaxed);
        }
    }
    FAILURE_SEEN.load(Ordering::Relaxed)
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
            crate::env::say(
                "rspar: MPI_Finalize (or the disconnect from spawned workers) has not returned after a process failure (a known \
                 Open MPI 5 fault-tolerance hang); ending this process, exit code 0",
            );
            crate::ffi::exit_now(0);
        }
    });
    Some(done)
}

/// With ULFM on: give a new communicator's collective copy the noting error handler.
pub(crate) fn guard_collectives(lib: &mpi::topology::SimpleCommunicator) -> Result<()> {
    #[cfg(rspar_ulfm)]
    if enabled() {
        return crate::ffi::ulfm::note_errors(lib);
    }
    let _ = lib;
    Ok(())
}

/// The error MPI noted on the collective copy `lib` during `call`, if any.
#[inline]
pub(crate) fn collective_outcome(lib: crate::ffi::Comm, call: &'static str) -> Result<()> {
    #[cfg(rspar_ulfm)]
    if enabled() {
        return crate::ffi::ulfm::take_noted(lib, call);
    }
    let _ = (lib, call);
    Ok(())
}

fn unavailable() -> crate::Error {
    let reason = if cfg!(rspar_ulfm) {
        "the job was not launched with fault tolerance on (mpirun --with-ft ulfm)"
    } else {
        "rspar was not built against an MPI with ULFM (scripts/setup.sh --mpi ulfm)"
    };
    ErrorKind::FaultTolerance { reason }.into()
}

impl Communicator {
    /// True when this job survives a lost process: rspar was built against Open MPI 5
    /// with ULFM (`scripts/test.sh --mpi ulfm`) and the job was launched with
    /// `mpirun --with-ft ulfm`. Then calls that involve a lost process return
    /// [`ProcessFailed`](crate::ErrorKind::ProcessFailed) and [`shrink`](Self::shrink)
    /// recovers; otherwise a lost process ends the job. See `docs/ulfm.md`.
    pub fn fault_tolerant(&self) -> bool {
        enabled()
    }

    /// The ranks of this communicator known to have failed, in increasing order (empty
    /// without fault tolerance, where a failure ends the job).
    pub fn failed_ranks(&self) -> Vec<usize> {
        #[cfg(rspar_ulfm)]
        if enabled() {
            let mut ranks: Vec<usize> = self
                .handles()
                .into_iter()
                .flat_map(crate::ffi::ulfm::failed_ranks)
                .collect();
            ranks.sort_unstable();
            ranks.dedup();
            return ranks;
        }
        Vec::new()
    }

    /// A communicator of the ranks of this one that are alive (`MPIX_Comm_shrink`), ranked
    /// in their old order. Every surviving rank must call it; it works on a revoked
    /// communicator too. Messages held for this communicator stay with it.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// match world.all_reduce(&1u64, |a, b| a + b) {
    ///     Err(e) if matches!(e.kind(), rspar::ErrorKind::ProcessFailed { .. }) => {
    ///         world.revoke()?; // wake ranks still waiting in other calls
    ///         let survivors = world.shrink()?;
    ///         println!("{} ranks left", survivors.size());
    ///     }
    ///     other => println!("{}", other?),
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    ///
    /// `Err(FaultTolerance)` without fault tolerance ([`fault_tolerant`](Self::fault_tolerant)).
    pub fn shrink(&self) -> Result<Communicator> {
        #[cfg(rspar_ulfm)]
        if enabled() {
            let raw = crate::ffi::ulfm::shrink(self.raw())?;
            return Communicator::new(Handle::owned(raw), Rc::clone(self.env()));
        }
        let _ = (Rc::clone(self.env()), Handle::owned);
        Err(unavailable())
    }

    /// Revoke this communicator (`MPIX_Comm_revoke`) and rspar's private copies of it:
    /// every call on them, pending or later, on every rank, fails with
    /// [`Revoked`](crate::ErrorKind::Revoked). For telling ranks that are still waiting
    /// for a live peer that the communicator must be [`shrink`](Self::shrink)ed.
    /// `Err(FaultTolerance)` without fault tolerance.
    pub fn revoke(&self) -> Result<()> {
        #[cfg(rspar_ulfm)]
        if enabled() {
            let mut seen = Vec::new();
            for handle in self.handles() {
                if !seen.contains(&handle) {
                    crate::ffi::ulfm::revoke(handle)?;
                    seen.push(handle);
                }
            }
            return Ok(());
        }
        Err(unavailable())
    }

    /// Agree on `flag` among the live ranks (`MPIX_Comm_agree`: the AND of every live
    /// rank's `flag`), even when ranks have failed: every rank that returns gets the same
    /// value and the same verdict, `Err(ProcessFailed)` when a failure was not yet
    /// acknowledged everywhere. `Err(FaultTolerance)` without fault tolerance.
    pub fn agree(&self, flag: bool) -> Result<bool> {
        #[cfg(rspar_ulfm)]
        if enabled() {
            let (value, code) = crate::ffi::ulfm::agree(self.handles()[2], u32::from(flag));
            crate::ffi::check_failure(code, "MPIX_Comm_agree", self.handles()[2])?;
            return Ok(value & 1 == 1);
        }
        let _ = flag;
        Err(unavailable())
    }
}
