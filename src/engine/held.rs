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
//! same source with the same tag, and held messages are searched first, oldest first; a
//! receive for any tag checks MPI first where a held message's place among other tags is
//! not known (`Place`, `take_held`).

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

/// Where an entry came from, so a refused message goes back to the same place, with
/// what is known of that place.
pub(crate) enum Origin {
    Queue(usize, Place),
    Mpi(Place),
}

impl Origin {
    /// A message fresh from MPI, matched by a receive for `tag` (`None` = any).
    #[inline]
    pub(crate) fn mpi(tag: Option<i32>) -> Origin {
        Origin::Mpi(if tag.is_some() {
            Place::InTag
        } else {
            Place::Known
        })
    }
}

/// What is known of a held message's place among its source's messages. MPI keeps one
/// order per source; a receive for one tag takes the oldest message *of that tag*, and
/// older messages of other tags may still be inside MPI.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Place {
    /// Older than every message of its source still inside MPI: sent to self (all of
    /// those are held), or matched by a receive for any tag.
    Known,
    /// Older than its source's messages of its own tag still inside MPI; of other tags,
    /// not known (it was matched by a receive for its tag only).
    InTag,
}

/// One held message, what is known of its place, and the pending nonblocking receive
/// it belongs to, if one (`posted`): such a message keeps its place in the queue, but
/// only its request takes it.
struct Slot {
    entry: Entry,
    place: Place,
    owner: Option<u64>,
}

