//! The bulk path of the codec: `Vec<E>` and `[E]` of plain numbers (`u8` … `u64`,
//! `i8` … `i64`, `f32`, `f64`) are encoded and decoded as whole blocks of bytes instead
//! of element by element through serde.
//!
//! The bytes are exactly bincode's (fixed-width little-endian integers: a `u64` element
//! count, then each element's little-endian bytes), so a bulk message and a serde one
//! are the same on the wire and either side may take either path. The path exists only
//! on little-endian machines, where an element's memory *is* its wire form; elsewhere
//! every value goes through serde.
//!
//! Which values qualify is decided at compile time per type (`castaway`'s zero-cost
//! casts: a monomorphised `send::<Vec<f64>>` has the bulk path, `send::<MyStruct>` has
//! no trace of it).

use bytemuck::Pod;
use castaway::{cast, LifetimeFree};

use crate::error::{ErrorKind, Result};

/// A number type of the bulk path.
pub(crate) trait Number: Pod + LifetimeFree {}

/// The number types of the bulk path, listed once: `each_number!(m)` is
/// `m!(u8, i8, ..., f64)`.
macro_rules! each_number {
    ($m:ident) => {
        $m! { u8, i8, u16, i16, u32, i32, u64, i64, f32, f64 }
    };
}

macro_rules! numbers {
    ($($t:ty),*) => { $(impl Number for $t {})* };
}
each_number!(numbers);

/// Bytes of the element count that starts a bulk payload.
pub(crate) const COUNT_LEN: usize = 8;

/// A value seen as a block of numbers.
pub(crate) struct Bulk<'a> {
    /// The element count, as it starts the payload.
    pub(crate) count: [u8; COUNT_LEN],
    /// The elements' bytes, which follow it.
    pub(crate) bytes: &'a [u8],
}

impl Bulk<'_> {
    /// Bytes of the whole payload.
    pub(crate) fn payload_len(&self) -> usize {
        COUNT_LEN + self.bytes.len()
    }
}

fn block<E: Number>(elements: &[E]) -> Bulk<'_> {
    Bulk {
        count: (elements.len() as u64).to_le_bytes(),
        bytes: bytemuck::cast_slice(elements),
    }
}

/// `value` as a block of numbers, when it is a `Vec<E>` or `[E]` of a number type `E`
/// (and the machine is little-endian).
pub(crate) fn of<T: ?Sized>(value: &T) -> Option<Bulk<'_>> {
    if cfg!(target_endian = "big") {
        return None;
    }
    macro_rules! try_each {
        ($($t:ty),*) => {$(
            if let Ok(v) = cast!(value, &Vec<$t>) {
                return Some(block::<$t>(v));
            }
            if let Ok(v) = cast!(value, &[$t]) {
                return Some(block::<$t>(v));
            }
        )*};
    }
    each_number!(try_each);
    None
}

/// Size in bytes of one element when `T` is `Vec<E>` of a number type `E` (and the
/// machine is little-endian): the types [`decode`] and [`Receiver`] handle.
#[inline]
pub(crate) fn element_size<T>() -> Option<usize> {
    if cfg!(target_endian = "big") {
        return None;
    }
    vec_element_size::<T>()
}

/// Size in bytes of `E` when it is a number type of the bulk path (on any machine).
#[inline]
pub(crate) fn number_size<E>() -> Option<usize> {
    vec_element_size::<Vec<E>>()
}

/// Size in bytes of one element when `V` is `Vec<E>` of a number type `E`.
#[inline]
fn vec_element_size<V>() -> Option<usize> {
    let mut probe: Option<V> = None;
    macro_rules! try_each {
        ($($t:ty),*) => {$(
            if cast!(&mut probe, &mut Option<Vec<$t>>).is_ok() {
                return Some(std::mem::size_of::<$t>());
            }
        )*};
    }
    each_number!(try_each);
    None
}

/// Put `elements` into `slot` when `T` is `Vec<E>`; false (and `slot` unchanged) when
/// it is not.
#[inline]
fn put<T, E: Number>(slot: &mut Option<T>, elements: Vec<E>) -> bool {
    match cast!(slot, &mut Option<Vec<E>>) {
        Ok(slot) => {
            *slot = Some(elements);
            true
        }
        Err(_) => false,
    }
}

