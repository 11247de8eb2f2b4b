//! A worker rank's side of a pool, and the messages between the root and its workers.
//!
//! A worker waits for an order with the sleeping back-off (`backoff::poll_until`), so a
//! worker that has finished leaves its core to the root at once, runs the batch, reports
//! every task's value or failure message, and waits again until the root says stop.

use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::comm::Communicator;
use crate::error::Result;
use crate::wire;

/// The root's rank in the pool's communicator.
pub(crate) const ROOT: usize = 0;
/// Tag of the root's orders.
pub(crate) const ORDER: i32 = 1;
/// Tag of the workers' reports.
pub(crate) const REPORT: i32 = 2;

/// What the root sends a worker: a batch of (task id, input); stop (the pool is
/// closed); or release (the pool shrank: a spawned worker serves no more pools).
#[derive(Serialize, Deserialize)]
pub(crate) enum Order<I> {
    Work(Vec<(u64, I)>),
    /// The ranks of a spawned worker's group that serve on (empty for launched ranks).
    Stop(Vec<usize>),
    Release,
}

/// How a worker's service ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    Stopped(Vec<usize>),
    Released,
}

/// What a worker sends back: each task's id and its value or failure message.
pub(crate) type Report<O> = Vec<(u64, std::result::Result<O, String>)>;

/// A worker's wait for its next order: polls (a blocking MPI receive would spin on the
/// core the root may need).
fn wait_for_order<I: DeserializeOwned>(comm: &Communicator) -> Result<Order<I>> {
    let mut request = comm.tag(ORDER).ireceive::<Order<I>>(ROOT);
    let _wait = crate::trace::receiving("pool (worker waiting for work)", Some(ROOT), Some(ORDER));
    let order = crate::backoff::poll_until(None, || request.test())?
        .expect("with no limit, poll_until returns only what it found");
    Ok(order)
}

/// Serve batches until the root says stop or release.
pub(crate) fn serve<I, O>(
    comm: &Communicator,
    f: &dyn Fn(I) -> std::result::Result<O, String>,
) -> Result<Ended>
where
    I: DeserializeOwned,
    O: Serialize,
{
    loop {
        let batch = match wait_for_order::<I>(comm)? {
            Order::Work(batch) => batch,
            Order::Stop(active) => return Ok(Ended::Stopped(active)),
            Order::Release => return Ok(Ended::Released),
        };
        let report: Report<O> = batch
            .into_iter()
            .map(|(id, input)| (id, run_task(f, input)))
            .collect();
        let bytes = wire::encode(&report).or_else(|err| {
            // An output that does not encode fails its tasks, not the pool.
            let failed: Report<O> = report
                .iter()
                .map(|(id, _)| (*id, Err(err.to_string())))
                .collect();
            wire::encode(&failed)
        })?;
        comm.tag(REPORT).send_encoded(bytes, ROOT)?;
    }
}

/// Run one task; a panic becomes the failure message (an `Err` already is one).
pub(crate) fn run_task<I, O>(
    f: &dyn Fn(I) -> std::result::Result<O, String>,
    input: I,
) -> std::result::Result<O, String> {
    match crate::env::catch_task_panic(|| f(input)) {
        Ok(outcome) => outcome,
        Err(panic) => Err(format!("panicked: {panic}")),
    }
}

/// The user's fallible function as the pool stores it: its `Err` as text.
pub(crate) fn boxed<'f, I, O, E, F>(
    f: F,
) -> Box<dyn Fn(I) -> std::result::Result<O, String> + Sync + 'f>
where
    E: Display,
    F: Fn(I) -> std::result::Result<O, E> + Sync + 'f,
{
    Box::new(move |input| f(input).map_err(|err| err.to_string()))
}
