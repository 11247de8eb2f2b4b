//! Message matching, and the messages a communicator holds for later.
//!
//! A receive takes the oldest *held* message that matches its source and tag; when none
//! is held, it asks MPI with a matched probe (`MPI_Mprobe`), which removes exactly one
//! message from MPI's queue so no other thread can steal it, and tells its size before a
//! byte is received.
//!
//! Messages are held in three cases:
//! - a receive refused the message (wrong type, or a slice of the wrong length): it is put
//!   back where it was, so a later receive with the right type or size gets it;
//! - a send to one's own rank: the encoded bytes (or the copied elements) wait here, so a
//!   send to self never blocks, whatever its size;
//! - (matched MPI messages are held as MPI handles, not received, until a receive fits).
//!
//! Order is preserved: a held message is older than any message still inside MPI from the
//! same source with the same tag, and held messages are searched first, oldest first.

use std::any::Any as StdAny;
use std::collections::VecDeque;

use mpi::point_to_point::{Message, Status as MpiStatus};
use mpi::traits::{Communicator as _, Equivalence, MatchedReceiveVec, Source as MpiSource};

use crate::comm::Communicator;
use crate::env::Threading;
use crate::envelope::Status;
use crate::error::{ErrorKind, Result};

/// What a held or freshly matched message consists of.
pub(crate) enum Held {
    /// Matched by MPI, not received yet.
    Matched(Message, MpiStatus),
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

/// The messages one communicator holds.
#[derive(Default)]
pub(crate) struct Pending {
    queue: VecDeque<Entry>,
}

impl Pending {
    /// Hold a message sent to self.
    pub(crate) fn push(&mut self, entry: Entry) {
        self.queue.push_back(entry);
    }

    /// Put a refused message back where it came from.
    pub(crate) fn put_back(&mut self, entry: Entry, origin: Origin) {
        match origin {
            Origin::Queue(index) => self.queue.insert(index, entry),
            Origin::Mpi => self.queue.push_back(entry),
        }
    }

    fn take(&mut self, source: Option<usize>, tag: Option<i32>) -> Option<(Entry, Origin)> {
        let index = self.queue.iter().position(|e| {
            source.is_none_or(|s| s == e.status.source) && tag.is_none_or(|t| t == e.status.tag)
        })?;
        let entry = self.queue.remove(index)?;
        Some((entry, Origin::Queue(index)))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // MPI requires matched messages to be received; drain them before the
        // communicator (and maybe MPI) goes away.
        for entry in self.queue.drain(..) {
            if let Held::Matched(message, status) = entry.held {
                let _ = (message, status).matched_receive_vec::<u8>();
            }
        }
    }
}

/// The next message for a receive from `source` with `tag` (`None` = any): the oldest held
/// one, or the next one MPI matches (this blocks until one arrives).
pub(crate) fn next(
    comm: &Communicator,
    source: Option<usize>,
    tag: Option<i32>,
) -> Result<(Entry, Origin)> {
    if let Some(found) = comm.pending().take(source, tag) {
        return Ok(found);
    }
    if source == Some(comm.rank()) && comm.threading() < Threading::Multiple {
        return Err(ErrorKind::Deadlock {
            reason: format!(
                "rank {} receives from itself{} but sent itself no such message, \
                 so this receive could never complete",
                comm.rank(),
                tag.map(|t| format!(" with tag {t}")).unwrap_or_default()
            ),
        }
        .into());
    }
    let matched = probe(comm, source, tag, true).expect("a blocking probe always matches");
    Ok(entry_of(matched))
}

/// Like [`next`], without blocking: `None` when no matching message is there yet.
pub(crate) fn poll(
    comm: &Communicator,
    source: Option<usize>,
    tag: Option<i32>,
) -> Option<(Entry, Origin)> {
    if let Some(found) = comm.pending().take(source, tag) {
        return Some(found);
    }
    probe(comm, source, tag, false).map(entry_of)
}

/// A matched probe in MPI (`MPI_Mprobe` if `blocking`, else `MPI_Improbe`).
fn probe(
    comm: &Communicator,
    source: Option<usize>,
    tag: Option<i32>,
    blocking: bool,
) -> Option<(Message, MpiStatus)> {
    fn at<S: MpiSource>(
        from: &S,
        tag: Option<i32>,
        blocking: bool,
    ) -> Option<(Message, MpiStatus)> {
        match (tag, blocking) {
            (Some(t), true) => Some(from.matched_probe_with_tag(t)),
            (None, true) => Some(from.matched_probe()),
            (Some(t), false) => from.immediate_matched_probe_with_tag(t),
            (None, false) => from.immediate_matched_probe(),
        }
    }
    let raw = comm.raw();
    match source {
        Some(s) => at(&raw.process_at_rank(s as i32), tag, blocking),
        None => at(&raw.any_process(), tag, blocking),
    }
}

fn entry_of((message, status): (Message, MpiStatus)) -> (Entry, Origin) {
    let bytes = status.count(u8::equivalent_datatype()).max(0) as usize;
    let envelope = Status {
        source: status.source_rank() as usize,
        tag: status.tag(),
        bytes,
    };
    let held = Held::Matched(message, status);
    (
        Entry {
            status: envelope,
            held,
        },
        Origin::Mpi,
    )
}

/// Receive the bytes of a message for the object path. A buffer sent to self gives its
/// bytes if it is a `u8` buffer, as the same buffer from another rank would; a buffer of
/// any other type is `Err` with its type name (and is consumed, as from another rank).
pub(crate) fn into_bytes(held: Held) -> std::result::Result<Vec<u8>, &'static str> {
    match held {
        Held::Matched(message, status) => Ok((message, status).matched_receive_vec::<u8>().0),
        Held::Object(bytes) => Ok(bytes),
        Held::Local(boxed, name) => boxed.downcast::<Vec<u8>>().map(|b| *b).map_err(|_| name),
    }
}
