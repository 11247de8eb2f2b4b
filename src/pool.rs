//! The pool: `multiprocessing.Pool` over the ranks of a communicator. Every rank
//! computes, the root included; tasks are submitted one by one (futures) or as streams
//! (`map`, `imap`, `imap_unordered`), with dynamic load balancing, batching of tiny
//! tasks, retries, task failures that name the task and its rank, and a progress bar.
//!
//! **One program, every rank.** Every rank runs `main` and calls [`Pool::new`] with the
//! same function. On the root (rank 0) it returns `Some(pool)`; on every other rank it
//! serves tasks until the root closes or drops its pool, then returns `None`. So the
//! same code runs under `mpirun -n N` and run directly.
//!
//! **Run directly** (no launcher: a world of one rank), the root spawns workers at run
//! time, copies of this program with the same arguments (`MPI_Comm_spawn`), so that one
//! process per processor computes ([`Builder::ranks`] sets how many, [`Builder::spawn`]
//! turns it off or on under a launcher). They are spawned at the pool's first use while
//! the root computes its first batch. A spawned copy runs `main`; its `rspar::init()`
//! returns the spawn's world (the root is rank 0 there, the copies 1..), and its
//! `Pool::new` serves the root's pool and then the root's later pools in order.
//! [`Pool::grow`], [`Pool::shrink`] and [`Pool::resize`] change the workers while the
//! pool runs. Where MPI cannot spawn (MPICH with the ucx device) the pool says so in
//! one line on stderr and computes on the processes it has.
//!
//! ```no_run
//! fn fib(n: u64) -> u64 {
//!     if n <= 2 { 1 } else { fib(n - 1) + fib(n - 2) }
//! }
//! let world = rspar::init()?;
//! if let Some(pool) = rspar::Pool::new(&world, fib)? {
//!     println!("{:?}", pool.map([38, 37, 36, 35, 34, 33])?);
//!     let task = pool.submit(30);            // a handle, at once
//!     for result in pool.imap(20..25) {       // in input order, as they come
//!         println!("{}", result?);
//!     }
//!     println!("fib(30) = {}", task.wait()?);
//! }
//! # Ok::<(), rspar::Error>(())
//! ```
//!
//! **The root computes** when its node has no more of the pool's ranks than processors
//! (so `mpirun -n 2` on 2 cores computes on both; with `-n 3` there, the root only
//! dispatches, since a third busy process would only slow the two workers down);
//! [`Builder::root_computes`] overrides it, and a pool of one rank always computes.
//! Only the root's main thread calls MPI (rspar initialises it
//! with `Threading::Single`), and work moves only while the root is inside a pool call
//! (`wait`, `map`, an iterator's `next`, ...): it then collects reports, hands the next
//! batch to each idle worker, and runs the root's own share of the tasks. How it runs
//! them depends on their length, measured on the root's last batch:
//! - batches of 1 ms or more (and the first one) run on a compute thread beside the
//!   dispatcher, started for the length of the call (a scoped thread, so the function
//!   may borrow: it must be `Sync`, inputs and outputs `Send`, nothing `'static`). The
//!   dispatcher waits parked (its compute thread wakes it when a batch is done), and
//!   for reports naps at most a hundredth of the time since its last hand-out (so a
//!   worker that finishes waits about 1% of its batch at most, and the dispatcher does
//!   not wake thousands of times a second on the core its compute thread needs); the
//!   call returns once the root's batch is done too;
//! - shorter batches run on the main thread between hand-outs: a worker then waits at
//!   most one such batch, less than starting a thread would cost.
//!
//! Computing only between hand-outs was measured first: a worker that finished while
//! the root was inside a long task waited for the rest of it (fib 44..39 on 2 ranks: up
//! to a fifth of the run). A compute thread that outlives the call would need
//! `'static` bounds on the function; this one does not. With one rank every task runs
//! on the main thread. Between pool calls nothing moves: workers finish the batch they
//! hold and wait.
//!
//! **Scheduling.** Tasks run in submission order, one batch in flight per worker.
//! Batches shrink as the queue does (guided self-scheduling: an eighth of an equal
//! share per rank, at least one task), so a million tiny tasks travel in large batches
//! and a few large ones one at a time; give the most expensive tasks first.
//! [`Builder::chunk`] fixes the size.
//!
//! **Streams.** `map`, `imap` and `imap_unordered` take any `IntoIterator` and pull it
//! lazily, at most [`Builder::in_flight`] tasks ahead of the caller (default
//! [`IN_FLIGHT`]), so an endless input runs in bounded memory. `map_timeout` bounds a
//! whole map.
//!
//! **Time limits** (`wait_timeout`, `map_timeout`) are checked between batches: a call
//! returns late by at most the root's batch in progress.
//!
//! **Failures.** A task that panics or returns `Err` ([`Pool::try_new`]) does not kill
//! its rank. It is retried up to [`Builder::retries`] times (on whichever rank is free
//! next); then waiting for it gives `Err(TaskFailed { index, rank, message })`, and a
//! stream yields that error and ends (its queued tasks are cancelled). The pool stays
//! usable.
//!
//! **Several functions.** A pool serves one function; the workers are inside its
//! constructor until the root's pool is gone, so on the root one pool must be closed
//! (or dropped) before the next is made, and every rank makes them in the same order.
//! For several kinds of task at the same time, use one pool over an enum of task kinds
//! (and an enum of results). One function per pool keeps the types checked end to end
//! and needs no registry of names that every rank would have to build alike.
//!
//! Pool messages travel on a private duplicate of the communicator, so they never meet
//! the program's own messages; any communicator works, split ones included.

