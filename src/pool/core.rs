//! The root's dispatcher: the task table, the queue, hand-outs to the workers, the
//! root's own share of the tasks, and the progress loop every waiting call runs.
//!
//! Tasks get ids in submission order; `slots[id - base]` is a task's state, and slots
//! at the front that are gone (taken, cancelled, dropped) are popped, so the table holds
//! the tasks from the oldest unfinished one on. Progress happens only inside the root's
//! calls (MPI runs on the root's one thread): [`Core::progress`] collects reports,
//! hands batches to idle workers, and then, while tasks are queued and every worker is
//! busy, runs a batch on the root itself; with nothing to run it waits for a report
//! with the sleeping back-off of `backoff::poll_until`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

mod compute;
mod loads;
mod members;
mod outcome;
mod reports;
mod survive;

pub(crate) use members::{Member, Membership};

use super::worker::{run_task, Bundle, Order, Report, ORDER, REPORT, ROOT};
use crate::comm::Communicator;
use crate::error::{Error, ErrorKind, Result};
use crate::wire;

/// A worker's report and the worker's rank.
type Reported<O> = (Report<O>, usize);

/// A task's state.
pub(crate) enum State<O> {
    Queued,
    Running,
    Done(std::result::Result<O, (usize, String)>),
    /// Taken, cancelled, or dropped: nobody wants it any more.
    Gone,
}

/// One task of the table.
pub(crate) struct Slot<O> {
    state: State<O>,
    /// Its index for errors: the position in its stream, or the submission number.
    index: usize,
    tries: usize,
    /// Its owner dropped it while it ran: the outcome is dropped when it arrives.
    detached: bool,
    /// The unordered stream to tell when it finishes.
    notify: Option<u32>,
}

/// The root's dispatcher.
pub(crate) struct Core<'f, I, O> {
    /// The pool's communicators: the launched ranks' first, then one per spawn.
    links: Vec<Communicator>,
    /// Every process that ever was in the pool, by worker id (the root is 0).
    members: Vec<Member>,
    f: Box<dyn Fn(I) -> std::result::Result<O, String> + Sync + 'f>,
    chunk: Option<usize>,
    retries: usize,
    idle: Vec<usize>,
    /// The batches out at the workers (a worker is busy while it holds one).
    loads: loads::Loads,
    queue: VecDeque<(u64, I)>,
    slots: VecDeque<Slot<O>>,
    base: u64,
    next_id: u64,
    submitted: usize,
    /// Encoded inputs of unfinished tasks, for retries (only when retries > 0).
    keep: HashMap<u64, Vec<u8>>,
    /// Finished tasks of each unordered stream, in finishing order.
    finished: HashMap<u32, VecDeque<u64>>,
    /// Tasks run per rank (for tests and reports).
    ran: Vec<usize>,
    /// How long the root's last batch took (at first: long).
    local_time: Duration,
    /// Whether the root runs tasks too (with workers; alone it always does).
    root_computes: bool,
    /// When the last batch went to a worker: every busy worker has run at least this
    /// long, which bounds how long the root naps while it waits (`patience`).
    last_dispatch: Instant,
    /// Workers to spawn at the first progress (how many, for which pool number).
    pending_spawn: Option<(usize, usize)>,
    /// With ULFM on (`fault::enabled`): each busy worker's batch as sent, by worker id,
    /// to queue its tasks again if the worker is lost (`survive.rs`).
    held: HashMap<usize, Vec<u8>>,
    /// Workers lost so far (a wait's cue that what it waits for may have changed).
    lost: usize,
    /// [`Core::close`], kept here so that the pool's `Drop` (which has no bounds on
    /// the types) can call it.
    closer: fn(&mut Core<'f, I, O>) -> Result<()>,
}

