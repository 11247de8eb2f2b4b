//! `Plain`: the layout contract of the buffer path, its implementations (numbers,
//! arrays), and the views of `Plain` slices as slices of their MPI elements.
//!
//! MPI sees a slice of `T` as `len * T::PER_VALUE` elements of `T::Element`'s datatype:
//! arrays (of arrays) of numbers flatten to their numbers, a derived struct is one
//! element of its own datatype ([`derived`](super::derived)).

use std::mem::{align_of, size_of};

use mpi::datatype::DatatypeRef;
use mpi::traits::Equivalence;

use crate::error::{ErrorKind, Result};

/// Plain data the buffer path can carry: the numbers, arrays of them (of any depth), and
/// your own structs through `#[derive(Plain)]`.
///
/// Every bit pattern must be a valid value, since the buffer path (like MPI) checks sizes,
/// not types: `bool` is not `Plain` (a `u8` buffer of 2s received as `bool`s would be
/// undefined behaviour); send flags as `u8`, or with `send`/`receive`.
///
/// ```compile_fail,E0277
/// fn needs_plain<T: rspar::Plain>() {}
/// needs_plain::<bool>();
/// ```
///
/// ```
/// #[derive(rspar::Plain, Clone, Copy, Debug, PartialEq)]
/// struct Particle {
///     position: [f64; 3],
///     charge: i32,
/// }
///
/// fn needs_plain<T: rspar::Plain>() {}
/// needs_plain::<Particle>();
/// needs_plain::<[Particle; 4]>();
/// needs_plain::<f64>();
/// needs_plain::<[[i32; 2]; 2]>();
/// ```
///
/// The derive makes an MPI struct datatype from the fields (each a `Plain` type, at its
/// offset; padding is never sent), sized to the struct so slices of it have the right
/// stride. It needs a non-generic struct with fields, that is `Copy`:
///
/// ```compile_fail,E0277
/// #[derive(rspar::Plain, Clone, Copy)]
/// struct Label { text: &'static str } // a field that is not Plain
/// ```
///
/// ```compile_fail,E0277
/// #[derive(rspar::Plain, Clone)] // not Copy
/// struct Counts { n: [u64; 4] }
/// ```
///
/// ```compile_fail
/// #[derive(rspar::Plain, Clone, Copy)] // an enum: not every value is a valid one
/// enum Phase { Solid, Liquid }
/// ```
///
/// # Safety
///
/// Implement it by hand only for a type that is, in memory, exactly `PER_VALUE` values
/// of a non-zero-sized `Element` back to back, `size_of::<Self>() == PER_VALUE *
/// size_of::<Element>()`, with at least `Element`'s alignment (these three are checked
/// at compile time where rspar uses them), and valid for any values of those elements
/// (MPI writes them in place). `Element`'s datatype must describe one `Element` with
/// extent `size_of::<Element>()`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Plain` data for the buffer path",
    note = "numbers, arrays of them and structs with `#[derive(rspar::Plain)]` are \
            `Plain`; send other values with `send`/`receive` (the object path)"
)]
pub unsafe trait Plain: Copy + 'static {
    /// The MPI element a value is made of, an implementation detail of the buffer path
    /// (you need it only to implement `Plain` by hand): a number for numbers and arrays
    /// of them, the struct itself for a derived one. Its datatype lives for the program.
    type Element: Equivalence<Out = DatatypeRef<'static>>;
    /// How many `Element`s one value is (an array's length times its items').
    const PER_VALUE: usize;
}

macro_rules! primitive {
    ($($t:ty),*) => {$(
        // SAFETY: one value is one element of itself, whose rsmpi datatype is MPI's
        // predefined type of that size, and every bit pattern is a valid value (so
        // whatever bytes arrive, the slice holds valid values; hence no `bool`).
        unsafe impl Plain for $t {
            type Element = $t;
            const PER_VALUE: usize = 1;
        }
    )*};
}

primitive!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

// SAFETY: `[T; N]` is `N` values of `T` back to back with `T`'s alignment (the array
// layout Rust guarantees), and each `T` is `T::PER_VALUE` elements by `T`'s own contract,
// so the array is `N * T::PER_VALUE` elements, valid whenever each `T` is.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {
    type Element = T::Element;
    const PER_VALUE: usize = N * T::PER_VALUE;
}

