//! [`Threading`]: how many threads of a process may call MPI.

/// How many threads of a process may call MPI (`MPI_Init_thread`'s levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Threading {
    /// Only one thread calls MPI: what C's `MPI_Init` asks for, and rspar's default.
    /// Threads that never call MPI (a progress bar, a thread pool computing between
    /// messages) work with it in Open MPI and MPICH.
    Single,
    /// Many threads exist; only the main thread calls MPI. Open MPI 4.1 adds about
    /// 45 ns to every message at this level and above (measured with `pingpong`).
    Funneled,
    /// Many threads call MPI, one at a time.
    Serialized,
    /// Many threads call MPI at once.
    Multiple,
}

impl Threading {
    pub(crate) fn to_mpi(self) -> mpi::Threading {
        match self {
            Threading::Single => mpi::Threading::Single,
            Threading::Funneled => mpi::Threading::Funneled,
            Threading::Serialized => mpi::Threading::Serialized,
            Threading::Multiple => mpi::Threading::Multiple,
        }
    }

    pub(crate) fn from_mpi(level: mpi::Threading) -> Threading {
        match level {
            mpi::Threading::Single => Threading::Single,
            mpi::Threading::Funneled => Threading::Funneled,
            mpi::Threading::Serialized => Threading::Serialized,
            mpi::Threading::Multiple => Threading::Multiple,
        }
    }
}
