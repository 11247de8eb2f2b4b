//! The task farm: `Pool.map` over the ranks of a communicator, with dynamic load
//! balancing, fault-tolerant tasks and a progress bar.
//!
//! Every rank calls [`map`] (or [`try_map`], or a configured [`Farm`]) with the same
//! closure; only the root's inputs matter. The root (rank 0) hands out batches of tasks
//! and collects the results; every other rank is a worker that runs a batch, reports, and
//! gets the next one: a worker that finishes early simply gets more work. The root gets
//! the results in input order; the other ranks get `None`.
//!
//! ```no_run
//! fn fib(n: u64) -> u64 {
//!     if n <= 2 { 1 } else { fib(n - 1) + fib(n - 2) }
//! }
//! let world = rspar::init()?;
//! let inputs = if world.rank() == 0 { vec![38, 37, 36, 35, 34, 33] } else { vec![] };
//! if let Some(results) = rspar::farm::map(&world, inputs, fib)? {
//!     println!("{results:?}");
//! }
//! # Ok::<(), rspar::Error>(())
//! ```
//!
//! **Scheduling.** Tasks are dispatched in input order, one batch in flight per worker:
//! give the most expensive tasks first (as the seed's `fib(38), fib(37), ...` does) and
//! the last tasks to finish are the short ones. Batches are one task when there are few
//! tasks, and grow for many tiny tasks (about eight batches per worker) so dispatch costs
//! little; [`Farm::chunk`] sets the size.
//!
//! **The root does not compute.** It waits for reports by polling with a sleeping back-off
//! rather than MPI's busy wait, so on a machine with fewer cores than ranks it leaves the
//! cores to the workers: run `size = cores + 1` ranks. A worker waits for its next batch
//! the same way, so the core it frees is there for the root at once. With one rank the
//! tasks run in-process.
//!
//! **Failures.** A task that panics or returns `Err` does not kill its worker. It is
//! retried up to [`Farm::retries`] times (on whichever worker is free next), then the
//! farm stops handing out work, lets the batches in flight finish, releases the workers,
//! and the root gets `Err(TaskFailed { index, rank, message })`. Every rank leaves the
//! farm, and the communicator stays usable.
//!
//! Farm messages travel on a private duplicate of the communicator, so they never meet
//! the program's own messages.

mod progress;

use std::collections::VecDeque;
use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use progress::Progress;

use crate::comm::Communicator;
use crate::envelope::Any;
use crate::error::{ErrorKind, Result};
use crate::wire;

const ROOT: usize = 0;
const ORDER: i32 = 1;
const REPORT: i32 = 2;

/// Run `f` on every input across the ranks of `comm`; see the [module docs](self).
pub fn map<I, O, F>(comm: &Communicator, inputs: Vec<I>, f: F) -> Result<Option<Vec<O>>>
where
    I: Serialize + DeserializeOwned,
    O: Serialize + DeserializeOwned,
    F: Fn(I) -> O,
{
    Farm::new().map(comm, inputs, f)
}

/// Like [`map`] for tasks that can fail: an `Err` from `f` is a failed task.
pub fn try_map<I, O, E, F>(comm: &Communicator, inputs: Vec<I>, f: F) -> Result<Option<Vec<O>>>
where
    I: Serialize + DeserializeOwned,
    O: Serialize + DeserializeOwned,
    E: Display,
    F: Fn(I) -> std::result::Result<O, E>,
{
    Farm::new().try_map(comm, inputs, f)
}

/// A farm with options; [`map`] and [`try_map`] use the defaults.
///
/// ```no_run
/// use rspar::farm::{Farm, Progress};
/// let world = rspar::init()?;
/// let inputs: Vec<u64> = if world.rank() == 0 { (0..1_000_000).collect() } else { vec![] };
/// let squares = Farm::new()
///     .chunk(10_000)
///     .retries(2)
///     .progress(Progress::Always)
///     .map(&world, inputs, |x| x * x)?;
/// # Ok::<(), rspar::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Farm {
    chunk: Option<usize>,
    retries: usize,
    progress: Progress,
}

