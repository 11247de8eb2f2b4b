//! The root's progress loop and its share of the tasks: on a compute thread beside the
//! dispatcher when its batches are long, between hand-outs when they are short, all
//! on the main thread in a world of one rank. See the pool's module doc for why.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::super::worker::{run_task, Report, REPORT, ROOT};
use super::Core;
use crate::error::Result;

/// A root batch that takes this long or longer is run on a compute thread beside the
/// dispatcher: a worker that reports meanwhile gets its next batch at once. Shorter
/// batches run on the main thread between hand-outs (starting a thread for them would
/// cost more than a worker waits).
const THREAD_ABOVE: Duration = Duration::from_millis(1);

/// What the root waits for: a worker's report, or its own compute thread's results.
enum Event<O> {
    Reported(Report<O>, usize),
    Computed(Report<O>, Duration),
    /// A worker was lost (ULFM): its tasks are queued again.
    Lost,
}

/// The root's compute thread, for one `progress` call: it runs the batches the
/// dispatcher (the root's main thread, the only one that calls MPI) hands it.
struct Compute<I, O> {
    batches: mpsc::Sender<Vec<(u64, I)>>,
    results: mpsc::Receiver<(Report<O>, Duration)>,
}

impl<I: Send, O: Send> Compute<I, O> {
    fn start<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        f: &'env (dyn Fn(I) -> std::result::Result<O, String> + Sync),
    ) -> Compute<I, O>
    where
        I: 'env,
        O: 'env,
    {
        let (batches, inbox) = mpsc::channel::<Vec<(u64, I)>>();
        let (outbox, results) = mpsc::channel::<(Report<O>, Duration)>();
        // The dispatcher naps parked while it waits: wake it when a batch is done.
        let dispatcher = std::thread::current();
        scope.spawn(move || {
            for batch in inbox {
                let start = Instant::now();
                let report: Report<O> = batch
                    .into_iter()
                    .map(|(id, input)| (id, run_task(f, input)))
                    .collect();
                if outbox.send((report, start.elapsed())).is_err() {
                    break;
                }
                dispatcher.unpark();
            }
        });
        Compute { batches, results }
    }
}