/// The messages one engine holds, oldest first.
#[derive(Default)]
pub(super) struct Queue {
    queue: VecDeque<Slot>,
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
        let index = self.queue.iter().position(|slot| {
            let e = &slot.entry;
            slot.owner.is_none()
                && source.is_none_or(|s| s == e.status.source)
                && tag.is_none_or(|t| t == e.status.tag)
        })?;
        self.remove(index)
    }

    /// The held messages a receive from `source` (`None` = any) for any tag may take,
    /// oldest first: (index, source, tag, place).
    fn matching(&self, source: Option<usize>) -> Vec<(usize, usize, i32, Place)> {
        self.queue
            .iter()
            .enumerate()
            .filter(|(_, slot)| {
                slot.owner.is_none() && source.is_none_or(|s| s == slot.entry.status.source)
            })
            .map(|(index, slot)| {
                let status = &slot.entry.status;
                (index, status.source, status.tag, slot.place)
            })
            .collect()
    }

    fn remove(&mut self, index: usize) -> Option<(Entry, Origin)> {
        let slot = self.queue.remove(index)?;
        Some((slot.entry, Origin::Queue(index, slot.place)))
    }

    /// Put `entry` back where `origin` says, for `owner` (a pending request) or anyone.
    fn insert(&mut self, entry: Entry, origin: Origin, owner: Option<u64>) {
        match origin {
            Origin::Queue(index, place) => {
                let index = index.min(self.queue.len());
                self.queue.insert(
                    index,
                    Slot {
                        entry,
                        place,
                        owner,
                    },
                )
            }
            Origin::Mpi(place) => self.queue.push_back(Slot {
                entry,
                place,
                owner,
            }),
        }
    }

    /// The message held for request `id`, if any.
    pub(super) fn take_owned(&mut self, id: u64) -> Option<(Entry, Origin)> {
        let index = self.queue.iter().position(|slot| slot.owner == Some(id))?;
        self.remove(index)
    }

    /// Hold `entry` (from `origin`, the queue or MPI) in its place for request `id`.
    pub(super) fn keep_for(&mut self, id: u64, entry: Entry, origin: Origin) {
        self.insert(entry, origin, Some(id));
    }

    /// True when request `id` has a message held for it.
    pub(super) fn owns(&self, id: u64) -> bool {
        self.queue.iter().any(|slot| slot.owner == Some(id))
    }

    /// Request `id` is gone: its message, if one, is anyone's again, in its place.
    pub(super) fn release(&mut self, id: u64) {
        for slot in self.queue.iter_mut().filter(|slot| slot.owner == Some(id)) {
            slot.owner = None;
        }
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
        let entry = Entry { status, held };
        self.held
            .borrow_mut()
            .insert(entry, Origin::Mpi(Place::Known), None);
    }

    /// Put a refused message back where it came from (for a message fresh from MPI: the
    /// back of the queue, as nothing older matched).
    pub(crate) fn put_back(&self, entry: Entry, origin: Origin) {
        let origin = match origin {
            Origin::Mpi(Place::InTag) => Origin::Mpi(self.place_now(&entry)),
            origin => origin,
        };
        self.held.borrow_mut().insert(entry, origin, None);
    }

    /// The place of `entry`, just matched in MPI by a receive for its tag only: known
    /// when MPI holds nothing from its source now, or a message of the same tag first
    /// (newer, as is all that follows it); MPI's messages arrive in order, so any older
    /// message of another tag would be there.
    #[cold]
    fn place_now(&self, entry: &Entry) -> Place {
        match ffi::peek_tag(self.handle, entry.status.source) {
            Ok(None) => Place::Known,
            Ok(Some(tag)) if tag == entry.status.tag => Place::Known,
            _ => Place::InTag,
        }
    }

    /// The oldest held message for `source` and `tag`, if any, when MPI's order gives
    /// it to this receive; `None`: ask MPI.
    ///
    /// A receive for any tag that finds a message matched earlier by a receive for its
    /// tag only, while MPI held an older-or-newer message of another tag from the same
    /// source ([`Place::InTag`]), asks MPI first (`MPI_Iprobe`) for the oldest message
    /// from that source: none, or one of the held message's tag (which is newer), and
    /// the held one is the oldest; one of another tag, and MPI's is taken first, as the
    /// sender's older message (see `take_held_slow`). (Once a message is received, MPI
    /// cannot tell whether a message of another tag that had arrived too was sent before
    /// or after it; rspar takes MPI's first: a refused message never overtakes one still
    /// inside MPI.)
    #[inline(always)]
    pub(crate) fn take_held(
        &self,
        source: Option<usize>,
        tag: Option<i32>,
    ) -> Option<(Entry, Origin)> {
        if self.held.borrow().queue.is_empty() {
            return None;
        }
        self.take_held_slow(source, tag)
    }

    /// [`take_held`](Self::take_held) when messages are held. A receive for one tag takes
    /// the oldest held message of that tag. A receive for any tag goes through the held
    /// messages it matches, oldest first, and takes the first one no message inside MPI
    /// precedes: one sent to self or of known place; else one whose source's oldest
    /// message inside MPI (`MPI_Iprobe`, once per source) is absent or of its own tag. A
    /// source whose oldest message inside MPI has another tag has that message first:
    /// its held messages of unknown place are passed (they stay in place), and `None`
    /// (nothing held fits) sends the receive to MPI.
    #[inline(never)]
    fn take_held_slow(&self, source: Option<usize>, tag: Option<i32>) -> Option<(Entry, Origin)> {
        if tag.is_some() {
            return self.held.borrow_mut().take(source, tag);
        }
        let candidates = self.held.borrow().matching(source);
        let mut peeked: Vec<(usize, Option<i32>)> = Vec::new();
        for (index, from, its_tag, place) in candidates {
            if from == self.rank || place == Place::Known {
                return self.held.borrow_mut().remove(index);
            }
            let oldest_in_mpi = match peeked.iter().find(|(s, _)| *s == from) {
                Some(&(_, oldest)) => oldest,
                None => {
                    let oldest = ffi::peek_tag(self.handle, from).ok().flatten();
                    peeked.push((from, oldest));
                    oldest
                }
            };
            if oldest_in_mpi.is_none_or(|t| t == its_tag) {
                return self.held.borrow_mut().remove(index);
            }
        }
        None
    }

    /// The next message for a receive from `source` with `tag` (`None` = any): the oldest
    /// held one, or the next one MPI matches; a message that belongs to a pending
    /// nonblocking receive goes to it (`posted`). This blocks until one arrives, or, with
    /// a `timeout`, until it has passed (`Err(Timeout)`, nothing received).
    #[inline]
    pub(crate) fn next(
        &self,
        source: Option<usize>,
        tag: Option<i32>,
        timeout: Option<Duration>,
    ) -> Result<(Entry, Origin)> {
        if self.any_posted() {
            return self.next_posted(None, source, tag, timeout);
        }
        self.next_one(source, tag, timeout)
    }

    /// [`next`](Self::next) with no pending request to consider.
    pub(super) fn next_one(
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
            return Ok(entry_of(ffi::probe_wait(self.handle, source, tag)?, tag));
        };
        let start = Instant::now();
        match poll_until(Some(timeout), || ffi::probe_now(self.handle, source, tag))? {
            Some(matched) => Ok(entry_of(matched, tag)),
            None => Err(ErrorKind::Timeout {
                waited: start.elapsed(),
                from: source,
                tag,
            }
            .into()),
        }
    }

    /// Like [`next_one`](Self::next_one), without blocking: `None` when no matching
    /// message is there yet.
    pub(super) fn poll_one(
        &self,
        source: Option<usize>,
        tag: Option<i32>,
    ) -> Result<Option<(Entry, Origin)>> {
        if let Some(found) = self.take_held(source, tag) {
            return Ok(Some(found));
        }
        Ok(ffi::probe_now(self.handle, source, tag)?.map(|m| entry_of(m, tag)))
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

/// A message MPI matched for a receive for `tag`.
fn entry_of(matched: Matched, tag: Option<i32>) -> (Entry, Origin) {
    let status = matched.status();
    let held = Held::Matched(matched);
    (Entry { status, held }, Origin::mpi(tag))
}