mod core;
mod progress;
mod resize;
pub(crate) mod spawn;
mod stream;
mod task;
mod worker;

use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use progress::Progress;
pub use stream::{Imap, ImapUnordered};
pub use task::Task;

use self::core::Core;
use crate::comm::Communicator;
use crate::error::Result;

/// The default bound on a stream's tasks between its input and its caller.
pub const IN_FLIGHT: usize = 65_536;

/// A pool on the root; see the [module docs](self).
pub struct Pool<'f, I, O> {
    core: RefCell<Core<'f, I, O>>,
    progress: Progress,
    in_flight: usize,
    next_stream: Cell<u32>,
    closed: bool,
    /// This pool's number in the process (spawned children count alike).
    number: usize,
}

impl<I, O> std::fmt::Debug for Pool<'_, I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("in_flight", &self.in_flight)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

/// A pool's options: `Pool::builder(&comm).chunk(..).retries(..).build(f)`.
#[derive(Debug, Clone)]
pub struct Builder<'c> {
    comm: &'c Communicator,
    chunk: Option<usize>,
    retries: usize,
    progress: Progress,
    in_flight: usize,
    ranks: Option<usize>,
    root_computes: Option<bool>,
    spawn: Option<bool>,
}

impl Pool<'static, (), ()> {
    /// A pool with options; [`Pool::new`] uses the defaults.
    pub fn builder(comm: &Communicator) -> Builder<'_> {
        Builder {
            comm,
            chunk: None,
            retries: 0,
            progress: Progress::Auto,
            in_flight: IN_FLIGHT,
            ranks: None,
            root_computes: None,
            spawn: None,
        }
    }
}

impl<'c> Builder<'c> {
    /// Tasks per batch (at least 1). Default: shrinking with the queue.
    pub fn chunk(mut self, tasks: usize) -> Self {
        self.chunk = Some(tasks.max(1));
        self
    }

    /// How many times a failed task is tried again before it fails (default 0).
    pub fn retries(mut self, times: usize) -> Self {
        self.retries = times;
        self
    }

    /// When the root shows a progress bar for a stream (default [`Progress::Auto`]).
    pub fn progress(mut self, when: Progress) -> Self {
        self.progress = when;
        self
    }

    /// The most tasks a stream keeps between its input and its caller (at least 1;
    /// default [`IN_FLIGHT`]).
    pub fn in_flight(mut self, tasks: usize) -> Self {
        self.in_flight = tasks.max(1);
        self
    }

    /// How many processes compute, the root included (at least 1). Under a launcher:
    /// only the first `ranks` ranks of the communicator (the others return `None` at
    /// once). Run directly (one process, no launcher): spawn `ranks - 1` workers (`1`:
    /// everything in this process). Default: every rank launched, or run directly one
    /// process per processor online.
    pub fn ranks(mut self, ranks: usize) -> Self {
        self.ranks = Some(ranks.max(1));
        self
    }

    /// Whether the root runs tasks beside dispatching them. Default: when its node has
    /// no more of the pool's ranks than processors online (so `mpirun -n 2` on 2 cores uses both,
    /// and with `-n 3` the root leaves the cores to the two workers, as an
    /// oversubscribed root would only slow them). A pool of one rank always computes.
    pub fn root_computes(mut self, yes: bool) -> Self {
        self.root_computes = Some(yes);
        self
    }

    /// Whether the root spawns workers at run time (`MPI_Comm_spawn` of this program)
    /// to reach [`ranks`](Self::ranks) processes. Default: when run directly (a world of
    /// one rank, no launcher); `true` also spawns under a launcher when `ranks` is more
    /// than the communicator has; `false` never spawns. Where MPI cannot spawn (MPICH
    /// with the ucx device), the pool says so in one line on stderr and runs on the
    /// processes it has.
    pub fn spawn(mut self, yes: bool) -> Self {
        self.spawn = Some(yes);
        self
    }