/// What the root sends a worker.
#[derive(Serialize, Deserialize)]
enum Order<I> {
    Work(Vec<(usize, I)>),
    Stop,
}

/// What a worker sends back: each task's index and its value or failure message.
type Report<O> = Vec<(usize, std::result::Result<O, String>)>;

impl Farm {
    /// The defaults: automatic batch size, no retries, [`Progress::Auto`].
    pub fn new() -> Farm {
        Farm::default()
    }

    /// Tasks per batch (at least 1). Default: 1 for few tasks, more for many tiny ones.
    pub fn chunk(mut self, tasks: usize) -> Farm {
        self.chunk = Some(tasks.max(1));
        self
    }

    /// How many times a failed task is tried again before the farm fails (default 0).
    pub fn retries(mut self, times: usize) -> Farm {
        self.retries = times;
        self
    }

    /// When the root shows a progress bar (default [`Progress::Auto`]).
    pub fn progress(mut self, when: Progress) -> Farm {
        self.progress = when;
        self
    }

    /// Run `f` on every input; see [`map`].
    pub fn map<I, O, F>(&self, comm: &Communicator, inputs: Vec<I>, f: F) -> Result<Option<Vec<O>>>
    where
        I: Serialize + DeserializeOwned,
        O: Serialize + DeserializeOwned,
        F: Fn(I) -> O,
    {
        self.try_map(comm, inputs, |x| Ok::<O, std::convert::Infallible>(f(x)))
    }

    /// Run a fallible `f` on every input; see [`try_map`].
    pub fn try_map<I, O, E, F>(
        &self,
        comm: &Communicator,
        inputs: Vec<I>,
        f: F,
    ) -> Result<Option<Vec<O>>>
    where
        I: Serialize + DeserializeOwned,
        O: Serialize + DeserializeOwned,
        E: Display,
        F: Fn(I) -> std::result::Result<O, E>,
    {
        let farm = comm.duplicate()?;
        if farm.rank() != ROOT {
            work(&farm, &f)?;
            return Ok(None);
        }
        let mut bar = progress::Bar::new(self.progress, inputs.len());
        let result = if farm.size() == 1 {
            self.run_here(inputs, &f, &mut bar)
        } else {
            self.lead(&farm, &inputs, &mut bar)
        };
        bar.finish();
        result.map(Some)
    }

    /// One rank: run every task in this process, in order.
    fn run_here<I, O, E, F>(&self, inputs: Vec<I>, f: &F, bar: &mut progress::Bar) -> Result<Vec<O>>
    where
        I: Serialize + DeserializeOwned,
        E: Display,
        F: Fn(I) -> std::result::Result<O, E>,
    {
        let mut results = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            // A retry needs the input again: keep its encoding, decode a fresh copy.
            let bytes = (self.retries > 0)
                .then(|| wire::encode(&input))
                .transpose()?;
            let mut next = Some(input);
            let mut tries = 0;
            let value = loop {
                let input = match next.take() {
                    Some(input) => input,
                    None => wire::decode(bytes.as_deref().unwrap_or_default())?,
                };
                match run_task(f, input) {
                    Ok(value) => break value,
                    Err(_) if tries < self.retries => tries += 1,
                    Err(message) => {
                        return Err(ErrorKind::TaskFailed {
                            index,
                            rank: ROOT,
                            message,
                        }
                        .into());
                    }
                }
            };
            results.push(value);
            bar.advance(1);
        }
        Ok(results)
    }

    /// The root of a farm of several ranks: dispatch, collect, release the workers.
    fn lead<I, O>(
        &self,
        farm: &Communicator,
        inputs: &[I],
        bar: &mut progress::Bar,
    ) -> Result<Vec<O>>
    where
        I: Serialize + DeserializeOwned,
        O: Serialize + DeserializeOwned,
    {
        let workers = farm.size() - 1;
        let chunk = self.chunk.unwrap_or((inputs.len() / (workers * 8)).max(1));
        let mut queue: VecDeque<usize> = (0..inputs.len()).collect();
        let mut tries = vec![0usize; inputs.len()];
        let mut results: Vec<Option<O>> = inputs.iter().map(|_| None).collect();
        let mut failure = None;
        let mut busy = 0;
        let dispatch = |queue: &mut VecDeque<usize>, worker: usize| -> Result<bool> {
            let batch: Vec<(usize, &I)> = queue
                .drain(..chunk.min(queue.len()))
                .map(|i| (i, &inputs[i]))
                .collect();
            if batch.is_empty() {
                return Ok(false);
            }
            let bytes = wire::encode_as::<Order<I>, _>(&Order::Work(batch))?;
            farm.tag(ORDER).send_encoded(bytes, worker)?;
            Ok(true)
        };
        for worker in 1..=workers {
            busy += usize::from(dispatch(&mut queue, worker)?);
        }
        while busy > 0 {
            let (report, source) = wait_for_report::<O>(farm)?;
            busy -= 1;
            for (index, outcome) in report {
                match outcome {
                    Ok(value) => {
                        results[index] = Some(value);
                        bar.advance(1);
                    }
                    Err(_) if tries[index] < self.retries => {
                        tries[index] += 1;
                        queue.push_back(index);
                    }
                    Err(message) => {
                        failure.get_or_insert(ErrorKind::TaskFailed {
                            index,
                            rank: source,
                            message,
                        });
                    }
                }
            }
            if failure.is_none() {
                busy += usize::from(dispatch(&mut queue, source)?);
            }
        }
        for worker in 1..=workers {
            farm.tag(ORDER).send(&Order::<I>::Stop, worker)?;
        }
        match failure {
            Some(kind) => Err(kind.into()),
            None => Ok(results
                .into_iter()
                .map(|r| r.expect("every task reported"))
                .collect()),
        }
    }
}

