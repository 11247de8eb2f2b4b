//! The task farm: one call of [`Pool`]'s `map`, for programs written
//! before the pool. Prefer the [pool](crate::pool), which does all of this and more
//! (futures, streams, a time limit); these functions stay as thin calls of it.
//!
//! Every rank calls [`map`] (or [`try_map`], or a configured [`Farm`]) with the same
//! closure; only the root's inputs matter. The root gets the results in input order;
//! the other ranks serve tasks and get `None`. Every rank computes, the root included
//! (see the pool's docs for scheduling, failures and retries).
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

use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use crate::pool::Progress;

use crate::comm::Communicator;
use crate::error::Result;
use crate::pool::Pool;

/// Run `f` on every input across the ranks of `comm`; see the [module docs](self).
pub fn map<I, O, F>(comm: &Communicator, inputs: Vec<I>, f: F) -> Result<Option<Vec<O>>>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
    F: Fn(I) -> O + Sync,
{
    Farm::new().map(comm, inputs, f)
}

/// Like [`map`] for tasks that can fail: an `Err` from `f` is a failed task.
pub fn try_map<I, O, E, F>(comm: &Communicator, inputs: Vec<I>, f: F) -> Result<Option<Vec<O>>>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
    E: Display,
    F: Fn(I) -> std::result::Result<O, E> + Sync,
{
    Farm::new().try_map(comm, inputs, f)
}

/// A farm with options; [`map`] and [`try_map`] use the defaults. The options are the
/// pool's ([`crate::pool::Builder`]).
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

impl Farm {
    /// The defaults: automatic batch size, no retries, [`Progress::Auto`].
    pub fn new() -> Farm {
        Farm::default()
    }

    /// Tasks per batch (at least 1). Default: shrinking with the queue.
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
        I: Serialize + DeserializeOwned + Send,
        O: Serialize + DeserializeOwned + Send,
        F: Fn(I) -> O + Sync,
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
        I: Serialize + DeserializeOwned + Send,
        O: Serialize + DeserializeOwned + Send,
        E: Display,
        F: Fn(I) -> std::result::Result<O, E> + Sync,
    {
        let mut builder = Pool::builder(comm)
            .retries(self.retries)
            .progress(self.progress)
            .in_flight(inputs.len().max(1));
        if let Some(chunk) = self.chunk {
            builder = builder.chunk(chunk);
        }
        let Some(pool) = builder.try_build(&f)? else {
            return Ok(None);
        };
        let results = pool.map(inputs);
        pool.close()?;
        results.map(Some)
    }
}
