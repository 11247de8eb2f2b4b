//! The MPI environment: init and finalize, the panic hook, abort, wall-clock time.
//!
//! One [`Env`] exists per process while MPI is up. Every [`Communicator`] holds it through
//! an `Rc`; when the last communicator is dropped, `Env` finalizes MPI, unless the process
//! is failing (a panic, or an rspar error still alive, as when `main` returns `Err`): then
//! it aborts the whole job, so the other ranks are not left waiting for a rank that is gone.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};

use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::Communicator as _;

use crate::comm::Communicator;
use crate::error::{live_error, ErrorKind, Result};
use crate::ffi::{Handle, OwnedSend};

/// Exit code of a job aborted because a rank panicked (the code Rust uses for a panic).
pub const PANIC_EXIT_CODE: i32 = 101;
/// Exit code of a job aborted because a rank ended with an unhandled rspar error.
pub const ERROR_EXIT_CODE: i32 = 1;

/// How many threads of a process may call MPI (`MPI_Init_thread`'s levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Threading {
    /// Only one thread calls MPI: what C's `MPI_Init` asks for, and rspar's default.
    /// Threads that never call MPI (a progress bar, a thread pool computing between
    /// messages) work with it in Open MPI and MPICH.
    Single,
    /// Many threads exist; only the main thread calls MPI. Open MPI 4.1 adds about
    /// 45 ns to every message at this level and above (measured with `pingpong`).
    Funneled,
    /// Many threads call MPI, one at a time.
    Serialized,
    /// Many threads call MPI at once.
    Multiple,
}

impl Threading {
    fn to_mpi(self) -> mpi::Threading {
        match self {
            Threading::Single => mpi::Threading::Single,
            Threading::Funneled => mpi::Threading::Funneled,
            Threading::Serialized => mpi::Threading::Serialized,
            Threading::Multiple => mpi::Threading::Multiple,
        }
    }

    fn from_mpi(level: mpi::Threading) -> Threading {
        match level {
            mpi::Threading::Single => Threading::Single,
            mpi::Threading::Funneled => Threading::Funneled,
            mpi::Threading::Serialized => Threading::Serialized,
            mpi::Threading::Multiple => Threading::Multiple,
        }
    }
}

/// Options for starting MPI; [`init`] uses the defaults.
///
/// ```no_run
/// let world = rspar::Init::new()
///     .threading(rspar::Threading::Multiple)
///     .abort_on_panic(false)
///     .init()?;
/// println!("threading: {:?}", world.threading());
/// # Ok::<(), rspar::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Init {
    threading: Threading,
    abort_on_panic: bool,
    interop: bool,
}

impl Default for Init {
    fn default() -> Self {
        Init {
            threading: Threading::Single,
            abort_on_panic: true,
            interop: false,
        }
    }
}

impl Init {
    /// The defaults: [`Threading::Single`], abort the job when any rank panics.
    pub fn new() -> Self {
        Self::default()
    }

    /// The thread level to ask MPI for; [`Communicator::threading`] tells what was granted.
    pub fn threading(mut self, level: Threading) -> Self {
        self.threading = level;
        self
    }

    /// Whether a panic on any rank prints the rank and message and calls `MPI_Abort`
    /// (default `true`). Without it, a panicking rank can leave the others waiting forever.
    pub fn abort_on_panic(mut self, yes: bool) -> Self {
        self.abort_on_panic = yes;
        self
    }

    /// Run rspar on the communicator itself, with no private copies: every call is one
    /// plain MPI call on it that a C, Fortran or mpi4py rank matches with the obvious
    /// call (see [`Communicator::interop`] and `docs/interop.md`). Needed when not every
    /// rank of the communicator runs rspar (an MPMD job, `mpirun -n 1 rust : -n 2 c`):
    /// making the private copies is a collective over all ranks, which a foreign rank
    /// never joins. Default `false`.
    pub fn interop(mut self, yes: bool) -> Self {
        self.interop = yes;
        self
    }