impl<I, O> Core<'_, I, O>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    /// Work until `done` holds (true), or until `deadline` (false). Also returns true
    /// when nothing is queued or running any more (`done` can then never change).
    pub(crate) fn progress(
        &mut self,
        deadline: Option<Instant>,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<bool> {
        self.step()?;
        if done(self) {
            return Ok(true);
        }
        // Workers still to spawn: while the root computes its first batch on its thread
        // (the spawn blocks this one), or now.
        if self.spawn_pending()
            && !(self.root_computes && self.local_time >= THREAD_ABOVE && self.has_queued())
        {
            self.settle();
        }
        if self.alone() && !self.spawn_pending() {
            return self.progress_alone(deadline, done);
        }
        if !self.root_computes || self.local_time < THREAD_ABOVE {
            return self.progress_inline(deadline, done);
        }
        // The function goes to the root's compute thread for the length of this call; a
        // stand-in (a zero-sized closure, no allocation) holds its place.
        let f = std::mem::replace(&mut self.f, Box::new(|_| Err(String::new())));
        let outcome = std::thread::scope(|scope| {
            let mut compute: Option<Compute<I, O>> = None;
            let mut computing = false;
            let mut verdict = None;
            // An error ends the loop (`break Err`), not the call: the batch on the
            // compute thread is collected first (below), so none of its tasks is left
            // running with nobody to finish it.
            macro_rules! attempt {
                ($e:expr) => {
                    match $e {
                        Ok(value) => value,
                        Err(err) => break Err(err),
                    }
                };
            }
            let ended: Result<()> = loop {
                if let Some(helper) = &compute {
                    while let Ok((report, took)) = helper.results.try_recv() {
                        computing = false;
                        self.local_time = took;
                        for (id, outcome) in report {
                            self.finish(id, outcome, ROOT);
                        }
                    }
                }
                attempt!(self.step());
                if verdict.is_none() {
                    if done(self) {
                        verdict = Some(true);
                    } else if deadline.is_some_and(|d| Instant::now() >= d) {
                        verdict = Some(false);
                    }
                }
                if verdict.is_some() && !computing {
                    break Ok(());
                }
                if verdict.is_none() && !computing && self.has_queued() {
                    let batch = self.take_batch();
                    let f = &*f;
                    let helper = compute.get_or_insert_with(|| Compute::start(scope, f));
                    if helper.batches.send(batch).is_ok() {
                        computing = true;
                    }
                    // The root computes: spawn the workers still to come meanwhile.
                    self.settle();
                    continue;
                }
                if verdict.is_none() && !computing && self.loads.busy() == 0 {
                    verdict = Some(true); // nothing queued or running: no change can come
                    break Ok(());
                }
                // Wait for a report or the compute thread's results, sleeping between
                // looks; past the deadline, only for the compute thread's batch.
                let limit = match verdict {
                    None => deadline.map(|d| d.saturating_duration_since(Instant::now())),
                    Some(_) => None,
                };
                let _wait =
                    crate::trace::receiving("pool (root waiting for a report)", None, Some(REPORT));
                let patience = self.patience();
                let event = attempt!(crate::backoff::poll_patiently(limit, patience, || {
                    if let Some((report, took)) =
                        compute.as_ref().and_then(|c| c.results.try_recv().ok())
                    {
                        return Ok(Some(Event::Computed(report, took)));
                    }
                    Ok(self.poll_report()?.map(|found| match found {
                        Some((report, source)) => Event::Reported(report, source),
                        None => Event::Lost,
                    }))
                }));
                match event {
                    Some(Event::Computed(report, took)) => {
                        computing = false;
                        self.local_time = took;
                        for (id, outcome) in report {
                            self.finish(id, outcome, ROOT);
                        }
                    }
                    Some(Event::Reported(report, source)) => attempt!(self.absorb(report, source)),
                    Some(Event::Lost) | None => {}
                }
            };
            if let (true, Some(helper)) = (computing, &compute) {
                if let Ok((report, took)) = helper.results.recv() {
                    self.local_time = took;
                    for (id, outcome) in report {
                        self.finish(id, outcome, ROOT);
                    }
                }
            }
            // Dropping `compute` ends the thread (it is idle now); the scope joins it.
            ended.map(|()| verdict.unwrap_or(true))
        });
        self.f = f;
        outcome
    }

    /// [`progress`](Self::progress) with the root's batches run on its main thread,
    /// between hand-outs: for short batches, where a thread would cost more than the
    /// wait it saves a worker.
    fn progress_inline(
        &mut self,
        deadline: Option<Instant>,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<bool> {
        loop {
            self.step()?;
            if done(self) {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            if self.root_computes && self.has_queued() {
                self.run_here();
                if self.local_time >= THREAD_ABOVE {
                    // Long tasks after all: compute beside the dispatcher from now on.
                    return self.progress(deadline, done);
                }
                continue;
            }
            if self.loads.busy() == 0 {
                return Ok(true);
            }
            let limit = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let _wait =
                crate::trace::receiving("pool (root waiting for a report)", None, Some(REPORT));
            let patience = self.patience();
            if let Some(Some((report, source))) =
                crate::backoff::poll_patiently(limit, patience, || self.poll_report())?
            {
                self.absorb(report, source)?;
            }
        }
    }

    /// [`progress`](Self::progress) in a world of one rank: every task runs here.
    fn progress_alone(
        &mut self,
        deadline: Option<Instant>,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<bool> {
        loop {
            if done(self) {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            if !self.has_queued() {
                return Ok(true);
            }
            self.run_here();
        }
    }
}
