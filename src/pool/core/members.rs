//! The pool's processes beyond the launched ranks: workers spawned at run time (now or
//! at the first progress), linked through one communicator per spawn, and workers
//! released while the pool runs (shrinking).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::super::worker::{Order, ORDER, ROOT};
use super::Core;
use crate::comm::Communicator;
use crate::error::{ErrorKind, Result};
use crate::pool::spawn;

/// A process of the pool: which of the pool's communicators reaches it, its rank there.
pub(crate) struct Member {
    pub(super) link: usize,
    pub(super) rank: usize,
    /// Which spawn it came from (`None`: a launched rank, or the root).
    pub(super) group: Option<usize>,
    /// Its rank in its spawn's merged communicator.
    pub(super) spawn_rank: usize,
    pub(super) state: Membership,
}

/// Whether a member takes work.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Membership {
    Active,
    /// Released while running a batch: released when it reports.
    Leaving,
    Gone,
}

impl<I, O> Core<'_, I, O>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    /// Add the workers of spawn `group` with ranks `ranks` in its merged communicator,
    /// reached through `comm` (the root 0 there, then `ranks` in order): idle at once.
    pub(crate) fn add_link(&mut self, comm: Communicator, group: usize, ranks: &[usize]) {
        let link = self.links.len();
        self.links.push(comm);
        self.loads.add_link();
        for (i, &spawn_rank) in ranks.iter().enumerate() {
            self.members.push(Member {
                link,
                rank: i + 1,
                group: Some(group),
                spawn_rank,
                state: Membership::Active,
            });
            self.ran.push(0);
            self.idle.insert(0, self.members.len() - 1);
        }
    }

    /// Spawn `count` workers at the first progress (`settle`), or at once when some other
    /// call needs them.
    pub(crate) fn spawn_later(&mut self, count: usize, number: usize) {
        self.pending_spawn = Some((count, number));
    }

    /// Spawn `count` workers of this program for pool `number` and link them now.
    pub(crate) fn spawn_workers(&mut self, count: usize, number: usize) -> Result<()> {
        let group = spawn::spawn(count, number, &self.links[0])?;
        let ranks = spawn::active(group);
        let link = spawn::pool_comm(group, &ranks, &self.links[0])?;
        link.gather(&link.processor_name(), ROOT)?;
        self.add_link(link, group, &ranks);
        Ok(())
    }

    /// Spawn the workers still to come; where that fails, say so in one line (once per
    /// process) and go on with the processes there are.
    pub(crate) fn settle(&mut self) {
        if let Some((count, number)) = self.pending_spawn.take() {
            if let Err(err) = self.spawn_workers(count, number) {
                spawn::say_cannot(&err, self.ranks());
            }
        }
    }

    /// True while workers are still to be spawned.
    pub(crate) fn spawn_pending(&self) -> bool {
        self.pending_spawn.is_some()
    }

    /// Release `count` workers, the most recently added first: an idle one now, a busy
    /// one when it reports (its batch is not lost). `Err(PoolSize)` when fewer than
    /// `count` workers remain (the root always stays).
    pub(crate) fn release(&mut self, count: usize) -> Result<()> {
        let workers = self.ranks() - 1;
        if count > workers {
            return Err(ErrorKind::PoolSize {
                requested: workers + 1 - count.min(workers + 1),
                reason: format!(
                    "releasing {count} workers, but the pool has {workers} besides the root, which always stays"
                ),
            }
            .into());
        }
        let chosen: Vec<usize> = (1..self.members.len())
            .rev()
            .filter(|&id| self.members[id].state == Membership::Active)
            .take(count)
            .collect();
        for id in chosen {
            if let Some(at) = self.idle.iter().position(|&w| w == id) {
                self.idle.remove(at);
                self.send_release(id)?;
            } else {
                self.members[id].state = Membership::Leaving;
            }
        }
        Ok(())
    }

    /// Tell worker `id` (idle) that it leaves the pool.
    pub(super) fn send_release(&mut self, id: usize) -> Result<()> {
        let member = &mut self.members[id];
        member.state = Membership::Gone;
        if let Some(group) = member.group {
            spawn::released(group, member.spawn_rank);
        }
        let (link, rank) = (member.link, member.rank);
        self.links[link].tag(ORDER).send(&Order::Release, rank)
    }
}