    /// Start MPI and return the world communicator. MPI finalizes when the world and
    /// every communicator made from it have been dropped, or at [`Communicator::finalize`].
    ///
    /// When MPI is already up, initialised by someone else (a C or Fortran host, mpi4py,
    /// rsmpi's `mpi::initialize`), rspar adopts it: `Ok` with the world, the thread level
    /// the host provided ([`Communicator::threading`]; `Err(Threading)` when below the
    /// level asked for with [`Init::threading`]), and finalization left to the host. A
    /// second `init` while a communicator from the first lives is
    /// `Err(AlreadyInitialized)`. Unless [`Init::interop`] is set, every rank of the
    /// world must call it (it makes rspar's private copies of the world).
    ///
    /// Run without `mpirun`, the program is a world of one rank. Started by the launcher
    /// of another MPI than the one it was built against (Open MPI's `mpirun` for a
    /// program built against MPICH, or the reverse), every rank is a world of one: `init`
    /// then prints a one-line warning on stderr naming the launcher's variable.
    pub fn init(self) -> Result<Communicator> {
        if mpi::environment::is_finalized() {
            return Err(ErrorKind::Finalized.into());
        }
        if ENV_LIVE.load(Ordering::SeqCst) {
            return Err(ErrorKind::AlreadyInitialized.into());
        }
        if mpi::environment::is_initialized() {
            return self.adopt(Handle::world());
        }
        safe_truncation();
        crate::pool::spawn::note_launcher();
        let (universe, granted) = mpi::initialize_with_threading(self.threading.to_mpi())
            .ok_or(ErrorKind::AlreadyInitialized)?;
        // A pool worker spawned at run time: its world is the parent (rank 0) and its
        // spawn's children (see `pool::spawn`).
        let world = crate::pool::spawn::child_world()?.unwrap_or_else(Handle::world);
        let env = self.start(Some(universe), Threading::from_mpi(granted))?;
        self.communicator(world, env)
    }

    /// rspar on an rsmpi communicator, which rspar owns from now on (and frees when its
    /// last user drops, unless MPI was finalized first). For a communicator made by
    /// another crate through rsmpi, or `world.raw().split_by_color(..)` of an
    /// [`interop`](Init::interop) world to give the ranks that run rspar their private
    /// copies. MPI must be up; if no rspar communicator lives, rspar adopts MPI as
    /// [`init`](Init::init) does (these options apply then). Every rank of `comm` must
    /// call it, unless [`Init::interop`] is set.
    ///
    /// ```no_run
    /// use rspar::mpi::traits::Communicator as _;
    /// let universe = rspar::mpi::initialize().unwrap(); // a host that uses rsmpi
    /// let comm = rspar::Init::new().wrap(universe.world().duplicate())?;
    /// comm.barrier()?;
    /// drop(comm);
    /// drop(universe); // MPI_Finalize, by its owner
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn wrap(self, comm: SimpleCommunicator) -> Result<Communicator> {
        if !initialized() {
            return Err(ErrorKind::InvalidCommunicator {
                reason: "MPI is not initialized (or already finalized)".into(),
            }
            .into());
        }
        self.adopt(Handle::owned(comm))
    }

    /// A communicator on `comm` under the live environment, or under a new one that
    /// adopts the host's MPI.
    pub(crate) fn adopt(self, comm: Handle) -> Result<Communicator> {
        let live = CURRENT.with(|current| current.borrow().upgrade());
        let env = match live {
            Some(env) => env,
            None if ENV_LIVE.load(Ordering::SeqCst) => {
                return Err(ErrorKind::AlreadyInitialized.into());
            }
            None => {
                let provided = Threading::from_mpi(mpi::environment::threading_support());
                if provided < self.threading {
                    return Err(ErrorKind::Threading {
                        requested: self.threading,
                        provided,
                    }
                    .into());
                }
                self.start(None, provided)?
            }
        };
        self.communicator(comm, env)
    }

    fn communicator(&self, comm: Handle, env: Rc<Env>) -> Result<Communicator> {
        if self.interop {
            Ok(Communicator::interop_on(Rc::new(comm), env))
        } else {
            Communicator::new(comm, env)
        }
    }

    /// The environment: the launcher check, the panic hook, logging, the watchdog.
    fn start(&self, universe: Option<Universe>, threading: Threading) -> Result<Rc<Env>> {
        let (rank, size) = world_place();
        let (rank, size) = (rank as usize, size as usize);
        if let Some(warning) = crate::launch::check(size) {
            say(&warning);
        }
        if self.abort_on_panic {
            install_panic_hook();
        }
        crate::log::start(rank, size)?;
        crate::watch::start(rank, size)?;
        let env = Rc::new(Env {
            universe,
            rank,
            size,
            threading,
            finalize_requested: Cell::new(false),
            parked: RefCell::default(),
        });
        ENV_LIVE.store(true, Ordering::SeqCst);
        CURRENT.with(|current| *current.borrow_mut() = Rc::downgrade(&env));
        Ok(env)
    }
}

/// True while an [`Env`] exists in this process.
static ENV_LIVE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The environment of this thread's communicators, for `Init::wrap` to join.
    static CURRENT: RefCell<Weak<Env>> = const { RefCell::new(Weak::new()) };
}

/// The MCA variable that picks how Open MPI 4's shared-memory transport copies a large
/// message.
const SINGLE_COPY: &str = "OMPI_MCA_btl_vader_single_copy_mechanism";

