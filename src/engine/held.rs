//! Message matching, and the messages an engine holds for later.
//!
//! A receive takes the oldest *held* message that matches its source and tag; when none
//! is held, it asks MPI. Blocking receives of slices and objects receive straight into
//! memory (`ffi::receive_into`); `receive_buffer`, receives with a timeout and
//! nonblocking receives use a matched probe (`MPI_Mprobe` / `MPI_Improbe`), which removes
//! exactly one message from MPI's queue and tells its size before a byte is received.
//!
//! Messages are held in three cases:
//! - a receive refused the message (wrong type, or a slice longer than the message): it is
//!   put back where it was, so a later receive with the right type or size gets it (a
//!   slice shorter than the message receives it, as MPI would: see `ErrorKind::Overflow`);
//! - a send to one's own rank: the encoded bytes (or the copied elements) wait here, so a
//!   send to self never blocks, whatever its size;
//! - (matched MPI messages are held as MPI handles, not received, until a receive fits).
//!
//! Order is preserved: a held message is older than any message still inside MPI from the
//! same source with the same tag, and held messages are searched first, oldest first.

use std::any::Any as StdAny;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::Engine;
use crate::backoff::poll_until;
use crate::envelope::Status;
use crate::error::{ErrorKind, Result};
use crate::ffi::{self, Matched};

/// What a held or freshly matched message consists of.
pub(crate) enum Held {
    /// Matched by MPI, not received yet.
    Matched(Matched),
    /// Object bytes already received (or sent to self).
    Object(Vec<u8>),
    /// Elements of a buffer sent to self: a `Vec<T>`, with `T`'s name.
    Local(Box<dyn StdAny>, &'static str),
}

/// One message: its envelope and its contents.
pub(crate) struct Entry {
    pub(crate) status: Status,
    pub(crate) held: Held,
}

/// Where an entry came from, so a refused message goes back to the same place.
pub(crate) enum Origin {
    Queue(usize),
    Mpi,
}

/// The messages one engine holds, oldest first.
#[derive(Default)]
pub(super) struct Queue {
    queue: VecDeque<Entry>,
}

impl Queue {
    #[inline]
    fn take(&mut self, source: Option<usize>, tag: Option<i32>) -> Option<(Entry, Origin)> {
        if self.queue.is_empty() {
            return None;
        }
        self.take_matching(source, tag)
    }

    fn take_matching(
        &mut self,
        source: Option<usize>,
        tag: Option<i32>,
    ) -> Option<(Entry, Origin)> {
        let index = self.queue.iter().position(|e| {
            source.is_none_or(|s| s == e.status.source) && tag.is_none_or(|t| t == e.status.tag)
        })?;
        let entry = self.queue.remove(index)?;
        Some((entry, Origin::Queue(index)))
    }
}

impl Engine {
    /// Hold a message sent to self, from this rank with `tag`, of `bytes` bytes.
    pub(crate) fn hold(&self, tag: i32, bytes: usize, held: Held) {
        let status = Status {
            source: self.rank,
            tag,
            bytes,
        };
        self.held
            .borrow_mut()
            .queue
            .push_back(Entry { status, held });
    }

    /// Put a refused message back where it came from (for a message fresh from MPI: the
    /// back of the queue, as nothing older matched).
    pub(crate) fn put_back(&self, entry: Entry, origin: Origin) {
        let mut held = self.held.borrow_mut();
        match origin {
            Origin::Queue(index) => held.queue.insert(index, entry),
            Origin::Mpi => held.queue.push_back(entry),
        }
    }

    /// The oldest held message for `source` and `tag`, if any (no MPI call).
    #[inline]
    pub(crate) fn take_held(
        &self,
        source: Option<usize>,
        tag: Option<i32>,
    ) -> Option<(Entry, Origin)> {
        self.held.borrow_mut().take(source, tag)
    }

    /// The next message for a receive from `source` with `tag` (`None` = any): the oldest
    /// held one, or the next one MPI matches. This blocks until one arrives, or, with a
    /// `timeout`, until it has passed (`Err(Timeout)`, nothing received).
    pub(crate) fn next(
        &self,
        source: Option<usize>,
        tag: Option<i32>,
        timeout: Option<Duration>,
    ) -> Result<(Entry, Origin)> {
        if let Some(found) = self.take_held(source, tag) {
            return Ok(found);
        }
        self.check_not_self(source, tag)?;
        let Some(timeout) = timeout else {
            return Ok(entry_of(ffi::probe_wait(self.handle, source, tag)?));
        };
        let start = Instant::now();
        match poll_until(Some(timeout), || ffi::probe_now(self.handle, source, tag))? {
            Some(matched) => Ok(entry_of(matched)),
            None => Err(ErrorKind::Timeout {
                waited: start.elapsed(),
                from: source,
                tag,
            }
            .into()),
        }
    }

    /// Like [`next`](Self::next), without blocking: `None` when no matching message is
    /// there yet.
    pub(crate) fn poll(
        &self,
        source: Option<usize>,
        tag: Option<i32>,
    ) -> Result<Option<(Entry, Origin)>> {
        if let Some(found) = self.take_held(source, tag) {
            return Ok(Some(found));
        }
        Ok(ffi::probe_now(self.handle, source, tag)?.map(entry_of))
    }

    /// `Err(Deadlock)` for a blocking receive from one's own rank when nothing is held for
    /// it (called after [`take_held`](Self::take_held) found nothing): no message could
    /// ever arrive.
    #[inline]
    pub(crate) fn check_not_self(&self, source: Option<usize>, tag: Option<i32>) -> Result<()> {
        if source == Some(self.rank) && !self.threads_share {
            return Err(self_deadlock(self.rank, tag));
        }
        Ok(())
    }
}

#[cold]
fn self_deadlock(rank: usize, tag: Option<i32>) -> crate::Error {
    ErrorKind::Deadlock {
        reason: format!(
            "rank {rank} receives from itself{} but sent itself no such message, \
             so this receive could never complete",
            tag.map(|t| format!(" with tag {t}")).unwrap_or_default()
        ),
    }
    .into()
}

fn entry_of(matched: Matched) -> (Entry, Origin) {
    let status = matched.status();
    let held = Held::Matched(matched);
    (Entry { status, held }, Origin::Mpi)
}
