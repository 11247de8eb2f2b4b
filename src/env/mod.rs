//! The MPI environment of a process: [`Env`] (finalize, or abort when failing), the
//! hooks the pool gives it, [`initialized`] and [`wtime`]; `abort` (ending the job) and
//! `panic` (the panic hook, a task's panic) beside it. `init` starts it all.
//!
//! One [`Env`] exists per process while MPI is up. Every `Communicator` holds it through
//! an `Rc`; when the last communicator is dropped, `Env` finalizes MPI, unless the process
//! is failing (a panic, or an rspar error still alive, as when `main` returns `Err`): then
//! it aborts the whole job, so the other ranks are not left waiting for a rank that is gone.

mod abort;
mod panic;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

use mpi::environment::Universe;

use crate::error::live_error;
use crate::ffi::OwnedSend;
use crate::threading::Threading;

pub(crate) use crate::stderr::say;
pub use abort::{abort, ERROR_EXIT_CODE, PANIC_EXIT_CODE};
pub(crate) use abort::{abort_job, world_place};
pub(crate) use panic::{catch_task_panic, install_panic_hook, payload_text};

/// True while an [`Env`] exists in this process.
static ENV_LIVE: AtomicBool = AtomicBool::new(false);

/// Where MPI may be called from, for calls that any thread may make (`abort`, the panic
/// hook, the watchdog): the thread that started the last [`Env`] (rspar's communicators
/// are not `Send`, so rspar calls MPI there only), the level MPI provides, and this
/// process's place in its world (rank, size), so that no other thread asks MPI for it.
static MPI_THREAD: Mutex<Option<MpiThread>> = Mutex::new(None);

#[derive(Clone, Copy)]
struct MpiThread {
    thread: ThreadId,
    threading: Threading,
    place: (i32, i32),
}

fn mpi_thread() -> Option<MpiThread> {
    *MPI_THREAD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether this thread may call MPI now: MPI is up and this is the thread that started
/// it, or MPI provides `Threading::Multiple`. (Under a lower level a call from another
/// thread may run beside the main thread's, which MPI does not allow.)
pub(crate) fn may_call_mpi_here() -> bool {
    initialized()
        && mpi_thread().is_none_or(|mpi| {
            mpi.threading == Threading::Multiple || mpi.thread == std::thread::current().id()
        })
}

/// This process's (rank, size) as its `Env` noted them, for threads that may not ask MPI.
pub(crate) fn noted_place() -> Option<(i32, i32)> {
    mpi_thread().map(|mpi| mpi.place)
}

thread_local! {
    /// The environment of this thread's communicators, for `Init::wrap` to join.
    static CURRENT: RefCell<Weak<Env>> = const { RefCell::new(Weak::new()) };
}

/// True while an [`Env`] exists in this process.
pub(crate) fn is_live() -> bool {
    ENV_LIVE.load(Ordering::SeqCst)
}

/// The live environment of this thread's communicators, for `Init::wrap` to join.
pub(crate) fn current() -> Option<Rc<Env>> {
    CURRENT.with(|current| current.borrow().upgrade())
}

/// What the layers above `env` do at the edges of the job. `init` sets them (the pool's
/// spawned workers need them); until then none does anything.
pub(crate) struct Hooks {
    /// This process's rank and world size when its world is not `MPI_COMM_WORLD`.
    pub(crate) place: fn() -> Option<(i32, i32)>,
    /// Just before the job is aborted, with its exit code.
    pub(crate) before_abort: fn(i32),
    /// Just before `MPI_Finalize`.
    pub(crate) before_finalize: fn(),
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// Set the [`Hooks`] (the first call wins: they are the same every time).
pub(crate) fn set_hooks(hooks: Hooks) {
    let _ = HOOKS.set(hooks);
}

fn hooks() -> &'static Hooks {
    static NONE: Hooks = Hooks {
        place: || None,
        before_abort: |_| {},
        before_finalize: || {},
    };
    HOOKS.get().unwrap_or(&NONE)
}

/// True between [`init`](crate::init) and the finalization of MPI.
///
/// ```
/// assert!(!rspar::initialized());
/// ```
pub fn initialized() -> bool {
    mpi::environment::is_initialized() && !mpi::environment::is_finalized()
}

/// True in a pool worker that a program run directly spawned (a copy of the program,
/// started by its pool's `MPI_Comm_spawn`), from [`init`](crate::init) on; false in a
/// launched rank, in the process the user started, and before `init`.
///
/// A spawned copy runs `main` from the start, but only its pools talk to the process
/// that spawned it: every rspar call on its world outside a pool is `Err(Deadlock)` at
/// once. A program run both ways skips its launch-only part on purpose with it:
///
/// ```no_run
/// let world = rspar::init()?;
/// if !rspar::spawned() {
///     // Under mpirun every rank takes part; run directly, only the root does.
///     let total = world.all_reduce(&world.rank(), |a, b| a + b)?;
///     println!("rank {} of {}: {total}", world.rank(), world.size());
/// }
/// if let Some(pool) = rspar::Pool::new(&world, |x: u64| x * x)? {
///     println!("{:?}", pool.map(0..10)?);
/// }
/// # Ok::<(), rspar::Error>(())
/// ```
pub fn spawned() -> bool {
    (hooks().place)().is_some()
}

/// Wall-clock time in seconds from a monotonic clock, started at the first call in this
/// process: the same clock before [`init`](crate::init), while MPI is up and after
/// finalization, and safe to call from any thread (a pool task on the root's compute
/// thread, a thread of the user's own) whatever the MPI threading level, since it does
/// not call MPI (`MPI_Wtime` may be called only where MPI may be; on Linux both read
/// `CLOCK_MONOTONIC`). Like `MPI_Wtime`'s, its values on different ranks are not
/// comparable: time spans are.
///
/// ```
/// let t0 = rspar::wtime();
/// assert!(rspar::wtime() >= t0);
/// ```
pub fn wtime() -> f64 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
}

