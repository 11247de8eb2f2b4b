//! [`Communicator`]: a group of ranks that talk to each other; the world is one.

mod fault;

use std::cell::OnceCell;
use std::rc::Rc;

use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::Communicator as _;

use crate::engine::Engine;
use crate::env::Env;
use crate::error::{ErrorKind, Result};
use crate::ffi::{self, Handle};
use crate::threading::Threading;

/// A group of ranks that exchange messages: the world from [`init`](crate::init), or a
/// communicator made from it. Its point-to-point calls live in `p2p` (objects, buffers,
/// nonblocking), its collectives in `collective`; all are methods of this type.
///
/// ```no_run
/// let world = rspar::init()?;
/// println!("I am rank {} of {} on {}", world.rank(), world.size(), world.processor_name());
/// world.barrier()?;
/// # Ok::<(), rspar::Error>(())
/// ```
///
/// Only the thread that initialised MPI calls it, so a communicator stays on its thread
/// (it is neither `Send` nor `Sync`):
///
/// ```compile_fail,E0277
/// let world = rspar::init()?;
/// std::thread::spawn(move || world.barrier()); // `Communicator` cannot be sent
/// # Ok::<(), rspar::Error>(())
/// ```
pub struct Communicator {
    // Field order is drop order: the interop view goes first; the engine receives its
    // held messages before it frees the point-to-point copy; MPI is finalized (when this
    // holds the last `Env`) last of all.
    //
    // The view of `user` itself for foreign ranks (`interop()`), made on first use; it
    // shares `user` and drops first.
    interop: OnceCell<Box<Communicator>>,
    // The point-to-point engine, on a private copy (`copy_of`) whose MPI error handler
    // returns error codes (a message longer than a receive buffer is an `Err`, not an
    // abort of the job); on `user` itself when `on_user`.
    engine: Engine,
    // True when rspar's calls run on `user` itself (an interop view or an interop world).
    on_user: bool,
    // The communicator the user sees (`raw()`); rspar sends nothing on it, unless
    // `on_user`.
    user: Rc<Handle>,
    // A private copy for rspar's collectives, so their traffic can never match or be
    // matched by a point-to-point message; `collectives_handle` is its raw handle
    // (`user` itself when `on_user`).
    collectives: Rc<Handle>,
    collectives_handle: ffi::Comm,
    rank: usize,
    size: usize,
    // The world of a pool worker spawned at run time (`init` marks it): nothing outside
    // a pool answers on it, so every rspar call on it is `Err(Deadlock)` (`usable`).
    pools_only: bool,
    env: Rc<Env>,
}

impl Communicator {
    pub(crate) fn new(raw: Handle, env: Rc<Env>) -> Result<Communicator> {
        Communicator::shared(Rc::new(raw), env)
    }

    /// Like [`new`](Self::new) on a handle others hold too (the pool keeps a spawned
    /// group's communicator for its later pools, without keeping the `Env` alive).
    pub(crate) fn shared(raw: Rc<Handle>, env: Rc<Env>) -> Result<Communicator> {
        let p2p = copy_of(&raw, 0)?;
        ffi::errors_return(&p2p);
        let collectives = copy_of(&raw, 1)?;
        // With ULFM on, a lost process is an error code on the collectives' copy too.
        crate::fault::guard_collectives(&collectives)?;
        Ok(Communicator::with(
            raw,
            Rc::new(p2p),
            Rc::new(collectives),
            false,
            env,
        ))
    }

    /// A communicator over ranks `ranks` of `raw` (in that order), made with the
    /// collectives [`duplicate`](Self::duplicate) makes over all of them: only those
    /// ranks take part. The pool links its root with the children of a spawn still
    /// serving (released ones are gone).
    pub(crate) fn subset_of(
        raw: &SimpleCommunicator,
        ranks: &[usize],
        env: Rc<Env>,
    ) -> Result<Communicator> {
        use mpi::topology::Group as _;
        let ranks: Vec<i32> = ranks.iter().map(|&r| r as i32).collect();
        let group = raw.group().include(&ranks);
        let copy = raw
            .split_by_subgroup_with_tag(&group, 2)
            .map(Handle::owned)
            .ok_or_else(|| ErrorKind::Mpi {
                call: "MPI_Comm_create_group",
                class: 0,
                message: "MPI made no communicator for the subgroup".into(),
            })?;
        Communicator::new(copy, env)
    }

