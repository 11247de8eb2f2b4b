//! Communicators rspar holds ([`Handle`]): its own, freed when dropped while MPI is up,
//! and a host's, never freed by rspar (`wrap.rs` makes those).

use std::mem::ManuallyDrop;

use mpi::topology::SimpleCommunicator;

/// A communicator rspar holds. An owned one (rspar made it) is freed on drop, unless MPI
/// has been finalized already (a host that initialised MPI may finalize it before
/// rspar's values drop; freeing then would be erroneous). A borrowed one (a host's,
/// handed in through `Init::wrap_raw`) is never freed by rspar.
pub(crate) struct Handle {
    comm: ManuallyDrop<SimpleCommunicator>,
    owned: bool,
}

impl Handle {
    /// A communicator rspar owns from now on.
    pub(crate) fn owned(comm: SimpleCommunicator) -> Handle {
        Handle {
            comm: ManuallyDrop::new(comm),
            owned: true,
        }
    }

    /// A host's communicator, which rspar never frees.
    pub(super) fn borrowed(comm: SimpleCommunicator) -> Handle {
        Handle {
            comm: ManuallyDrop::new(comm),
            owned: false,
        }
    }

    /// `MPI_COMM_WORLD` (never freed, whoever holds it).
    pub(crate) fn world() -> Handle {
        Handle::owned(SimpleCommunicator::world())
    }
}

impl std::ops::Deref for Handle {
    type Target = SimpleCommunicator;
    fn deref(&self) -> &SimpleCommunicator {
        &self.comm
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.owned && !mpi::environment::is_finalized() {
            // SAFETY: dropped here once; `self.comm` is not used afterwards.
            unsafe { ManuallyDrop::drop(&mut self.comm) }
        }
    }
}
