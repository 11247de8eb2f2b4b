//! Ending the whole job: [`abort`] (the public call) and `abort_job` (every abort's
//! last step: rspar's line is out, then `MPI_Abort` on the world).

use mpi::topology::SimpleCommunicator;
use mpi::traits::Communicator as _;

use super::initialized;
use crate::stderr::say;

/// Exit code of a job aborted because a rank panicked (the code Rust uses for a panic).
pub const PANIC_EXIT_CODE: i32 = 101;
/// Exit code of a job aborted because a rank ended with an unhandled rspar error.
pub const ERROR_EXIT_CODE: i32 = 1;

/// End the whole MPI job now with exit code `code` (`MPI_Abort` on the world), after
/// printing `rspar: rank <r> of <n> called abort(<code>)` to stderr (Open MPI 4's own
/// `MPI_ABORT was invoked` banner, which says the same, is left out). Without MPI up,
/// exits this process with `code`.
///
/// Any thread may call it. Its one MPI call is then `MPI_Abort`, from that thread: the
/// line's rank and size are the ones noted at `init`, not asked of MPI. Under
/// [`Threading::Multiple`] that is within the MPI standard; under a lower level (rspar's
/// default is `Single`) the standard allows MPI calls on the main thread only, and
/// `MPI_Abort` from another one is what Open MPI 4.1 and MPICH 4.0 handle
/// (`tests/off_main_thread.rs`, while the main thread waits in a receive). No other
/// path ends every rank with `code` on both launchers: a process that exits instead
/// ends the job, but MPICH's `mpiexec` then reports the signal it killed the other
/// ranks with (9) rather than `code`.
///
/// [`Threading::Multiple`]: crate::Threading::Multiple
///
/// ```no_run
/// # // rspar-doc: ranks 2..
/// let world = rspar::init()?;
/// if world.size() < 2 {
///     eprintln!("this program needs two ranks");
///     rspar::abort(2);
/// }
/// # Ok::<(), rspar::Error>(())
/// ```
pub fn abort(code: i32) -> ! {
    if initialized() {
        let (rank, size) = world_place();
        say(&format!(
            "rspar: rank {rank} of {size} called abort({code}); ending the MPI job"
        ));
    }
    abort_job(code)
}

/// This process's rank and the size of the world `init` gives it (in a pool worker
/// spawned at run time: its spawn's world, the parent first).
pub(crate) fn world_place() -> (i32, i32) {
    (super::hooks().place)()
        .or_else(|| {
            (!super::may_call_mpi_here())
                .then(super::noted_place)
                .flatten()
        })
        .unwrap_or_else(|| {
            let world = SimpleCommunicator::world();
            (world.rank(), world.size())
        })
}

/// `MPI_Abort` on the world (or exit without MPI), with no message of its own. Any
/// thread may call it (see [`abort`] on threads other than the main one).
pub(crate) fn abort_job(code: i32) -> ! {
    if initialized() {
        // The line saying why is in the pipe to the launcher; give it a moment to forward
        // it before MPI_Abort has the job torn down (MPICH's hydra once dropped the
        // aborting rank's stderr in a full test run). A failing job ends 50 ms later.
        std::thread::sleep(std::time::Duration::from_millis(50));
        // That line says what Open MPI's MPI_ABORT banner would, and Open MPI 4.1's mpirun
        // sometimes mangles the banner into ORTE_ERROR_LOG lines: leave it out.
        crate::ffi::quiet_abort_banner();
        // A spawned pool worker: its parent ends too (it would wait for it forever), with
        // this exit code.
        (super::hooks().before_abort)(code);
        if crate::fault::enabled() {
            // MPI_Abort alone does not end a job with fault tolerance on.
            crate::ffi::end_job_through_launcher();
        }
        SimpleCommunicator::world().abort(code)
    } else {
        std::process::exit(code)
    }
}