    /// Make the pool for `f`: `Some(pool)` on the root; on the other ranks, serve
    /// tasks until the root's pool is gone, then `None`. Every rank must call it.
    pub fn build<'f, I, O, F>(self, f: F) -> Result<Option<Pool<'f, I, O>>>
    where
        I: Serialize + DeserializeOwned + Send,
        O: Serialize + DeserializeOwned + Send,
        F: Fn(I) -> O + Sync + 'f,
    {
        self.try_build(move |x| Ok::<O, std::convert::Infallible>(f(x)))
    }

    /// Like [`build`](Self::build) for a function that can fail: its `Err` fails the
    /// task.
    pub fn try_build<'f, I, O, E, F>(self, f: F) -> Result<Option<Pool<'f, I, O>>>
    where
        I: Serialize + DeserializeOwned + Send,
        O: Serialize + DeserializeOwned + Send,
        E: Display,
        F: Fn(I) -> std::result::Result<O, E> + Sync + 'f,
    {
        let number = spawn::next_pool();
        if let Some(serves) = spawn::child_serves(number) {
            // A spawned worker: the parent decides everything; serve on the world.
            if !serves {
                return Ok(None);
            }
            let comm = spawn::child_pool_comm(self.comm)?;
            comm.gather(&comm.processor_name(), worker::ROOT)?;
            let f = worker::boxed(f);
            match worker::serve(&comm, &*f)? {
                worker::Ended::Released => spawn::retire(),
                worker::Ended::Stopped(active) => spawn::note_active(active),
            }
            return Ok(None);
        }
        let comm = match self.ranks {
            Some(n) if n < self.comm.size() => {
                let rank = self.comm.rank();
                match self.comm.split((rank < n).then_some(0), rank as i32)? {
                    Some(comm) => comm,
                    None => return Ok(None),
                }
            }
            _ => self.comm.duplicate()?,
        };
        let f = worker::boxed(f);
        // How many of the pool's ranks share the root's node (every rank takes part).
        let names = comm.gather(&comm.processor_name(), worker::ROOT)?;
        if comm.rank() != worker::ROOT {
            worker::serve(&comm, &*f)?;
            return Ok(None);
        }
        let mut names = names.unwrap_or_default();
        // Children of earlier spawns are in this pool's constructor now: link them.
        let mut spawned = Vec::new();
        for (group, ranks) in spawn::active_groups() {
            let link = spawn::pool_comm(group, &ranks, &comm)?;
            // The workers' names (the root's first, counted already).
            names.extend(
                link.gather(&link.processor_name(), worker::ROOT)?
                    .unwrap_or_default()
                    .into_iter()
                    .skip(1),
            );
            spawned.push((link, group, ranks));
        }
        let have = comm.size() + spawned.iter().map(|s| s.2.len()).sum::<usize>();
        // New workers are spawned at the pool's first use, while the root computes its
        // first batch (the spawn blocks for about 0.3 s); they run on this node.
        let wanted = spawn::wanted(have, self.ranks, self.spawn);
        let root_computes = self.root_computes.unwrap_or_else(|| {
            let here = comm.processor_name();
            let neighbours = names.iter().filter(|n| **n == here).count() + wanted;
            neighbours <= crate::ffi::cpus_online()
        });
        let mut core = Core::new(comm, f, self.chunk, self.retries, root_computes);
        for (link, group, ranks) in spawned {
            core.add_link(link, group, &ranks);
        }
        if wanted > 0 {
            core.spawn_later(wanted, number);
        }
        // More children than asked for (a later pool with fewer ranks): release some.
        if let Some(n) = self.ranks {
            let extra = core.ranks().saturating_sub(n.max(1));
            if extra > 0 {
                core.release(extra)?;
            }
        }
        Ok(Some(Pool {
            core: RefCell::new(core),
            progress: self.progress,
            in_flight: self.in_flight,
            next_stream: Cell::new(0),
            closed: false,
            number,
        }))
    }
}

