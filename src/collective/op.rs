//! MPI's predefined operations for the buffer reductions: [`Op`], and [`Loc`] for
//! MAXLOC/MINLOC.

use mpi::collective::SystemOperation;
use mpi::raw::AsRaw;

/// MPI's predefined reduction operations for [`Communicator::reduce_buffer`](crate::Communicator::reduce_buffer) and friends.
///
/// `Sum`, `Product`, `Max`, `Min` work on numbers; the logical operations on integers as
/// truth values (0 is false; the results are 0 or 1: `bool` is not [`Plain`](crate::Plain));
/// the bitwise ones on integers. For the rank that holds the maximum or minimum
/// (MPI's MAXLOC/MINLOC) see [`Communicator::all_reduce_loc_buffer`](crate::Communicator::all_reduce_loc_buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `a + b` (`MPI_SUM`).
    Sum,
    /// `a * b` (`MPI_PROD`).
    Product,
    /// The larger (`MPI_MAX`).
    Max,
    /// The smaller (`MPI_MIN`).
    Min,
    /// `a && b` (`MPI_LAND`).
    LogicalAnd,
    /// `a || b` (`MPI_LOR`).
    LogicalOr,
    /// `a != b` as booleans (`MPI_LXOR`).
    LogicalXor,
    /// `a & b` (`MPI_BAND`).
    BitAnd,
    /// `a | b` (`MPI_BOR`).
    BitOr,
    /// `a ^ b` (`MPI_BXOR`).
    BitXor,
}

impl Op {
    /// The raw handle, for the calls rspar makes through `ffi`.
    #[inline]
    pub(super) fn to_raw(self) -> mpi::ffi::MPI_Op {
        self.to_mpi().as_raw()
    }

    pub(super) fn to_mpi(self) -> SystemOperation {
        match self {
            Op::Sum => SystemOperation::sum(),
            Op::Product => SystemOperation::product(),
            Op::Max => SystemOperation::max(),
            Op::Min => SystemOperation::min(),
            Op::LogicalAnd => SystemOperation::logical_and(),
            Op::LogicalOr => SystemOperation::logical_or(),
            Op::LogicalXor => SystemOperation::logical_xor(),
            Op::BitAnd => SystemOperation::bitwise_and(),
            Op::BitOr => SystemOperation::bitwise_or(),
            Op::BitXor => SystemOperation::bitwise_xor(),
        }
    }
}

/// Which extreme [`Communicator::all_reduce_loc_buffer`](crate::Communicator::all_reduce_loc_buffer) looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Loc {
    /// The largest value and the lowest rank holding it (`MPI_MAXLOC`).
    Max,
    /// The smallest value and the lowest rank holding it (`MPI_MINLOC`).
    Min,
}
