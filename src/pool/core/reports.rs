//! The root's side of the reports: looking for a worker's report without waiting,
//! the same for waits (where it also looks after spawned workers), taking a report in,
//! and how long the root naps between looks.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::super::worker::{Bundle, Report, REPORT};
use super::{Core, Membership, Reported};
use crate::envelope::Any;
use crate::error::Result;

impl<I, O> Core<'_, I, O>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    /// The longest nap while waiting for reports: a hundredth of the time since the last
    /// hand-out (so a worker that reports waits at most about 1% of its batch), between
    /// `backoff`'s 100 us and 20 ms.
    pub(crate) fn patience(&self) -> impl Fn() -> Duration {
        let since = self.last_dispatch;
        move || (since.elapsed() / 100).min(Duration::from_millis(20))
    }

    /// A worker's report and its id, if one has arrived (no MPI call when no worker
    /// is busy). Each task's value is decoded on its own: one that cannot be is that
    /// task's failure, and the report still frees its worker (`absorb`).
    pub(super) fn try_report(&mut self) -> Result<Option<(Report<O>, usize)>> {
        if self.loads.busy() == 0 {
            return Ok(None);
        }
        for link in 0..self.links.len() {
            if self.loads.busy_on(link) == 0 {
                continue;
            }
            let found = self.links[link]
                .tag(REPORT)
                .with_status()
                .ireceive::<Bundle>(Any)
                .test();
            let found = match found {
                Ok(found) => found,
                Err(err) => {
                    self.survive(err, link)?;
                    continue;
                }
            };
            if let Some((report, status)) = found {
                let id = self
                    .members
                    .iter()
                    .position(|m| m.link == link && m.rank == status.source)
                    .unwrap_or(0);
                return Ok(Some((report.unpack("output"), id)));
            }
        }
        Ok(None)
    }

    /// For waits: a worker's report, or `Some(None)` when a worker was lost while
    /// looking (ULFM: its tasks are queued again and the busy count fell, so what the
    /// caller waits for may have changed: no report may ever come). Nothing there, it
    /// also looks after the spawned workers (`spawn::watch`, at most every 100 ms): only
    /// here, where the root waits, not on the hand-out path of tiny tasks.
    pub(super) fn poll_report(&mut self) -> Result<Option<Option<Reported<O>>>> {
        let lost = self.lost;
        Ok(match self.try_report()? {
            Some(found) => Some(Some(found)),
            None if self.lost > lost => Some(None),
            None => {
                if self.links.len() > 1 {
                    super::super::spawn::watch();
                }
                None
            }
        })
    }

    /// Take in worker `source`'s report: its tasks' outcomes, and the worker is free.
    /// A report from a worker that holds no batch is dropped: under ULFM, one that was
    /// delivered before its worker was lost, whose batch `lose` has queued again
    /// already (counting it again would free the worker twice and finish its tasks
    /// twice).
    pub(super) fn absorb(&mut self, report: Report<O>, source: usize) -> Result<()> {
        if self.loads.take(source).is_none() {
            return Ok(());
        }
        self.held.remove(&source);
        for (id, outcome) in report {
            self.finish(id, outcome, source);
        }
        match self.members[source].state {
            Membership::Active => self.idle.push(source),
            Membership::Leaving => self.send_release(source)?,
            Membership::Gone => {}
        }
        Ok(())
    }
}