impl<I, O> Core<'_, I, O> {
    /// Close the pool (see [`Core::close`]) where the types' bounds are not known.
    pub(crate) fn close_untyped(&mut self) -> Result<()> {
        (self.closer)(self)
    }

    fn slot(&self, id: u64) -> Option<&Slot<O>> {
        id.checked_sub(self.base)
            .and_then(|i| self.slots.get(i as usize))
    }

    fn slot_mut(&mut self, id: u64) -> Option<&mut Slot<O>> {
        id.checked_sub(self.base)
            .and_then(|i| self.slots.get_mut(i as usize))
    }

    /// Its owner is gone: cancel it if queued, forget it if done, drop its outcome
    /// when it arrives if running.
    pub(crate) fn detach(&mut self, id: u64) {
        if let Some(slot) = self.slot_mut(id) {
            match slot.state {
                State::Running => slot.detached = true,
                _ => slot.state = State::Gone,
            }
            self.trim();
        }
    }

    pub(crate) fn forget_stream(&mut self, stream: u32) {
        self.finished.remove(&stream);
    }

    fn trim(&mut self) {
        while self
            .slots
            .front()
            .is_some_and(|s| matches!(s.state, State::Gone))
        {
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

impl<'f, I, O> Core<'f, I, O>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    pub(crate) fn new(
        comm: Communicator,
        f: Box<dyn Fn(I) -> std::result::Result<O, String> + Sync + 'f>,
        chunk: Option<usize>,
        retries: usize,
        root_computes: bool,
    ) -> Core<'f, I, O> {
        let size = comm.size();
        Core {
            links: vec![comm],
            members: (0..size)
                .map(|rank| Member {
                    link: 0,
                    rank,
                    group: None,
                    spawn_rank: 0,
                    state: Membership::Active,
                })
                .collect(),
            f,
            chunk,
            retries,
            idle: (1..size).rev().collect(),
            loads: {
                let mut loads = loads::Loads::default();
                loads.add_link();
                loads
            },
            queue: VecDeque::new(),
            slots: VecDeque::new(),
            base: 0,
            next_id: 0,
            submitted: 0,
            keep: HashMap::new(),
            finished: HashMap::new(),
            ran: vec![0; size],
            local_time: Duration::MAX,
            root_computes,
            last_dispatch: Instant::now(),
            pending_spawn: None,
            held: HashMap::new(),
            lost: 0,
            closer: Core::close,
        }
    }

    /// The processes that take work, the root included.
    pub(crate) fn ranks(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.state == Membership::Active)
            .count()
    }

    /// True when no worker is left: the root runs everything.
    fn alone(&self) -> bool {
        self.idle.is_empty() && self.loads.busy() == 0
    }

    pub(crate) fn root_computes(&self) -> bool {
        self.root_computes || self.alone()
    }

    pub(crate) fn ran(&self) -> &[usize] {
        &self.ran
    }

    /// Queue a task; `index` names it in errors (`None`: its submission number).
    pub(crate) fn submit(&mut self, input: I, index: Option<usize>, notify: Option<u32>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let index = index.unwrap_or_else(|| {
            self.submitted += 1;
            self.submitted - 1
        });
        self.slots.push_back(Slot {
            state: State::Queued,
            index,
            tries: 0,
            detached: false,
            notify,
        });
        self.queue.push_back((id, input));
        id
    }

    /// The index a task's errors name.
    pub(crate) fn index_of(&self, id: u64) -> usize {
        self.slot(id).map_or(0, |s| s.index)
    }

    /// Run one batch on the root if a task is queued.
    pub(crate) fn run_one_batch(&mut self) -> Result<()> {
        if self.root_computes() && self.has_queued() {
            self.run_here();
        }
        Ok(())
    }

    /// Done or gone: waiting for it is over.
    pub(crate) fn ready(&self, id: u64) -> bool {
        self.slot(id)
            .is_none_or(|s| matches!(s.state, State::Done(_) | State::Gone))
    }

    /// True while a task is queued and not cancelled.
    pub(crate) fn is_queued(&self, id: u64) -> bool {
        self.slot(id)
            .is_some_and(|s| matches!(s.state, State::Queued))
    }

    /// The outcome of a finished task, once: `(index, value or TaskFailed)`; a task
    /// that is gone gives `Cancelled`. `None` while it is queued or running.
    pub(crate) fn take(&mut self, id: u64) -> Option<(usize, Result<O>)> {
        let slot = self.slot_mut(id)?;
        let index = slot.index;
        let taken = match std::mem::replace(&mut slot.state, State::Gone) {
            State::Done(Ok(value)) => Ok(value),
            State::Done(Err((rank, message))) => Err(Error::from(ErrorKind::TaskFailed {
                index,
                rank,
                message,
            })),
            State::Gone => Err(ErrorKind::Cancelled { index }.into()),
            other => {
                slot.state = other;
                return None;
            }
        };
        self.trim();
        Some((index, taken))
    }

    /// Cancel a task not yet started: true if it will never run.
    pub(crate) fn cancel(&mut self, id: u64) -> bool {
        match self.slot_mut(id) {
            Some(slot) if matches!(slot.state, State::Queued) => {
                // Its queue entry is skipped when it comes up.
                slot.state = State::Gone;
                self.keep.remove(&id);
                self.trim();
                true
            }
            _ => false,
        }
    }

    /// The next finished task of unordered stream `stream`.
    pub(crate) fn next_finished(&mut self, stream: u32) -> Option<u64> {
        self.finished.get_mut(&stream)?.pop_front()
    }

    pub(crate) fn has_finished(&self, stream: u32) -> bool {
        self.finished.get(&stream).is_some_and(|q| !q.is_empty())
    }

    /// Hand queued tasks to idle workers (no MPI call when none is idle). An input
    /// that cannot be encoded fails its own task here; a hand-out that cannot be sent
    /// fails its batch's tasks (and returns the error) unless the worker was lost (ULFM),
    /// whose batch goes back in the queue.
    #[inline]
    pub(crate) fn dispatch(&mut self) -> Result<()> {
        while !self.idle.is_empty() {
            let batch = self.take_batch();
            if batch.is_empty() {
                break;
            }
            let mut bundle = Bundle::pack(
                "input",
                batch.into_iter().map(|(id, input)| (id, Ok(input))),
            );
            // Inputs that cannot be encoded fail here, and do not travel.
            for (id, message) in bundle.take_failures() {
                self.conclude(id, Err((ROOT, message)));
            }
            let ids: Vec<u64> = bundle.ids().collect();
            if ids.is_empty() {
                continue;
            }
            let bytes = match wire::encode(&Order::Work(bundle)) {
                Ok(bytes) => bytes,
                Err(err) => {
                    for id in ids {
                        let message = format!("its batch cannot be encoded: {err}");
                        self.conclude(id, Err((ROOT, message)));
                    }
                    continue;
                }
            };
            let worker = self.idle.pop().expect("an idle worker");
            let Member { link, rank, .. } = self.members[worker];
            if crate::fault::enabled() {
                self.held.insert(worker, bytes.clone());
            }
            let sent = self.links[link].tag(ORDER).send_encoded(bytes, rank);
            self.loads.hand_out(worker, link, ids);
            self.last_dispatch = Instant::now();
            if let Err(err) = sent {
                let text = err.to_string();
                if let Err(err) = self.survive(err, link) {
                    self.abandon(worker, &text);
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    /// Worker `worker` could not be sent its batch: it is out of the pool, and the
    /// batch's tasks fail with `why` (the send's error).
    fn abandon(&mut self, worker: usize, why: &str) {
        self.held.remove(&worker);
        self.members[worker].state = Membership::Gone;
        if let Some(ids) = self.loads.take(worker) {
            let rank = self.members[worker].rank;
            for id in ids {
                let message = format!("its batch could not be sent to rank {rank}: {why}");
                self.conclude(id, Err((worker, message)));
            }
        }
    }

    /// The next batch from the queue (cancelled tasks skipped), marked running. Its
    /// size shrinks with the queue (guided self-scheduling): about an eighth of an
    /// equal share per rank, so tiny tasks travel in large batches and the last,
    /// small batches even out the finish.
    fn take_batch(&mut self) -> Vec<(u64, I)> {
        let size = self.chunk.unwrap_or(
            (self.queue.len() / (8 * (self.ranks() + self.pending_spawn.map_or(0, |p| p.0))))
                .max(1),
        );
        let mut batch = Vec::with_capacity(size.min(self.queue.len()));
        while batch.len() < size {
            let Some((id, input)) = self.queue.pop_front() else {
                break;
            };
            match self.slot_mut(id) {
                Some(slot) if matches!(slot.state, State::Queued) => slot.state = State::Running,
                _ => continue, // cancelled
            }
            if self.retries > 0 && !self.keep.contains_key(&id) {
                // An input that cannot be encoded is not kept: its first failure is then
                // its last (`finish`).
                if let Ok(bytes) = wire::encode(&input) {
                    self.keep.insert(id, bytes);
                }
            }
            batch.push((id, input));
        }
        batch
    }

    /// Run one batch on the root, on its main thread.
    fn run_here(&mut self) {
        let start = Instant::now();
        for (id, input) in self.take_batch() {
            let outcome = run_task(&*self.f, input);
            self.finish(id, outcome, ROOT);
        }
        self.local_time = start.elapsed();
    }

    /// One non-blocking step: collect the reports that are there, hand out work.
    pub(crate) fn step(&mut self) -> Result<()> {
        while let Some((report, source)) = self.try_report()? {
            self.absorb(report, source)?;
        }
        self.dispatch()
    }

    /// True when a queued task is not cancelled (drops cancelled ones at the front).
    fn has_queued(&mut self) -> bool {
        while let Some(&(id, _)) = self.queue.front() {
            if self.is_queued(id) {
                return true;
            }
            self.queue.pop_front();
        }
        false
    }

    /// Let the batches in flight finish, then release the workers.
    pub(crate) fn close(&mut self) -> Result<()> {
        // A pool closed before any work spawns nothing.
        self.pending_spawn = None;
        self.queue.clear();
        while self.loads.busy() > 0 {
            let _wait = crate::trace::receiving("pool (root closing)", None, Some(REPORT));
            let patience = self.patience();
            if let Some(Some((report, source))) =
                crate::backoff::poll_patiently(None, patience, || self.poll_report())?
            {
                self.absorb(report, source)?;
            }
        }
        let workers = std::mem::take(&mut self.idle);
        for worker in workers {
            let Member {
                link, rank, group, ..
            } = self.members[worker];
            // A spawn that lost a worker (ULFM) serves no later pool: its survivors are
            // released (`spawn::lost`).
            if group.is_some_and(super::spawn::broken) {
                if let Err(err) = self.send_release(worker) {
                    self.survive(err, link)?;
                }
                continue;
            }
            // A spawned worker learns who of its spawn serves on: the next pool links
            // only them.
            let active = group.map(super::spawn::active).unwrap_or_default();
            let sent = self.links[link].tag(ORDER).send(&Order::Stop(active), rank);
            if let Err(err) = sent {
                self.survive(err, link)?;
            }
        }
        Ok(())
    }
}
