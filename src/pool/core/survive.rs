//! A worker lost under ULFM (`crate::fault`): its tasks in flight go back in the queue
//! and it gets no more orders. Only with fault tolerance on does MPI report a failed
//! process instead of ending the job; the root's own failure is not survivable.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::super::worker::{Order, ROOT};
use super::{Core, Membership, State};
use crate::error::{Error, ErrorKind, Result};
use crate::wire;

impl<I, O> Core<'_, I, O>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    /// A process failure among the workers reached through `link`: lose them and go
    /// on; any other error, or a failure the pool cannot survive, is returned.
    pub(super) fn survive(&mut self, err: Error, link: usize) -> Result<()> {
        let ErrorKind::ProcessFailed { ranks } = err.kind() else {
            return Err(err);
        };
        let ranks = if ranks.is_empty() {
            self.links[link].failed_ranks()
        } else {
            ranks.clone()
        };
        if ranks.is_empty() || ranks.contains(&ROOT) {
            return Err(err);
        }
        for rank in ranks {
            let member = self
                .members
                .iter()
                .position(|m| m.link == link && m.rank == rank);
            if let Some(id) = member {
                self.lose(id)?;
            }
        }
        Ok(())
    }

    /// Worker `id` has failed: no more orders to it, and the tasks of the batch it held
    /// go back to the front of the queue, in order.
    fn lose(&mut self, id: usize) -> Result<()> {
        if self.members[id].state == Membership::Gone && !self.loads.holds(id) {
            return Ok(());
        }
        self.members[id].state = Membership::Gone;
        if let Some(group) = self.members[id].group {
            // The spawn's registry forgets it, and its spawn serves no later pool.
            crate::pool::spawn::lost(group, self.members[id].spawn_rank);
        }
        self.lost += 1;
        self.idle.retain(|&w| w != id);
        let mut back = 0;
        // Its batch is no longer out: a report of it still queued counts for nothing.
        let out = self.loads.take(id).is_some();
        if let Some(bytes) = self.held.remove(&id).filter(|_| out) {
            if let Order::Work(batch) = wire::decode::<Order>(&bytes)? {
                for (task, input) in batch.unpack::<I>("input").into_iter().rev() {
                    let running = self
                        .slot(task)
                        .is_some_and(|slot| matches!(slot.state, State::Running));
                    if !running {
                        continue;
                    }
                    match input {
                        Ok(input) => {
                            if let Some(slot) = self.slot_mut(task) {
                                slot.state = State::Queued;
                            }
                            self.queue.push_front((task, input));
                            back += 1;
                        }
                        Err(message) => self.conclude(task, Err((ROOT, message))),
                    }
                }
            }
        }
        let member = &self.members[id];
        let who = match member.group {
            None => format!("rank {}", member.rank),
            Some(group) => format!("spawned worker {} of spawn {group}", member.spawn_rank),
        };
        crate::env::say(&format!(
            "rspar: pool: lost worker {who}; its {back} task(s) in flight go back in the queue"
        ));
        if self.idle.is_empty() && self.loads.busy() == 0 {
            // No worker left: the root runs the rest.
            self.root_computes = true;
        }
        Ok(())
    }
}