/// Make a receive into a buffer shorter than its message safe in Open MPI 4.
///
/// Its shared-memory transport copies a large message (above the 4 KiB eager size) with
/// CMA (`process_vm_readv`) at the message's full length, also into a shorter receive
/// buffer: measured with Open MPI 4.1.4, a 100 KB message received into 16 bytes made
/// the read fail with `EFAULT` or overwrote the heap (`malloc(): invalid size`), and a
/// truncated `MPI_Mrecv` (how rspar discards a message without holding it) crashed or
/// hung. rspar promises `Err(Overflow)` for a short buffer, so before `MPI_Init` it
/// turns single copy off (copy-in/copy-out through the shared segment, which MPI
/// bounds by the buffer; on the machines rspar is tested on it is also the faster one,
/// see docs/performance.md), unless the variable is set already (by the user, or
/// `mpirun --mca`). Other MPIs, and Open MPI 5, are left alone.
fn safe_truncation() {
    let version = mpi::environment::library_version().unwrap_or_default();
    if crate::launch::Library::from_version(&version) == crate::launch::Library::OpenMpi
        && version.contains("Open MPI v4.")
        && std::env::var_os(SINGLE_COPY).is_none()
    {
        std::env::set_var(SINGLE_COPY, "none");
    }
}

/// Start MPI with the default [`Init`] options and return the world communicator.
///
/// A second call is `Err(AlreadyInitialized)`.
///
/// ```no_run
/// let world = rspar::init()?;
/// println!("rank {} of {}", world.rank(), world.size());
/// assert!(rspar::init().is_err());
/// # Ok::<(), rspar::Error>(())
/// ```
pub fn init() -> Result<Communicator> {
    Init::new().init()
}

/// True between [`init`] and the finalization of MPI.
///
/// ```
/// assert!(!rspar::initialized());
/// ```
pub fn initialized() -> bool {
    mpi::environment::is_initialized() && !mpi::environment::is_finalized()
}

/// Wall-clock time in seconds (`MPI_Wtime`) while MPI is up; before [`init`] and after
/// finalization, seconds from a monotonic clock started at the first call.
///
/// ```
/// let t0 = rspar::wtime();
/// assert!(rspar::wtime() >= t0);
/// ```
pub fn wtime() -> f64 {
    if initialized() {
        mpi::time()
    } else {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
    }
}

/// End the whole MPI job now with exit code `code` (`MPI_Abort` on the world), after
/// printing `rspar: rank <r> of <n> called abort(<code>)` to stderr (Open MPI 4's own
/// `MPI_ABORT was invoked` banner, which says the same, is left out). Without MPI up,
/// exits this process with `code`.
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
fn world_place() -> (i32, i32) {
    crate::pool::spawn::child_place().unwrap_or_else(|| {
        let world = SimpleCommunicator::world();
        (world.rank(), world.size())
    })
}

/// Write `text` and a newline to stderr in one `write`, so that the launcher's own
/// messages (Open MPI's abort banner) cannot land inside the line.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let line = format!("{text}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `MPI_Abort` on the world (or exit without MPI), with no message of its own.
pub(crate) fn abort_job(code: i32) -> ! {
    if initialized() {
        // The line saying why is in the pipe to the launcher; give it a moment to forward
        // it before MPI_Abort has the job torn down (MPICH's hydra once dropped the
        // aborting rank's stderr in a full test run). A failing job ends 50 ms later.
        std::thread::sleep(std::time::Duration::from_millis(50));
        // That line says what Open MPI's MPI_ABORT banner would, and Open MPI 4.1's mpirun
        // sometimes mangles the banner into ORTE_ERROR_LOG lines: leave it out.
        crate::ffi::quiet_abort_banner();
        // A spawned pool worker: its parent ends too (it would wait for it forever).
        crate::pool::spawn::end_parent();
        if crate::fault::enabled() {
            // MPI_Abort alone does not end a job with fault tolerance on.
            crate::ffi::end_job_through_launcher();
        }
        SimpleCommunicator::world().abort(code)
    } else {
        std::process::exit(code)
    }
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
        crate::pool::spawn::disconnect_all();
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

static HOOK_INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// True while this thread runs a farm task: a panic there is the task's failure.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// The message and place of the last task panic on this thread.
    static TASK_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Run a farm task, turning a panic into its message (with the place it happened); the
/// panic hook neither prints nor aborts for it.
pub(crate) fn catch_task_panic<R>(task: impl FnOnce() -> R) -> std::result::Result<R, String> {
    IN_TASK.with(|t| t.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
    IN_TASK.with(|t| t.set(false));
    outcome.map_err(|payload| {
        TASK_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| payload_text(payload.as_ref()))
    })
}

pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

fn install_panic_hook() {
    if HOOK_INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = payload_text(info.payload());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if IN_TASK.with(|t| t.get()) {
            TASK_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{place}")));
            return;
        }
        previous(info);
        if initialized() {
            let (rank, size) = world_place();
            say(&format!(
                "rspar: rank {rank} of {size} panicked{place}: {message}\n\
                 rspar: aborting the MPI job (exit code {PANIC_EXIT_CODE})"
            ));
            abort_job(PANIC_EXIT_CODE);
        }
    }));
}