/// The `Plain` contract's sizes, checked where rspar relies on them (a compile error
/// for a hand-written implementation that breaks them). Elements are not zero-sized,
/// so an element count never exceeds the bytes of the memory it describes.
#[inline(always)]
fn check_layout<T: Plain>() {
    const {
        assert!(
            size_of::<T::Element>() > 0,
            "rspar::Plain: the element type must not be zero-sized"
        );
        assert!(
            size_of::<T>() == T::PER_VALUE * size_of::<T::Element>(),
            "rspar::Plain: size_of::<T>() must be PER_VALUE elements"
        );
        assert!(
            align_of::<T>() >= align_of::<T::Element>(),
            "rspar::Plain: T must be at least as aligned as its element"
        );
    }
}

/// How many `T::Element`s `len` values of `T` are, or `TooLarge`. For one-element types
/// (numbers, derived structs) this is `len`, and the check folds away.
#[inline(always)]
pub(crate) fn element_count<T: Plain>(len: usize) -> Result<usize> {
    check_layout::<T>();
    len.checked_mul(T::PER_VALUE).ok_or_else(|| {
        ErrorKind::TooLarge {
            bytes: (len as u64).saturating_mul(size_of::<T>() as u64),
            max: isize::MAX as u64,
        }
        .into()
    })
}

/// `data` as the MPI elements its values are made of.
#[inline(always)]
pub(crate) fn as_elements<T: Plain>(data: &[T]) -> &[T::Element] {
    check_layout::<T>();
    // Cannot overflow: the elements are not zero-sized and fill `data`'s memory.
    let len = data.len() * T::PER_VALUE;
    let ptr = super::mpi_address(data.as_ptr(), len).cast::<T::Element>();
    // SAFETY: by `Plain`'s contract (sizes and alignment checked above) `data`'s memory
    // is exactly `len` initialized, aligned values of `T::Element`, borrowed as long as
    // the result; for none, `ptr` is a non-null address aligned for `T` and so for the
    // element (no MPI sentinel: these slices go to rsmpi's collectives).
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// `data` as the MPI elements its values are made of, for MPI to write.
#[inline(always)]
pub(crate) fn as_elements_mut<T: Plain>(data: &mut [T]) -> &mut [T::Element] {
    check_layout::<T>();
    let len = data.len() * T::PER_VALUE;
    let ptr = super::mpi_address_mut(data.as_mut_ptr(), len).cast::<T::Element>();
    // SAFETY: as in `as_elements`, borrowed exclusively; any elements written leave
    // valid values of `T` (`Plain`'s contract).
    unsafe { std::slice::from_raw_parts_mut(ptr, len) }
}

/// `data` as bytes when `T` is `u8` (the buffer path's view of an object message read as
/// bytes), else `None`; decided at compile time.
#[inline(always)]
pub(crate) fn bytes_if_u8<T: Plain>(data: &[T]) -> Option<&[u8]> {
    if std::any::TypeId::of::<T>() != std::any::TypeId::of::<u8>() {
        return None;
    }
    // SAFETY: `T` is `u8` (same `TypeId`), so `data` is `data.len()` initialized bytes,
    // borrowed as long as the result.
    Some(unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), data.len()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_flatten_to_their_numbers() {
        assert_eq!(<[f64; 3]>::PER_VALUE, 3);
        assert_eq!(<[[i32; 2]; 2]>::PER_VALUE, 4);
        assert_eq!(<[[u8; 0]; 7]>::PER_VALUE, 0);
        assert_eq!(element_count::<[f64; 3]>(5).unwrap(), 15);
        assert!(element_count::<[u8; 2]>(usize::MAX).is_err());
        let data = [[1i32, 2], [3, 4]];
        assert_eq!(as_elements(&data[..]), [1, 2, 3, 4]);
        let mut data = [[0u16; 3]; 2];
        as_elements_mut(&mut data[..]).copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(data, [[1, 2, 3], [4, 5, 6]]);
        assert_eq!(bytes_if_u8(&[1u8, 2][..]), Some(&[1u8, 2][..]));
        assert_eq!(bytes_if_u8(&[1i8, 2][..]), None);
        assert_eq!(bytes_if_u8(&[[1u8; 2]][..]), None);
    }
}
