//! Message matching, and the messages a communicator holds for later.
//!
//! A receive takes the oldest *held* message that matches its source and tag; when none
//! is held, it asks MPI. Blocking receives of slices and objects receive straight into
//! memory (`ffi::receive_into`); `receive_buffer`, `sendrecv` and nonblocking receives use a
//! matched probe (`MPI_Mprobe` / `MPI_Improbe`), which removes exactly one message from
//! MPI's queue and tells its size before a byte is received.
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

use crate::comm::Communicator;
use crate::env::Threading;
use crate::envelope::Status;
use crate::error::{ErrorKind, Result};
use crate::ffi::{self, Matched};
use crate::wire;

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

/// The next message for a receive from `source` with `tag` (`None` = any): the oldest held
/// one, or the next one MPI matches. This blocks until one arrives, or, with a `timeout`,
/// until it has passed (`Err(Timeout)`, nothing received).
pub(crate) fn next(
    comm: &Communicator,
    source: Option<usize>,
    tag: Option<i32>,
    timeout: Option<Duration>,
) -> Result<(Entry, Origin)> {
    if let Some(found) = held(comm, source, tag) {
        return Ok(found);
    }
    check_not_self(comm, source, tag)?;
    let Some(timeout) = timeout else {
        let matched = ffi::probe(comm.p2p(), source, tag, true)?;
        return Ok(entry_of(matched.expect("a blocking probe always matches")));
    };
    let start = Instant::now();
    match poll_until(Some(timeout), || ffi::probe(comm.p2p(), source, tag, false))? {
        Some(matched) => Ok(entry_of(matched)),
        None => Err(ErrorKind::Timeout {
            waited: start.elapsed(),
            from: source,
            tag,
        }
        .into()),
    }
}

/// The longest nap of [`poll_until`]. A sleeping rank notices a message this late at
/// worst (plus the kernel's timer slack, about 50 us). Shorter costs more wake-ups while
/// nothing arrives; longer delays every hand-off: with a farm's root and its workers
/// each napping up to 500 us, a hand-off took 1-2 ms, 3% of the fib benchmark.
const LONGEST_NAP: Duration = Duration::from_micros(100);

/// Call `attempt` until it finds something, sleeping between tries: often at first (a
/// reply is usually close), then less (naps double from 2 us up to [`LONGEST_NAP`]), so
/// a rank that waits leaves the CPU to the others. With a `limit`, `Ok(None)` once that
/// much time has passed; without one, it only returns what `attempt` found (or its error).
pub(crate) fn poll_until<R>(
    limit: Option<Duration>,
    attempt: impl FnMut() -> Result<Option<R>>,
) -> Result<Option<R>> {
    poll_patiently(limit, || LONGEST_NAP, attempt)
}

/// Like [`poll_until`], with naps of at most `longest()` (asked before each nap, at
/// least [`LONGEST_NAP`]) taken with `thread::park_timeout`, so that another thread's
/// `unpark` ends a nap at once. The pool's root waits so: its compute thread unparks it,
/// and for its workers' reports it naps up to a hundredth of the time their batches
/// have run so far (a worker that finishes waits at most about 1% of its batch for the
/// next), instead of waking 10,000 times a second on the core its own compute thread
/// needs.
pub(crate) fn poll_patiently<R>(
    limit: Option<Duration>,
    longest: impl Fn() -> Duration,
    mut attempt: impl FnMut() -> Result<Option<R>>,
) -> Result<Option<R>> {
    let start = Instant::now();
    let mut nap = Duration::from_micros(2);
    loop {
        if let Some(found) = attempt()? {
            return Ok(Some(found));
        }
        let sleep = match limit {
            Some(limit) => match limit.checked_sub(start.elapsed()) {
                Some(left) if !left.is_zero() => nap.min(left),
                _ => return Ok(None),
            },
            None => nap,
        };
        std::thread::park_timeout(sleep);
        nap = (nap * 2).min(longest().max(LONGEST_NAP));
    }
}

/// The oldest held message for `source` and `tag`, if any (no MPI call).
#[inline]
pub(crate) fn held(
    comm: &Communicator,
    source: Option<usize>,
    tag: Option<i32>,
) -> Option<(Entry, Origin)> {
    comm.pending().take(source, tag)
}

/// `Err(Deadlock)` for a blocking receive from one's own rank when nothing is held for
/// it (called after [`held`] found nothing): no message could ever arrive.
#[inline]
pub(crate) fn check_not_self(
    comm: &Communicator,
    source: Option<usize>,
    tag: Option<i32>,
) -> Result<()> {
    if source == Some(comm.rank()) && comm.threading() < Threading::Multiple {
        return Err(self_deadlock(comm.rank(), tag));
    }
    Ok(())
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

/// Match the payload of a split object message whose first part came from `source` with
/// `tag`: the next message from there (MPI keeps them in order). Its size must be the
/// one the first part announced; otherwise it is received, dropped and reported. Nothing
/// is allocated for a payload before MPI has shown its real size, so a corrupt
/// announcement cannot make a receiver allocate more than arrived.
pub(crate) fn match_payload(
    comm: &Communicator,
    source: usize,
    tag: i32,
    announced: u64,
) -> Result<Matched> {
    let matched = ffi::probe(comm.p2p(), Some(source), Some(tag), true)?
        .expect("a blocking probe always matches");
    let got = matched.status().bytes as u64;
    if got != announced {
        drop(matched); // received and discarded
        return Err(ErrorKind::Decode {
            reason: format!(
                "a split object message announced {announced} payload bytes but {got} arrived"
            ),
        }
        .into());
    }
    Ok(matched)
}

/// Like [`next`], without blocking: `None` when no matching message is there yet.
pub(crate) fn poll(
    comm: &Communicator,
    source: Option<usize>,
    tag: Option<i32>,
) -> Result<Option<(Entry, Origin)>> {
    if let Some(found) = held(comm, source, tag) {
        return Ok(Some(found));
    }
    Ok(ffi::probe(comm.p2p(), source, tag, false)?.map(entry_of))
}

fn entry_of(matched: Matched) -> (Entry, Origin) {
    let status = matched.status();
    let held = Held::Matched(matched);
    (Entry { status, held }, Origin::Mpi)
}

/// Receive the bytes of a message for the object path (both parts of a split message,
/// joined). A buffer sent to self gives its bytes if it is a `u8` buffer, as the same
/// buffer from another rank would; a buffer of any other type is `Err` with its type
/// name (and is consumed, as from another rank).
pub(crate) fn into_bytes(comm: &Communicator, held: Held) -> Result<Vec<u8>> {
    match held {
        Held::Matched(matched) => {
            let Status { source, tag, .. } = matched.status();
            let first = matched.receive_vec::<u8>()?;
            let Some(head) = wire::split_payload(&first) else {
                return Ok(first);
            };
            let len = head.rest;
            // The rest lands right after the first part: the two side by side are the
            // whole message.
            let rest = match_payload(comm, source, tag, len)?;
            let mut bytes = first;
            let at = bytes.len();
            bytes.resize(at + len as usize, 0);
            rest.receive_into(&mut bytes[at..])?;
            Ok(bytes)
        }
        Held::Object(bytes) => Ok(bytes),
        Held::Local(boxed, name) => boxed.downcast::<Vec<u8>>().map(|b| *b).map_err(|_| {
            ErrorKind::Decode {
                reason: format!(
                    "the message is a buffer of {name} sent with send_buffer, not an object"
                ),
            }
            .into()
        }),
    }
}
