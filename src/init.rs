//! Starting rspar: [`init`] and the [`Init`] options, and the one place that wires the
//! layers together. `init` checks the launcher (`launch`), installs the panic hook
//! (`env`), starts `log` and the watchdog (`watch`), hands `env` the pool's hooks for the
//! job's edges (`pool::spawn`: a spawned worker's world, ending its parent on abort,
//! disconnecting spawned workers before finalize), makes the [`Env`] and the world
//! [`Communicator`] on it. No other module starts another.

use std::rc::Rc;

use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;

use crate::comm::Communicator;
use crate::env::{initialized, Env, Hooks};
use crate::error::{ErrorKind, Result};
use crate::ffi::Handle;
use crate::pool::spawn;
use crate::stderr::say;
use crate::threading::Threading;

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
        wire_hooks();
        if crate::env::is_live() {
            return Err(ErrorKind::AlreadyInitialized.into());
        }
        if mpi::environment::is_initialized() {
            return self.adopt(Handle::world());
        }
        safe_truncation();
        spawn::note_launcher();
        let (universe, granted) = mpi::initialize_with_threading(self.threading.to_mpi())
            .ok_or(ErrorKind::AlreadyInitialized)?;
        // A pool worker spawned at run time: its world is the parent (rank 0) and its
        // spawn's children (see `pool::spawn`), for its pools only.
        let child = spawn::child_world()?;
        let spawned = child.is_some();
        let world = child.unwrap_or_else(Handle::world);
        let env = self.start(Some(universe), Threading::from_mpi(granted))?;
        let world = self.communicator(world, env)?;
        Ok(if spawned {
            world.for_pools_only()
        } else {
            world
        })
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
        wire_hooks();
        let env = match crate::env::current() {
            Some(env) => env,
            None if crate::env::is_live() => {
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
            Ok(Communicator::interop_over(Rc::new(comm), env))
        } else {
            Communicator::new(comm, env)
        }
    }

    /// The environment: the launcher check, the panic hook, logging, the watchdog.
    fn start(&self, universe: Option<Universe>, threading: Threading) -> Result<Rc<Env>> {
        let (rank, size) = crate::env::world_place();
        let (rank, size) = (rank as usize, size as usize);
        if let Some(warning) = crate::launch::check(size) {
            say(&warning);
        }
        if self.abort_on_panic {
            crate::env::install_panic_hook();
        }
        crate::log::start(rank, size)?;
        crate::watch::start(rank, size)?;
        Ok(Env::start(universe, rank, size, threading))
    }
}

/// Hand `env` what the pool does at the edges of the job (once per process).
fn wire_hooks() {
    crate::env::set_hooks(Hooks {
        place: spawn::child_place,
        before_abort: spawn::end_parent,
        before_finalize: spawn::disconnect_all,
    });
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
    if crate::launch::open_mpi_4() && std::env::var_os(SINGLE_COPY).is_none() {
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
