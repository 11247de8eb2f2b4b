//! Reductions of any serde type with a Rust closure: reduce, all_reduce, scan, exscan.
//!
//! The values are gathered (to the root, or to every rank) and folded in rank order:
//! `op(op(op(v0, v1), v2), ...)`. So `op` must be associative; it need not be
//! commutative. Each rank receives the values it needs, O(size) of them: these calls are
//! for modest values and rank counts; for large numeric arrays use the buffer path
//! (`reduce_buffer` and friends), which runs MPI's own reductions.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::comm::Communicator;
use crate::error::Result;

fn fold<T>(values: Vec<T>, op: impl Fn(T, T) -> T) -> Option<T> {
    values.into_iter().reduce(op)
}

impl Communicator {
    /// The root gets `op` folded over every rank's `value` in rank order (`Some`); other
    /// ranks get `None`. `op` must be associative.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let words = world.reduce(&format!("r{}", world.rank()), |a, b| a + "," + &b, 0)?;
    /// if let Some(words) = words {
    ///     println!("{words}"); // r0,r1,r2,...
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn reduce<T, F>(&self, value: &T, op: F, root: usize) -> Result<Option<T>>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        self.usable("reduce")?;
        let _wait = crate::trace::in_collective("reduce", Some(root));
        Ok(self.gather(value, root)?.and_then(|all| fold(all, op)))
    }

    /// Every rank gets `op` folded over every rank's `value` in rank order.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let total = world.all_reduce(&(world.rank() as u64), |a, b| a + b)?;
    /// let n = world.size() as u64;
    /// assert_eq!(total, n * (n - 1) / 2);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn all_reduce<T, F>(&self, value: &T, op: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        self.usable("all_reduce")?;
        let _wait = crate::trace::in_collective("all_reduce", None);
        let all = self.all_gather(value)?;
        Ok(fold(all, op).expect("a communicator has at least one rank"))
    }

    /// Inclusive prefix: rank `r` gets `op` folded over the values of ranks `0..=r`.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let upto = world.scan(&1u32, |a, b| a + b)?;
    /// assert_eq!(upto as usize, world.rank() + 1);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn scan<T, F>(&self, value: &T, op: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        self.usable("scan")?;
        let _wait = crate::trace::in_collective("scan", None);
        let mut all = self.all_gather(value)?;
        all.truncate(self.rank() + 1);
        Ok(fold(all, op).expect("rank r has r + 1 values"))
    }

    /// Exclusive prefix: rank `r` gets `op` folded over the values of ranks `0..r`;
    /// rank 0 gets `None`.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// // Where each rank's block starts, from the block lengths.
    /// let len = 10 + world.rank();
    /// let start = world.exscan(&len, |a, b| a + b)?.unwrap_or(0);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn exscan<T, F>(&self, value: &T, op: F) -> Result<Option<T>>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        self.usable("exscan")?;
        let _wait = crate::trace::in_collective("exscan", None);
        let mut all = self.all_gather(value)?;
        all.truncate(self.rank());
        Ok(fold(all, op))
    }
}
