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

/// The element types MPI's predefined reductions work on: the numbers. A buffer reduction
/// ([`reduce_buffer`](crate::Communicator::reduce_buffer), `all_reduce_buffer`,
/// `scan_buffer`, `exscan_buffer`, `all_reduce_loc_buffer`) takes values whose
/// [`Plain::Element`](crate::Plain::Element) is a `Number`: numbers and arrays of them,
/// reduced element by element. A `#[derive(Plain)]` struct is one element of its own
/// datatype, which MPI cannot add or compare (Open MPI would end the job), so it is a
/// compile error: reduce its fields as arrays of numbers, or use the object path's
/// [`all_reduce`](crate::Communicator::all_reduce) with a closure.
///
/// ```compile_fail,E0277
/// #[derive(rspar::Plain, Clone, Copy, Default)]
/// struct Pair { a: f64, b: f64 }
/// let world = rspar::init()?;
/// let mut out = [Pair::default()];
/// world.all_reduce_buffer(&[Pair { a: 1.0, b: 2.0 }], &mut out, rspar::Op::Sum)?;
/// # Ok::<(), rspar::Error>(())
/// ```
///
/// Sealed: rspar implements it for the numbers that are [`Plain`](crate::Plain).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a number: MPI's reductions work on numbers and arrays of them",
    note = "a `#[derive(Plain)]` struct is one MPI element MPI cannot reduce; reduce its \
            fields as arrays of numbers, or use `all_reduce` (the object path) with a closure"
)]
pub trait Number: crate::Plain<Element = Self> + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Number for $t {}
    )*};
}

number!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

/// Which extreme [`Communicator::all_reduce_loc_buffer`](crate::Communicator::all_reduce_loc_buffer) looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Loc {
    /// The largest value and the lowest rank holding it (`MPI_MAXLOC`).
    Max,
    /// The smallest value and the lowest rank holding it (`MPI_MINLOC`).
    Min,
}