impl<'f, I, O> Pool<'f, I, O>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    /// A pool for `f` with the default options; see the [module docs](self).
    pub fn new<F>(comm: &Communicator, f: F) -> Result<Option<Pool<'f, I, O>>>
    where
        F: Fn(I) -> O + Sync + 'f,
    {
        Pool::builder(comm).build(f)
    }

    /// A pool for a fallible `f`: its `Err` fails the task.
    pub fn try_new<E, F>(comm: &Communicator, f: F) -> Result<Option<Pool<'f, I, O>>>
    where
        E: Display,
        F: Fn(I) -> std::result::Result<O, E> + Sync + 'f,
    {
        Pool::builder(comm).try_build(f)
    }

    /// The ranks that run tasks, the root included.
    pub fn ranks(&self) -> usize {
        let mut core = self.core.borrow_mut();
        core.settle();
        core.ranks()
    }

    /// Whether the root runs tasks too (see [`Builder::root_computes`]).
    pub fn root_computes(&self) -> bool {
        let mut core = self.core.borrow_mut();
        core.settle();
        core.root_computes()
    }

    /// How many tasks each process has run so far (retries count again), by worker id:
    /// the launched ranks first (the root is 0), then spawned workers in the order they
    /// joined.
    pub fn tasks_per_rank(&self) -> Vec<usize> {
        let mut core = self.core.borrow_mut();
        core.settle();
        core.ran().to_vec()
    }

    /// Queue one task and return its handle at once (an idle worker gets it now).
    pub fn submit(&self, input: I) -> Task<'_, O> {
        let mut core = self.core.borrow_mut();
        let id = core.submit(input, None, None);
        let index = core.index_of(id);
        // An input that cannot be encoded, or a hand-out that cannot be sent, fails its
        // tasks (their waits give the error); the pool goes on.
        let _ = core.dispatch();
        Task {
            core: &self.core,
            id,
            index,
            spent: false,
        }
    }

    /// Every input's result, in input order. The first failure (in input order) is
    /// the error; the map's other tasks are then cancelled or dropped.
    pub fn map<It: IntoIterator<Item = I>>(&self, inputs: It) -> Result<Vec<O>> {
        Imap::new(self, inputs.into_iter(), None).collect()
    }

    /// Like [`map`](Self::map), failing with `Err(PoolTimeout)` when the whole map
    /// takes longer than `limit` (its unfinished tasks are then cancelled or dropped).
    pub fn map_timeout<It: IntoIterator<Item = I>>(
        &self,
        inputs: It,
        limit: Duration,
    ) -> Result<Vec<O>> {
        Imap::new(self, inputs.into_iter(), Some(limit)).collect()
    }

    /// The results in input order, each as soon as it and all before it are done.
    pub fn imap<It: IntoIterator<Item = I>>(&self, inputs: It) -> Imap<'_, 'f, I, O, It::IntoIter> {
        Imap::new(self, inputs.into_iter(), None)
    }

    /// The results in finishing order, each with its input's index.
    pub fn imap_unordered<It: IntoIterator<Item = I>>(
        &self,
        inputs: It,
    ) -> ImapUnordered<'_, 'f, I, O, It::IntoIter> {
        ImapUnordered::new(self, inputs.into_iter(), None)
    }

    /// Let the tasks in flight finish and release the workers (their constructors
    /// return `None`). Dropping the pool does the same, ignoring errors.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.core.get_mut().close()
    }
}

impl<I, O> Drop for Pool<'_, I, O> {
    fn drop(&mut self) {
        if !self.closed {
            self.closed = true;
            let _ = self.core.get_mut().close_untyped();
        }
    }
}

/// What a [`Task`] needs of its pool, whatever the pool's input type.
pub(crate) trait Drive<O> {
    /// Work until the task is done (true) or the deadline passes (false).
    fn progress_until(&self, id: u64, deadline: Option<Instant>) -> Result<bool>;
    /// One step without waiting (one batch may run on the root); true if done.
    fn step(&self, id: u64) -> Result<bool>;
    fn take(&self, id: u64) -> Option<(usize, Result<O>)>;
    fn cancel(&self, id: u64) -> bool;
    fn detach(&self, id: u64);
}

impl<I, O> Drive<O> for RefCell<Core<'_, I, O>>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    fn progress_until(&self, id: u64, deadline: Option<Instant>) -> Result<bool> {
        self.borrow_mut().progress(deadline, |c| c.ready(id))
    }

    fn step(&self, id: u64) -> Result<bool> {
        let mut core = self.borrow_mut();
        core.settle();
        core.step()?;
        if !core.ready(id) {
            core.run_one_batch()?;
        }
        Ok(core.ready(id))
    }

    fn take(&self, id: u64) -> Option<(usize, Result<O>)> {
        self.borrow_mut().take(id)
    }

    fn cancel(&self, id: u64) -> bool {
        self.borrow_mut().cancel(id)
    }

    fn detach(&self, id: u64) {
        if let Ok(mut core) = self.try_borrow_mut() {
            core.detach(id);
        }
    }
}