    /// The MPI environment this communicator lives in.
    pub(crate) fn env(&self) -> &Rc<Env> {
        &self.env
    }

    /// rspar's calls on `user` itself, with no private copies (`Init::interop`). No MPI
    /// call: nothing collective, so ranks that do not run rspar need not take part.
    pub(crate) fn interop_over(user: Rc<Handle>, env: Rc<Env>) -> Communicator {
        Communicator::with(Rc::clone(&user), Rc::clone(&user), user, true, env)
    }

    fn with(
        user: Rc<Handle>,
        p2p: Rc<Handle>,
        collectives: Rc<Handle>,
        on_user: bool,
        env: Rc<Env>,
    ) -> Self {
        let rank = user.rank() as usize;
        Communicator {
            interop: OnceCell::new(),
            engine: Engine::new(p2p, rank, env.threading),
            on_user,
            rank,
            size: user.size() as usize,
            collectives_handle: ffi::Comm::of(&collectives),
            collectives,
            user,
            pools_only: false,
            env,
        }
    }

    /// Mark the world of a pool worker spawned at run time (`init`): see
    /// [`usable`](Self::usable).
    pub(crate) fn for_pools_only(mut self) -> Communicator {
        self.pools_only = true;
        self
    }

    /// The first check of every rspar call on a communicator: `Ok`, unless this is the
    /// world of a pool worker spawned at run time. That copy of the program runs `main`
    /// from the start, but the process that spawned it (run directly: a world of its own
    /// one rank) talks to it only inside its pools, on communicators of their own; a
    /// call on this world outside them would wait forever (a receive from the parent,
    /// a collective the parent never joins). So it is `Err(Deadlock)` at once, saying
    /// what to do, whatever the peer.
    #[inline]
    pub(crate) fn usable(&self, call: &'static str) -> Result<()> {
        if self.pools_only {
            Err(outside_pool(call))
        } else {
            Ok(())
        }
    }

    /// The same ranks with rspar's calls on the host-visible communicator itself
    /// ([`raw`](Self::raw)), not on rspar's private copies, so ranks that do not run
    /// rspar (C, Fortran, mpi4py) take part with the obvious MPI call on the same
    /// communicator (`MPI_COMM_WORLD` for the world). Every method works on it:
    ///
    /// - `send_buffer`/`receive_buffer_into`/`receive_buffer` (with [`tag`](Self::tag),
    ///   [`Any`](crate::Any), `isend`/`ireceive`) are `MPI_Send`/`MPI_Recv` (a probe first
    ///   for an unknown length) of the slice's elements with their MPI datatype;
    /// - `barrier`, `broadcast_buffer`, `reduce_buffer`, `all_reduce_buffer`,
    ///   `gather_buffer_into`, `scatter_buffer_into` are one `MPI_Barrier`, `MPI_Bcast`,
    ///   `MPI_Reduce`, `MPI_Allreduce`, `MPI_Gather`, `MPI_Scatter` each;
    /// - an object (`send`) is one `MPI_BYTE` message of the codec's bytes (two above
    ///   64 KiB), which a foreign rank can receive and pass on as bytes.
    ///
    /// No private copy means no isolation: a receive with [`Any`](crate::Any) matches
    /// any message on the communicator, and MPI's error handler is the communicator's
    /// own (fatal by default: a message longer than the receive buffer ends the job, as
    /// in C). The view is made on first use and lives as long as `self`. See
    /// `docs/interop.md`.
    ///
    /// ```no_run
    /// # // rspar-doc: skip (its peer is a C rank; examples/mpmd.rs runs with one)
    /// // Rank 0 of `mpirun -n 1 rust_prog : -n 1 c_prog`; the C rank calls
    /// // MPI_Recv(b, 8, MPI_DOUBLE, 0, 7, MPI_COMM_WORLD, &status).
    /// let world = rspar::Init::new().interop(true).init()?;
    /// world.interop().tag(7).send_buffer(&[1.0f64; 8], 1)?;
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn interop(&self) -> &Communicator {
        if self.on_user {
            return self;
        }
        self.interop.get_or_init(|| {
            let view = Communicator::interop_over(Rc::clone(&self.user), Rc::clone(&self.env));
            Box::new(Communicator {
                pools_only: self.pools_only,
                ..view
            })
        })
    }

