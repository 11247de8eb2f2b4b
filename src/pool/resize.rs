//! Growing and shrinking a running pool (Parallel Python's `set_ncpus`): spawned
//! workers join, released ones leave after their batch.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Pool;
use crate::error::Result;

impl<I, O> Pool<'_, I, O>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    /// Spawn `workers` more processes of this program into the running pool
    /// (`MPI_Comm_spawn`, as Parallel Python's `set_ncpus`); they take work as soon as
    /// they have started (their `main` runs to this pool's constructor). Blocks for the
    /// spawn (about 0.3 s on one machine). `Err(Spawn)` where MPI cannot spawn (MPICH
    /// with the ucx device); the pool is unchanged then.
    pub fn grow(&self, workers: usize) -> Result<()> {
        if workers == 0 {
            return Ok(());
        }
        let mut core = self.core.borrow_mut();
        core.settle();
        core.spawn_workers(workers, self.number)?;
        // The new workers get work at once.
        core.dispatch()
    }

    /// Release `workers` workers, the most recently added first: they leave the pool
    /// (their `Pool::new` returns `None`; a spawned one then serves no later pool, and
    /// its process ends with its `main`). A worker running a batch leaves when the batch
    /// is done: no task is lost. `Err(PoolSize)` when the pool has fewer workers (the
    /// root always stays).
    pub fn shrink(&self, workers: usize) -> Result<()> {
        let mut core = self.core.borrow_mut();
        core.settle();
        core.release(workers)
    }

    /// Grow or shrink to `ranks` processes computing, the root included (Parallel
    /// Python's `set_ncpus`). `Err(PoolSize)` for 0.
    pub fn resize(&self, ranks: usize) -> Result<()> {
        if ranks == 0 {
            return Err(crate::ErrorKind::PoolSize {
                requested: 0,
                reason: "the root always stays in its pool".into(),
            }
            .into());
        }
        let now = self.ranks();
        if ranks > now {
            self.grow(ranks - now)
        } else {
            self.shrink(now - ranks)
        }
    }
}