/// The running MPI environment, shared by every communicator.
pub(crate) struct Env {
    universe: Option<Universe>,
    rank: usize,
    size: usize,
    pub(crate) threading: Threading,
    finalize_requested: Cell<bool>,
    // Unfinished nonblocking sends dropped while the program was failing: kept (bytes
    // and requests) until they complete, finalize waits for them, or the job aborts.
    parked: RefCell<Vec<OwnedSend>>,
}

impl Env {
    /// The environment of a process whose MPI is up (`universe`: rspar's, to finalize;
    /// `None`: a host's); from now on a second `init` is `Err(AlreadyInitialized)` and
    /// `Init::wrap` on this thread joins it.
    pub(crate) fn start(
        universe: Option<Universe>,
        rank: usize,
        size: usize,
        threading: Threading,
    ) -> Rc<Env> {
        let env = Rc::new(Env {
            universe,
            rank,
            size,
            threading,
            finalize_requested: Cell::new(false),
            parked: RefCell::default(),
        });
        ENV_LIVE.store(true, Ordering::SeqCst);
        *MPI_THREAD
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(MpiThread {
            thread: std::thread::current().id(),
            threading,
            place: (rank as i32, size as i32),
        });
        CURRENT.with(|current| *current.borrow_mut() = Rc::downgrade(&env));
        env
    }

    /// Mark that the user asked to finalize: no failure check when the last handle goes.
    pub(crate) fn request_finalize(&self) {
        self.finalize_requested.set(true);
    }

    /// Keep an unfinished send that must not be waited for now; sends parked earlier that
    /// have completed since are freed.
    pub(crate) fn park(&self, send: OwnedSend) {
        let mut parked = self.parked.borrow_mut();
        parked.retain_mut(still_running);
        if !send.is_done() {
            parked.push(send);
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if !self.finalize_requested.get() {
            if let Some(message) = live_error() {
                say(&format!(
                    "rspar: rank {} of {} is ending with an unhandled error: {message}\n\
                     rspar: aborting the MPI job so the other ranks do not wait forever",
                    self.rank, self.size
                ));
                abort_job(ERROR_EXIT_CODE);
            }
        }
        let mut parked = std::mem::take(self.parked.get_mut());
        if std::thread::panicking() {
            parked.retain_mut(still_running);
            if !parked.is_empty() {
                // Waiting could block the unwinding for good, and MPI_Finalize with
                // sends still active is erroneous: end the job instead.
                say(&format!(
                    "rspar: rank {} of {} is panicking with {} nonblocking send(s) unfinished\n\
                     rspar: aborting the MPI job (exit code {PANIC_EXIT_CODE})",
                    self.rank,
                    self.size,
                    parked.len()
                ));
                abort_job(PANIC_EXIT_CODE);
            }
        }
        // Dropping a parked send waits for it: nothing is active at MPI_Finalize.
        drop(parked);
        // After a process failure under ULFM, Open MPI 5's finalize may wait forever, and
        // so may the disconnect from a spawn that lost a worker: watched from here on.
        let _stuck = self
            .universe
            .is_some()
            .then(crate::fault::finalize_watch)
            .flatten();
        // Workers the pool spawned: disconnected before MPI_Finalize (collective with them).
        (hooks().before_finalize)();
        // Dropping the universe calls MPI_Finalize; a host's MPI is left to the host.
        drop(self.universe.take());
        ENV_LIVE.store(false, Ordering::SeqCst);
    }
}

/// Test a parked send; true while any of its requests is still active. A send whose
/// test failed keeps the requests MPI did not free (dropping it would wait for them).
fn still_running(send: &mut OwnedSend) -> bool {
    let _ = send.test();
    !send.is_done()
}