/// The root's wait for the next report: polls with a sleeping back-off, so a root that
/// has nothing to do leaves the CPU to the workers.
fn wait_for_report<O: DeserializeOwned>(farm: &Communicator) -> Result<(Report<O>, usize)> {
    let mut request = farm.tag(REPORT).ireceive::<Report<O>>(Any);
    let _wait = crate::watch::receive("farm (root waiting for a report)", None, Some(REPORT));
    let (report, status) = crate::pending::poll_until(None, || request.test())?
        .expect("with no limit, poll_until returns only what it found");
    Ok((report, status.source))
}

/// A worker's wait for its next order, polling like the root: a worker that has
/// finished leaves its core to the root (MPI's blocking receive would spin on it), so on
/// a machine with one core per worker the root answers at once.
fn wait_for_order<I: DeserializeOwned>(farm: &Communicator) -> Result<Order<I>> {
    let mut request = farm.tag(ORDER).ireceive::<Order<I>>(ROOT);
    let _wait = crate::watch::receive("farm (worker waiting for work)", Some(ROOT), Some(ORDER));
    let (order, _) = crate::pending::poll_until(None, || request.test())?
        .expect("with no limit, poll_until returns only what it found");
    Ok(order)
}

/// A worker: run batches until the root says stop.
fn work<I, O, E, F>(farm: &Communicator, f: &F) -> Result<()>
where
    I: DeserializeOwned,
    O: Serialize,
    E: Display,
    F: Fn(I) -> std::result::Result<O, E>,
{
    loop {
        let batch = match wait_for_order::<I>(farm)? {
            Order::Work(batch) => batch,
            Order::Stop => return Ok(()),
        };
        let report: Report<O> = batch
            .into_iter()
            .map(|(i, input)| (i, run_task(f, input)))
            .collect();
        let bytes = wire::encode(&report).or_else(|err| {
            // An output that does not encode fails its tasks, not the farm.
            let failed: Report<O> = report
                .iter()
                .map(|(i, _)| (*i, Err(err.to_string())))
                .collect();
            wire::encode(&failed)
        })?;
        farm.tag(REPORT).send_encoded(bytes, ROOT)?;
    }
}

/// Run one task; a panic or an `Err` becomes the failure message.
fn run_task<I, O, E: Display>(
    f: &impl Fn(I) -> std::result::Result<O, E>,
    input: I,
) -> std::result::Result<O, String> {
    match crate::env::catch_task_panic(|| f(input)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(err.to_string()),
        Err(panic) => Err(format!("panicked: {panic}")),
    }
}
