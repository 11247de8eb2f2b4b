//! The batches out at the workers: which worker holds which task ids, and how many
//! workers are busy in all and per link. One place keeps them, so a batch is taken back
//! once, by its report or by its worker's loss, and the counts cannot disagree with it.

use std::collections::HashMap;

/// The batches the workers hold.
#[derive(Default)]
pub(super) struct Loads {
    /// By worker id: its link and its batch's task ids.
    batches: HashMap<usize, (usize, Vec<u64>)>,
    /// Busy workers per link.
    per_link: Vec<usize>,
}

impl Loads {
    /// Count a new link (the pool's communicators: launched ranks, then each spawn).
    pub(super) fn add_link(&mut self) {
        self.per_link.push(0);
    }

    /// Worker `worker`, reached through `link`, holds the batch of `ids` now.
    pub(super) fn hand_out(&mut self, worker: usize, link: usize, ids: Vec<u64>) {
        if let Some((old, _)) = self.batches.insert(worker, (link, ids)) {
            self.per_link[old] -= 1;
        }
        self.per_link[link] += 1;
    }

    /// The batch of `worker` comes back (its report, or its loss): its task ids, once;
    /// `None` when it holds none (a report of a batch its loss took back already).
    pub(super) fn take(&mut self, worker: usize) -> Option<Vec<u64>> {
        let (link, ids) = self.batches.remove(&worker)?;
        self.per_link[link] -= 1;
        Some(ids)
    }

    /// Busy workers in all.
    pub(super) fn busy(&self) -> usize {
        self.batches.len()
    }

    /// Busy workers reached through `link`.
    pub(super) fn busy_on(&self, link: usize) -> usize {
        self.per_link[link]
    }

    /// Whether `worker` holds a batch.
    pub(super) fn holds(&self, worker: usize) -> bool {
        self.batches.contains_key(&worker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 35 item 4: under ULFM a worker's loss takes its batch back (its tasks are
    /// queued again); its report, delivered before it died and found after, then
    /// counts for nothing: no second release of the worker, no count below zero.
    #[test]
    fn a_batch_comes_back_once_by_report_or_loss() {
        let mut loads = Loads::default();
        loads.add_link();
        loads.add_link();
        loads.hand_out(1, 0, vec![10, 11]);
        loads.hand_out(2, 0, vec![12]);
        loads.hand_out(3, 1, vec![13]);
        assert_eq!(
            (loads.busy(), loads.busy_on(0), loads.busy_on(1)),
            (3, 2, 1)
        );
        // Worker 1 is lost first: its tasks come back, once.
        assert_eq!(loads.take(1), Some(vec![10, 11]));
        assert!(!loads.holds(1));
        // Its report, found later, takes nothing.
        assert_eq!(loads.take(1), None);
        assert_eq!(
            (loads.busy(), loads.busy_on(0), loads.busy_on(1)),
            (2, 1, 1)
        );
        // Worker 2 reports, then is found lost: the loss takes nothing.
        assert_eq!(loads.take(2), Some(vec![12]));
        assert_eq!(loads.take(2), None);
        assert_eq!(loads.take(3), Some(vec![13]));
        assert_eq!(
            (loads.busy(), loads.busy_on(0), loads.busy_on(1)),
            (0, 0, 0)
        );
        // A worker handed a new batch is busy again.
        loads.hand_out(1, 0, vec![14]);
        assert!(loads.holds(1));
        assert_eq!(loads.busy(), 1);
    }
}
