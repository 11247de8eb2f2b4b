//! The one agreement protocol of the collectives: before any data moves, every rank
//! learns every count it needs (a broadcast, all-gather or all-to-all of `u64`s), and a
//! rank that cannot take part (a value that does not encode, a wrong length at the root,
//! a count MPI cannot carry) sends [`FAILED`] instead of its count. Every rank sees the
//! same counts, so every rank stops at the same point: the rank that failed with its own
//! error, the others with `Err(Peer { rank })` naming it ([`failure`]). No rank is left
//! waiting in a collective the others have given up.
//!
//! The counts then become MPI's C-int counts and displacements ([`displacements`]).

use std::sync::atomic::{AtomicU64, Ordering};

use mpi::traits::CommunicatorCollectives;

use crate::comm::Communicator;
use crate::error::{ErrorKind, Result};

/// The count a rank announces when it cannot take part.
pub(super) const FAILED: u64 = u64::MAX;

/// The first rank whose count is [`FAILED`], if any.
#[inline]
pub(super) fn first_failed(counts: &[u64]) -> Option<usize> {
    counts.iter().position(|&c| c == FAILED)
}

impl Communicator {
    /// Every rank's `mine` (a count, or [`FAILED`]), in rank order: one all-gather.
    pub(super) fn all_counts(&self, mine: u64) -> Result<Vec<u64>> {
        let mut counts = vec![0u64; self.size()];
        self.collectives().all_gather_into(&mine, &mut counts[..]);
        self.collective_outcome("MPI_Allgather")?;
        Ok(counts)
    }
}

/// After the count exchange, a failure only this rank can see (its receive total, say):
/// one more all-gather, so every rank stops here when any rank must (`Err` on every
/// rank, never one rank returning while the others wait in the data's collective).
pub(super) fn agree_on<B>(comm: &Communicator, mine: Result<B>) -> Result<B> {
    let counts = comm.all_counts(if mine.is_ok() { 0 } else { FAILED })?;
    match first_failed(&counts) {
        Some(failed) => Err(failure(Some(mine), failed)),
        None => mine,
    }
}

/// The count the root announces: its byte length, or `FAILED`.
pub(super) fn announce(mine: &Option<Result<Vec<u8>>>) -> u64 {
    match mine {
        Some(Ok(bytes)) => bytes.len() as u64,
        Some(Err(_)) => FAILED,
        None => 0,
    }
}

/// The error a rank returns when `failed` could not take part: its own error if it was
/// this rank, `Peer` otherwise.
pub(super) fn failure<B>(mine: Option<Result<B>>, failed: usize) -> crate::Error {
    match mine {
        Some(Err(err)) => err,
        _ => ErrorKind::Peer { rank: failed }.into(),
    }
}

/// A message this machine cannot hold (a 64-bit count on a 32-bit target).
#[cold]
pub(super) fn too_large(bytes: u64) -> crate::Error {
    ErrorKind::TooLarge {
        bytes,
        max: usize::MAX as u64,
    }
    .into()
}

/// The largest count rsmpi's collectives take: `i32::MAX` (C `int` counts), lower only
/// in rspar's own tests (`limit_counts`).
static COUNT_LIMIT: AtomicU64 = AtomicU64::new(i32::MAX as u64);

#[inline]
fn count_limit() -> u64 {
    COUNT_LIMIT.load(Ordering::Relaxed)
}

/// Lower the count limit of the object collectives and the varying-length buffer
/// collectives (not exposed: `__private`, for tests of the paths a count over `i32::MAX`
/// takes, without gigabytes of memory). Every rank must set the same limit.
#[doc(hidden)]
pub fn limit_counts(limit: u64) {
    COUNT_LIMIT.store(limit.min(i32::MAX as u64), Ordering::Relaxed);
}

/// rsmpi's collectives take C `int` counts: at most `i32::MAX` elements per rank.
/// (Point-to-point messages, the buffer broadcast and the `_into` gather and scatter have
/// no such limit: see `ffi::Layout`.)
pub(super) fn check_count(count: usize) -> Result<()> {
    if count as u64 > count_limit() {
        return Err(ErrorKind::TooLarge {
            bytes: count as u64,
            max: count_limit(),
        }
        .into());
    }
    Ok(())
}

/// MPI's counts and displacements (C ints) for byte or element counts, or `TooLarge`
/// when they add up to more than a C int.
pub(super) fn displacements(counts: &[u64]) -> Result<(Vec<i32>, Vec<i32>)> {
    let mut displs = Vec::with_capacity(counts.len());
    let mut at = 0u64;
    for &c in counts {
        displs.push(at as i32);
        at += c;
        if at > count_limit() {
            return Err(ErrorKind::TooLarge {
                bytes: at,
                max: count_limit(),
            }
            .into());
        }
    }
    Ok((counts.iter().map(|&c| c as i32).collect(), displs))
}

pub(super) fn total(counts: &[i32]) -> usize {
    counts.iter().map(|&c| c as usize).sum()
}