/// The element count of a payload of `payload_len` bytes of `size`-byte elements that
/// starts with the count `announced`: `Err(Decode)` unless its length is a count and
/// whole elements and the count it announces is that many.
#[inline]
fn element_count(payload_len: usize, size: usize, announced: [u8; COUNT_LEN]) -> Result<usize> {
    let count = match payload_len.checked_sub(COUNT_LEN) {
        Some(body) if body % size == 0 => body / size,
        _ => return Err(not_elements(payload_len, size)),
    };
    let announced = u64::from_le_bytes(announced);
    if announced == count as u64 {
        Ok(count)
    } else {
        Err(miscounted(announced, count))
    }
}

#[cold]
fn not_elements(payload_len: usize, size: usize) -> crate::Error {
    corrupt(format!(
        "a payload of {payload_len} bytes is not an {COUNT_LEN}-byte count and \
         {size}-byte elements"
    ))
}

#[cold]
fn miscounted(announced: u64, count: usize) -> crate::Error {
    corrupt(format!(
        "the payload announces {announced} elements but carries {count}"
    ))
}

#[cold]
fn corrupt(reason: String) -> crate::Error {
    ErrorKind::Decode {
        reason: format!("payload is corrupt: {reason}"),
    }
    .into()
}

/// Decode `payload` as a `T` when `T` is a bulk type: `None` when it is not (serde
/// decodes it then). A payload is bincode's, count and elements (accepted and rejected
/// exactly as bincode does), or, when `bare`, the elements alone (a short message: the
/// count is the payload's length).
#[inline(always)]
pub(crate) fn decode<T>(payload: &[u8], bare: bool) -> Option<Result<T>> {
    let size = element_size::<T>()?;
    let body = if bare {
        if payload.len() % size != 0 {
            return Some(Err(corrupt(format!(
                "{} bytes of bare elements are not whole {size}-byte elements",
                payload.len()
            ))));
        }
        payload
    } else {
        let mut announced = [0u8; COUNT_LEN];
        if let Some(head) = payload.get(..COUNT_LEN) {
            announced.copy_from_slice(head);
        }
        if let Err(err) = element_count(payload.len(), size, announced) {
            return Some(Err(err));
        }
        &payload[COUNT_LEN..]
    };
    let mut slot = None;
    macro_rules! try_each {
        ($($t:ty),*) => {$(
            if cast!(&mut slot, &mut Option<Vec<$t>>).is_ok() {
                put(&mut slot, collect::<$t>(body));
                return slot.map(Ok);
            }
        )*};
    }
    each_number!(try_each);
    None
}

/// The elements in `body` (a whole number of them), aligned for `E` or not.
fn collect<E: Number>(body: &[u8]) -> Vec<E> {
    match bytemuck::try_cast_slice::<u8, E>(body) {
        Ok(elements) => elements.to_vec(),
        Err(_) => body
            .chunks_exact(std::mem::size_of::<E>())
            .map(bytemuck::pod_read_unaligned::<E>)
            .collect(),
    }
}

/// Receives the elements of a bulk payload straight into a new vector (see
/// `ffi::Matched`).
pub(crate) trait Receiver {
    /// Receive `elements` elements of `E` into a new vector.
    fn receive<E: Number>(self, elements: usize) -> Result<Vec<E>>;
}

/// Receive a split payload of `payload_len` bytes, whose first `LEAD` bytes (the count)
/// were `lead`, as a `T` through `receiver`, when `T` is a bulk type (`Err(receiver)`
/// untouched when it is not).
pub(crate) fn receive<T, R: Receiver>(
    payload_len: usize,
    lead: [u8; COUNT_LEN],
    receiver: R,
) -> std::result::Result<Result<T>, R> {
    let Some(size) = element_size::<T>() else {
        return Err(receiver);
    };
    let count = match element_count(payload_len, size, lead) {
        Ok(count) => count,
        Err(err) => {
            // The type matched but the bytes cannot be its payload: corrupt, consumed.
            drop(receiver);
            return Ok(Err(err));
        }
    };
    let mut slot = None;
    macro_rules! try_each {
        ($($t:ty),*) => {$(
            if cast!(&mut slot, &mut Option<Vec<$t>>).is_ok() {
                return Ok(receiver.receive::<$t>(count).map(|elements| {
                    put(&mut slot, elements);
                    slot
                }).and_then(|slot| slot.ok_or_else(|| corrupt("no value".into()))));
            }
        )*};
    }
    each_number!(try_each);
    Err(receiver)
}
