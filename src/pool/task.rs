//! [`Task`]: the handle `submit` returns, and its `Future`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::Drive;
use crate::error::{ErrorKind, Result};

/// A submitted task on the root: wait for it, check it, cancel it, or `.await` it.
///
/// Work happens only while the root is inside a pool call (MPI runs on its one
/// thread): `wait`, `wait_timeout` and `is_done` drive the pool (hand out tasks,
/// collect results, run tasks on the root) while they wait, and so does polling the
/// future. Dropping a task that has not started cancels it; dropping a running one
/// drops its result when it comes.
pub struct Task<'p, O> {
    pub(crate) core: &'p dyn Drive<O>,
    pub(crate) id: u64,
    pub(crate) index: usize,
    pub(crate) spent: bool,
}

impl<O> std::fmt::Debug for Task<'_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("index", &self.index).finish()
    }
}

impl<O> Task<'_, O> {
    /// The task's submission number (as [`ErrorKind::TaskFailed`] names it).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Wait for the value. A task that failed (after its retries) is
    /// `Err(TaskFailed { index, rank, message })`; a cancelled one `Err(Cancelled)`.
    pub fn wait(mut self) -> Result<O> {
        self.core.progress_until(self.id, None)?;
        self.finish()
    }

    /// Wait at most `limit`: `Ok(true)` when the task is done (then [`wait`](Self::wait)
    /// returns at once), `Ok(false)` when the time ran out (the task goes on).
    pub fn wait_timeout(&self, limit: Duration) -> Result<bool> {
        self.core
            .progress_until(self.id, Some(Instant::now() + limit))
    }

    /// A non-blocking check: makes what progress is possible without waiting (and may
    /// run one batch of tasks on the root), then tells whether the task is done.
    pub fn is_done(&self) -> Result<bool> {
        self.core.step(self.id)
    }

    /// Cancel the task if it has not started: `true` means it will never run (waiting
    /// for it then gives `Err(Cancelled)`); `false`, that it runs or ran already.
    pub fn cancel(&self) -> bool {
        self.core.cancel(self.id)
    }

    fn finish(&mut self) -> Result<O> {
        self.spent = true;
        match self.core.take(self.id) {
            Some((_, outcome)) => outcome,
            None => Err(ErrorKind::Cancelled { index: self.index }.into()),
        }
    }
}

impl<O> Drop for Task<'_, O> {
    fn drop(&mut self) {
        if !self.spent {
            self.core.detach(self.id);
        }
    }
}

/// Polling the future makes progress (one step, then a nap of at most 100 us for a
/// report) and, when the task is not done, wakes itself at once: it busy-polls with
/// the pool's sleeping back-off, needs no runtime, and works under any executor
/// (`futures::executor::block_on`, a tokio runtime). While it polls, the executor's
/// thread is the pool's: other futures on it wait for those steps.
impl<O> Future for Task<'_, O> {
    type Output = Result<O>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<O>> {
        let this = self.get_mut();
        if this.spent {
            return Poll::Ready(Err(ErrorKind::Cancelled { index: this.index }.into()));
        }
        let nap = Instant::now() + Duration::from_micros(100);
        match this.core.progress_until(this.id, Some(nap)) {
            Err(err) => {
                this.spent = true;
                this.core.detach(this.id);
                Poll::Ready(Err(err))
            }
            Ok(true) => Poll::Ready(this.finish()),
            Ok(false) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}
