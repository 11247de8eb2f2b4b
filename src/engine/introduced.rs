//! Which ranks this engine has sent which type names to, so that a send to a rank can
//! leave the name off (the short form, [`wire::Reader`]) once the receiver has it.
//!
//! A direct-mapped table of [`SLOTS`] (rank, type) pairs: a pair that another one pushed
//! out only costs its next message the name again, so the table never needs to be
//! exact, only never to claim a pair it was not told of.

use std::cell::Cell;

use crate::wire::{self, Reader};

/// Slots of the table.
const SLOTS: usize = 64;

/// The (rank, type) pairs whose name went out.
pub(super) struct Introduced {
    slots: [Cell<u64>; SLOTS],
}

impl Default for Introduced {
    fn default() -> Self {
        Introduced {
            slots: std::array::from_fn(|_| Cell::new(0)),
        }
    }
}

/// The pair's key (never 0, the empty slot: bit 31 is set, which no rank has) and slot.
#[inline(always)]
fn key<T: ?Sized>(rank: i32) -> (u64, usize) {
    let short = u64::from(wire::short::fold(wire::fingerprint::<T>()));
    let key = short << 32 | u64::from(rank as u32) | 1 << 31;
    let slot = (short ^ (rank as u64).wrapping_mul(0x9e37_79b9)) as usize % SLOTS;
    (key, slot)
}

impl Introduced {
    /// How a `T` goes to `rank`: with its name the first time.
    #[inline(always)]
    pub(super) fn reader<T: ?Sized>(&self, rank: i32) -> Reader {
        let (key, slot) = key::<T>(rank);
        if self.slots[slot].get() == key {
            Reader::Introduced
        } else {
            Reader::New
        }
    }

    /// Note that a message naming `T` was sent to `rank`.
    #[inline]
    pub(super) fn note<T: ?Sized>(&self, rank: i32) {
        let (key, slot) = key::<T>(rank);
        self.slots[slot].set(key);
    }
}
