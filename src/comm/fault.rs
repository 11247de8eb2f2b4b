//! Fault tolerance on a communicator (ULFM): the public calls that tell about and recover
//! from a lost process. When rspar runs them, and what a lost process does to other
//! calls, is in `crate::fault`.

use std::rc::Rc;

use super::Communicator;
use crate::error::Result;
use crate::ffi::Handle;

impl Communicator {
    /// True when this job survives a lost process: rspar was built against Open MPI 5
    /// with ULFM (`scripts/test.sh --mpi ulfm`) and the job was launched with
    /// `mpirun --with-ft ulfm`. Then calls that involve a lost process return
    /// [`ProcessFailed`](crate::ErrorKind::ProcessFailed) and [`shrink`](Self::shrink)
    /// recovers; otherwise a lost process ends the job. See `docs/ulfm.md`.
    pub fn fault_tolerant(&self) -> bool {
        crate::fault::enabled()
    }

    /// The ranks of this communicator known to have failed, in increasing order (empty
    /// without fault tolerance, where a failure ends the job).
    pub fn failed_ranks(&self) -> Vec<usize> {
        #[cfg(rspar_ulfm)]
        if crate::fault::enabled() {
            let mut ranks: Vec<usize> = self
                .handles()
                .into_iter()
                .flat_map(crate::ffi::ulfm::failed_ranks)
                .collect();
            ranks.sort_unstable();
            ranks.dedup();
            return ranks;
        }
        Vec::new()
    }

    /// A communicator of the ranks of this one that are alive (`MPIX_Comm_shrink`), ranked
    /// in their old order. Every surviving rank must call it; it works on a revoked
    /// communicator too. Messages held for this communicator stay with it.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// match world.all_reduce(&1u64, |a, b| a + b) {
    ///     Err(e) if matches!(e.kind(), rspar::ErrorKind::ProcessFailed { .. }) => {
    ///         world.revoke()?; // wake ranks still waiting in other calls
    ///         let survivors = world.shrink()?;
    ///         println!("{} ranks left", survivors.size());
    ///     }
    ///     other => println!("{}", other?),
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    ///
    /// `Err(FaultTolerance)` without fault tolerance ([`fault_tolerant`](Self::fault_tolerant)).
    pub fn shrink(&self) -> Result<Communicator> {
        #[cfg(rspar_ulfm)]
        if crate::fault::enabled() {
            let raw = crate::ffi::ulfm::shrink(self.raw())?;
            return Communicator::new(Handle::owned(raw), Rc::clone(self.env()));
        }
        let _ = (Rc::clone(self.env()), Handle::owned);
        Err(crate::fault::unavailable())
    }

    /// Revoke this communicator (`MPIX_Comm_revoke`) and rspar's private copies of it:
    /// every call on them, pending or later, on every rank, fails with
    /// [`Revoked`](crate::ErrorKind::Revoked). For telling ranks that are still waiting
    /// for a live peer that the communicator must be [`shrink`](Self::shrink)ed.
    /// `Err(FaultTolerance)` without fault tolerance.
    pub fn revoke(&self) -> Result<()> {
        #[cfg(rspar_ulfm)]
        if crate::fault::enabled() {
            let mut seen = Vec::new();
            for handle in self.handles() {
                if !seen.contains(&handle) {
                    crate::ffi::ulfm::revoke(handle)?;
                    seen.push(handle);
                }
            }
            return Ok(());
        }
        Err(crate::fault::unavailable())
    }

    /// Agree on `flag` among the live ranks (`MPIX_Comm_agree`: the AND of every live
    /// rank's `flag`), even when ranks have failed: every rank that returns gets the same
    /// value and the same verdict, `Err(ProcessFailed)` when a failure was not yet
    /// acknowledged everywhere. `Err(FaultTolerance)` without fault tolerance.
    pub fn agree(&self, flag: bool) -> Result<bool> {
        #[cfg(rspar_ulfm)]
        if crate::fault::enabled() {
            let (value, code) = crate::ffi::ulfm::agree(self.handles()[2], u32::from(flag));
            crate::ffi::check_failure(code, "MPIX_Comm_agree", self.handles()[2])?;
            return Ok(value & 1 == 1);
        }
        let _ = flag;
        Err(crate::fault::unavailable())
    }
}
