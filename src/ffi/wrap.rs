//! [`Init::wrap_raw`]: rspar on a host's raw `MPI_Comm` (its `unsafe` is why it lives
//! in `ffi`). The one place `ffi` names the facade; nothing in rspar imports it.

use mpi::ffi;
use mpi::raw::FromRaw;
use mpi::topology::SimpleCommunicator;

use super::Handle;
use crate::comm::Communicator;
use crate::error::{ErrorKind, Result};
use crate::init::Init;

impl Init {
    /// rspar on a communicator a host hands in as its raw handle (`MPI_Comm`): a C or
    /// Fortran caller through an `extern "C"` function (Fortran's `INTEGER` handle
    /// converted with `MPI_Comm_f2c` first), or mpi4py's `comm.handle` through PyO3.
    /// Otherwise as [`Init::wrap`]: every rank of the communicator must call it (unless
    /// [`Init::interop`] is set), MPI must be up, and rspar never frees the handle.
    ///
    /// ```no_run
    /// // The Rust side of a C program: `rspar_run(MPI_COMM_WORLD)` after MPI_Init.
    /// #[no_mangle]
    /// pub extern "C" fn rspar_run(comm: rspar::mpi::ffi::MPI_Comm) -> i32 {
    ///     // SAFETY: the C caller passes a live communicator that it frees (if ever)
    ///     // only after this function returns.
    ///     let Ok(comm) = (unsafe { rspar::Init::new().wrap_raw(comm) }) else { return 1 };
    ///     let total = comm.all_reduce(&comm.rank(), |a, b| a + b);
    ///     i32::from(total.is_err())
    /// }
    /// ```
    ///
    /// # Safety
    /// `handle` must be a communicator handle of this process's MPI that stays valid (not
    /// freed, MPI not finalized) while the returned communicator, the communicators made
    /// from it and their requests live. `MPI_COMM_NULL` and inter-communicators are
    /// refused with `Err(InvalidCommunicator)`.
    pub unsafe fn wrap_raw(self, handle: ffi::MPI_Comm) -> Result<Communicator> {
        if !crate::env::initialized() {
            return Err(invalid("MPI is not initialized (or already finalized)"));
        }
        // SAFETY: reading constants exported by rsmpi's C shim.
        let (null, world, own) = unsafe {
            (
                ffi::RSMPI_COMM_NULL,
                ffi::RSMPI_COMM_WORLD,
                ffi::RSMPI_COMM_SELF,
            )
        };
        if handle == null {
            return Err(invalid("the handle is MPI_COMM_NULL"));
        }
        if handle == world {
            return self.adopt(Handle::world());
        }
        if handle == own {
            return self.adopt(Handle::owned(SimpleCommunicator::self_comm()));
        }
        let mut inter = 0;
        // SAFETY: the caller promises a valid handle; MPI_Comm_test_inter writes one int.
        let code = unsafe { ffi::MPI_Comm_test_inter(handle, &mut inter) };
        super::check(code, "MPI_Comm_test_inter")?;
        if inter != 0 {
            return Err(invalid(
                "an inter-communicator (rspar needs an intra-communicator)",
            ));
        }
        // SAFETY: a live intra-communicator (the caller's promise, checked above not to be
        // null, the world, MPI_COMM_SELF or an inter-communicator): wrapped as borrowed, so rspar never
        // frees it, and used only while the caller keeps it valid.
        let comm = unsafe { SimpleCommunicator::from_raw(handle) };
        self.adopt(Handle::borrowed(comm))
    }
}

fn invalid(reason: &str) -> crate::Error {
    ErrorKind::InvalidCommunicator {
        reason: reason.into(),
    }
    .into()
}