    /// True when rspar's calls run on [`raw`](Self::raw) itself (an
    /// [`interop`](Self::interop) view, or a world from `Init::new().interop(true)`).
    pub fn is_interop(&self) -> bool {
        self.on_user
    }

    /// A new communicator with the same ranks and a separate message space: messages on
    /// one never match receives on the other. Every rank must call it. On an
    /// [`interop`](Self::interop) communicator it is one `MPI_Comm_dup`, which foreign
    /// ranks call too, and the copy is an interop communicator.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let library = world.duplicate()?;
    /// assert_eq!(library.size(), world.size());
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn duplicate(&self) -> Result<Communicator> {
        self.usable("duplicate")?;
        if self.on_user {
            let copy = Handle::owned(self.user.duplicate());
            return Ok(Communicator::interop_over(
                Rc::new(copy),
                Rc::clone(&self.env),
            ));
        }
        Communicator::new(copy_of(&self.user, 2)?, Rc::clone(&self.env))
    }

    /// Split into sub-communicators: ranks that give the same `color` form one, ordered
    /// by `key` (ties by rank). A rank that gives `None` joins none and gets `None`.
    /// Every rank must call it. On an [`interop`](Self::interop) communicator it is one
    /// `MPI_Comm_split` (`None` is `MPI_UNDEFINED`), which foreign ranks call too, and the
    /// parts are interop communicators.
    ///
    /// ```no_run
    /// // Rows of a process grid with 2 columns.
    /// let world = rspar::init()?;
    /// let row = world.split(Some(world.rank() as u32 / 2), world.rank() as i32)?.unwrap();
    /// assert!(row.size() <= 2);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn split(&self, color: Option<u32>, key: i32) -> Result<Option<Communicator>> {
        self.usable("split")?;
        let color = match color {
            Some(c) => Color::with_value(
                i32::try_from(c).map_err(|_| ErrorKind::InvalidColor { color: c })?,
            ),
            None => Color::undefined(),
        };
        self.user
            .split_by_color_with_key(color, key)
            .map(|part| {
                let part = Handle::owned(part);
                if self.on_user {
                    Ok(Communicator::interop_over(
                        Rc::new(part),
                        Rc::clone(&self.env),
                    ))
                } else {
                    Communicator::new(part, Rc::clone(&self.env))
                }
            })
            .transpose()
    }

    /// This process's rank: `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// How many ranks the communicator has.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The name of the node this rank runs on (`MPI_Get_processor_name`).
    pub fn processor_name(&self) -> String {
        mpi::environment::processor_name()
            .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
    }

    /// The thread level MPI granted.
    pub fn threading(&self) -> Threading {
        self.env.threading
    }

    /// Wait until every rank of the communicator has called `barrier`. Like every rspar
    /// collective it runs on rspar's private copy of the communicator, so it never
    /// matches a collective of your own on [`raw`](Self::raw).
    pub fn barrier(&self) -> Result<()> {
        self.usable("barrier")?;
        let _wait = crate::trace::in_collective("barrier", None);
        ffi::barrier(self.collectives_handle)
    }

    /// End the whole MPI job with exit code `code` (`MPI_Abort`), after printing
    /// `rspar: rank <r> of <n> called abort(<code>)` to stderr; the same as
    /// [`rspar::abort`](crate::abort).
    pub fn abort(&self, code: i32) -> ! {
        crate::env::abort(code)
    }

    /// Finalize MPI now, consuming the world. Dropping the last communicator does the
    /// same; `finalize` also reports when other communicators still hold MPI open.
    pub fn finalize(self) -> Result<()> {
        self.env.request_finalize();
        // This communicator and its interop view, if made, are one.
        let own = 1 + usize::from(self.interop.get().is_some());
        let others = Rc::strong_count(&self.env) - own;
        drop(self);
        if others > 0 {
            return Err(ErrorKind::InUse { others }.into());
        }
        Ok(())
    }

    /// `rank` as an MPI rank of this communicator, or `Err(InvalidRank)`.
    #[inline]
    pub(crate) fn check_rank(&self, rank: usize) -> Result<i32> {
        if rank < self.size {
            Ok(rank as i32)
        } else {
            Err(invalid_rank(rank, self.size))
        }
    }

    /// The rsmpi communicator underneath, for MPI calls rspar does not wrap (through the
    /// re-exported [`mpi`] crate). rspar's own messages travel on private
    /// duplicates of it, so raw MPI traffic on it and rspar's traffic never mix.
    ///
    /// ```no_run
    /// use rspar::mpi::traits::Communicator as _;
    /// let world = rspar::init()?;
    /// assert_eq!(world.raw().size() as usize, world.size());
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn raw(&self) -> &SimpleCommunicator {
        &self.user
    }

    /// The point-to-point engine (on rspar's private copy, errors returned).
    #[inline]
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The private communicator for rspar's collectives.
    pub(crate) fn collectives(&self) -> &SimpleCommunicator {
        &self.collectives
    }

    /// The raw handle of [`collectives`](Self::collectives), for the collectives made
    /// through `ffi`.
    #[inline]
    pub(crate) fn collectives_handle(&self) -> ffi::Comm {
        self.collectives_handle
    }

    /// The handles rspar's calls use: `user`, the point-to-point and collective copies.
    #[cfg_attr(not(rspar_ulfm), allow(dead_code))] // the ULFM build's
    pub(crate) fn handles(&self) -> [ffi::Comm; 3] {
        [
            ffi::Comm::of(&self.user),
            self.engine.handle(),
            self.collectives_handle,
        ]
    }

    /// After a collective run through rsmpi (which drops MPI's return codes): the
    /// error MPI reported on the collective copy meanwhile, if any (ULFM only).
    #[inline]
    pub(crate) fn collective_outcome(&self, call: &'static str) -> Result<()> {
        crate::fault::collective_outcome(self.collectives_handle, call)
    }

    /// Hand an unfinished nonblocking send to the environment (see `Env::park`).
    pub(crate) fn park(&self, send: ffi::OwnedSend) {
        self.env.park(send);
    }
}

#[cold]
fn outside_pool(call: &'static str) -> crate::Error {
    ErrorKind::Deadlock {
        reason: format!(
            "{call} on the world of a pool worker spawned at run time: this program was run \
             directly (no mpirun), its pool's workers are copies of it that run main too, \
             and nothing outside a pool answers their world calls (the parent's world is \
             its one rank); launch it with mpirun -n N, or skip world communication where \
             rspar::spawned() is true"
        ),
    }
    .into()
}

#[cold]
fn invalid_rank(rank: usize, size: usize) -> crate::Error {
    ErrorKind::InvalidRank { rank, size }.into()
}

impl std::fmt::Debug for Communicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Communicator")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("interop", &self.on_user)
            .finish_non_exhaustive()
    }
}

/// A new communicator with `comm`'s ranks (the same order) and a message space of its own:
/// `MPI_Comm_create_group` over its whole group (`tag` tells concurrent calls apart).
///
/// Not `MPI_Comm_dup`: Open MPI 4 agrees on a dup's context id with a nonblocking
/// all-reduce, which leaves its libnbc progress callback (and at times its communicator
/// request callback) in every later wait of the process, and each poll of every receive
/// pays for them: a few percent of small-message latency. `MPI_Comm_create_group`
/// agrees by point-to-point messages and leaves nothing behind.
///
/// With ULFM on, `MPI_Comm_dup` after all: Open MPI 5.0.11's `MPI_Comm_create_group`
/// waits forever when a process of the group has died, where its dup fails (errors
/// returned: `ProcessFailed`), so a crash before a pool's start ends the job through
/// rspar's error path instead of hanging it.
fn copy_of(comm: &SimpleCommunicator, tag: i32) -> Result<Handle> {
    #[cfg(rspar_ulfm)]
    if crate::fault::enabled() {
        return ffi::ulfm::dup(comm).map(Handle::owned);
    }
    comm.split_by_subgroup_with_tag(&comm.group(), tag)
        .map(Handle::owned)
        .ok_or_else(|| {
            ErrorKind::Mpi {
                call: "MPI_Comm_create_group",
                class: 0,
                message: "MPI made no communicator for the whole group".into(),
            }
            .into()
        })
}
