//! The error type of every fallible rspar call.
//!
//! [`Error`] is a small box around an [`ErrorKind`] (match on [`Error::kind`]), so a
//! `Result<(), Error>` stays one word wide on the hot paths.
//!
//! rspar also counts the errors that are alive. When the world handle is dropped while an
//! rspar error is still alive (the usual sign of `main` returning `Err` through `?`), rspar
//! aborts the MPI job instead of calling `MPI_Finalize`, so the other ranks are not left
//! waiting forever for a rank that has gone (see `env/mod.rs`).

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `Result` with rspar's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong; see [`Error::kind`].
///
/// New variants may come in later versions (the enum is `#[non_exhaustive]`):
///
/// ```
/// use rspar::ErrorKind;
/// fn is_type_mismatch(err: &rspar::Error) -> bool {
///     matches!(err.kind(), ErrorKind::TypeMismatch { .. })
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `init` was called while a communicator from an earlier `init` is still alive.
    #[error("MPI is already initialized by rspar::init: it may be called again only after every communicator from the first call has been dropped")]
    AlreadyInitialized,
    /// `init` was called after MPI had been finalized; MPI cannot be started twice.
    #[error("MPI has been finalized and cannot be initialized again")]
    Finalized,
    /// A rank outside `0..size` was given as a destination, source or root.
    #[error("invalid rank {rank}: this communicator has ranks 0..{size}")]
    InvalidRank {
        /// The rank that was given.
        rank: usize,
        /// The size of the communicator.
        size: usize,
    },
    /// A tag outside `0..=MAX_TAG`, or the wildcard [`Any`](crate::Any) given to a send.
    #[error("invalid tag {tag}: {reason}")]
    InvalidTag {
        /// The tag that was given, whatever its integer type (`-1` for the wildcard).
        tag: i128,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The message at the head of the queue holds another type than the one asked for.
    /// The message stays queued: receive it again with the right type.
    #[error("type mismatch: expected a message of type {expected}, but the message holds {found}")]
    TypeMismatch {
        /// The type the receiver asked for.
        expected: String,
        /// The type the sender sent: its name, when the message carried it or the receiver
        /// knows a type of that fingerprint; else a text that gives the fingerprint and says
        /// the name was left off (a short message of a type the receiver never used).
        found: String,
    },
    /// A buffer receive into a slice longer than the message. Nothing was received: the
    /// message stays queued for the next receive, where a slice of `got` elements (or
    /// `receive_buffer`) takes it. The slice's contents are unspecified. The same on every
    /// path: a plain or timed receive, a message from another rank or sent to self.
    #[error("a message of {got} elements is shorter than the receive buffer of {capacity} elements: nothing was received, and the message stays queued for the next receive")]
    ShortMessage {
        /// Elements the receive buffer holds.
        capacity: usize,
        /// Elements the message holds.
        got: usize,
    },
    /// A buffer receive into a slice shorter than the message. The message was received,
    /// as MPI does (`MPI_ERR_TRUNCATE`): the slice holds its first `capacity` elements and
    /// the rest is lost; the next receive gets the next message. The same on every path:
    /// a plain or timed receive, a message from another rank or sent to self. (One
    /// exception, MPI's: it does not promise the start of a message it cut itself, `got:
    /// None`, and MPICH may leave the slice unwritten then.) Receive messages whose length
    /// varies with `receive_buffer`, which sizes its vector from the message.
    #[error("a message {} is longer than the receive buffer of {capacity} elements: it was received, {}, and the rest is lost (use receive_buffer for messages of varying length)", length_of(.got), start_of(*.capacity, .got))]
    Overflow {
        /// Elements the receive buffer holds.
        capacity: usize,
        /// Elements the message held, when rspar knows (`None`: MPI cut it in a receive
        /// with no timeout, without saying how long it was).
        got: Option<usize>,
    },
    /// A reduction's receive buffer does not have the send buffer's length. The reduction
    /// ran on every rank (this rank's result went to scratch memory and was dropped), so
    /// the other ranks' calls completed; the receive buffer was not written.
    #[error("the receive buffer of a reduction holds {recv} elements, the send buffer {send}: they must be as long; the receive buffer was not written")]
    BufferLength {
        /// Elements of the send buffer.
        send: usize,
        /// Elements of the receive buffer.
        recv: usize,
    },
    /// Bytes that are not a valid rspar object message (corrupt, truncated, or not sent
    /// by the object path). The message has been consumed.
    #[error("cannot decode message: {reason}")]
    Decode {
        /// What was wrong with the bytes.
        reason: String,
    },
    /// The value could not be serialized (a serde error).
    #[error("cannot encode value: {reason}")]
    Encode {
        /// The serializer's message.
        reason: String,
    },
    /// A message larger than this MPI path can carry.
    #[error("message too large: {bytes} bytes, the limit is {max}")]
    TooLarge {
        /// Size of the message in bytes.
        bytes: u64,
        /// The largest size allowed.
        max: u64,
    },
    /// A call that could never complete, found out before it blocked.
    #[error("deadlock: {reason}")]
    Deadlock {
        /// Why the call could never complete.
        reason: String,
    },
    /// A collective was given the wrong number of items: an object collective
    /// (`scatter`, `all_to_all`) needs one per rank; the root's buffer of
    /// `gather_buffer_into` / `scatter_buffer_into` one block of the per-rank length per
    /// rank; `scatter_buffer` a length that the rank count divides (`expected` is then the
    /// next such length).
    #[error("wrong number of items: expected {expected}, got {got}")]
    Count {
        /// Items needed.
        expected: usize,
        /// Items given.
        got: usize,
    },
    /// Another rank could not take part in a collective (its own call returned the
    /// reason); every rank's call failed, and the communicator stays usable.
    #[error("rank {rank} could not take part in the collective (see its error)")]
    Peer {
        /// The first rank that failed.
        rank: usize,
    },
    /// A `split` color above `i32::MAX`.
    #[error("invalid split color {color}: colors must be below 2^31")]
    InvalidColor {
        /// The color that was given.
        color: u32,
    },
    /// No rank holds the reduced extreme at this position (values that do not compare,
    /// such as NaN).
    #[error(
        "no rank holds the extreme value at position {index} (does it compare, e.g. not NaN?)"
    )]
    Unordered {
        /// Position in the buffer.
        index: usize,
    },
    /// A pool (or farm) task panicked or returned `Err` (after its retries, if any).
    #[error("task {index} failed on rank {rank}: {message}")]
    TaskFailed {
        /// Position of the task's input.
        index: usize,
        /// The rank that ran it last.
        rank: usize,
        /// The panic message (with its place) or the `Err` as text.
        message: String,
    },
    /// A pool's task was cancelled (or its result already taken) before it was waited for.
    #[error("task {index} was cancelled")]
    Cancelled {
        /// The task's index (its position in its stream, or its submission number).
        index: usize,
    },
    /// A pool's `map_timeout` (or a stream with a time limit) ran out of time; its
    /// unfinished tasks were cancelled, and the pool is usable.
    #[error("the pool's tasks did not finish within {waited:?} ({done} results were ready)")]
    PoolTimeout {
        /// The time limit.
        waited: std::time::Duration,
        /// Results delivered before the limit.
        done: usize,
    },
    /// The pool could not start workers at run time (`MPI_Comm_spawn`): this MPI cannot
    /// spawn (MPICH with the ucx device), or a child failed to start. The pool goes on
    /// with the processes it has.
    #[error("cannot spawn pool workers: {reason}")]
    Spawn {
        /// MPI's message, or what was wrong with the request.
        reason: String,
    },
    /// A pool cannot be resized as asked (the root always stays; only the root grows a
    /// pool).
    #[error("cannot resize the pool to {requested} processes: {reason}")]
    PoolSize {
        /// The number of computing processes asked for, the root included.
        requested: usize,
        /// Why not.
        reason: String,
    },
    /// No matching message arrived within a receive's timeout (see
    /// [`Tagged::timeout`](crate::Tagged::timeout)). Nothing was received: the
    /// communicator is usable and a later receive gets the message if it comes.
    #[error("no message from {} with {} arrived within {waited:?}", rank_text(.from), tag_text(.tag))]
    Timeout {
        /// How long the receive waited.
        waited: std::time::Duration,
        /// The source rank waited for (`None`: any source).
        from: Option<usize>,
        /// The tag waited for (`None`: any tag).
        tag: Option<i32>,
    },
    /// MPI itself returned an error code rspar has no better kind for.
    #[error("MPI error in {call}: {message} (error class {class})")]
    Mpi {
        /// The MPI function.
        call: &'static str,
        /// MPI's error class (`MPI_Error_class`).
        class: i32,
        /// MPI's text for the error (`MPI_Error_string`).
        message: String,
    },
    /// An rspar environment variable holds a value rspar cannot use.
    #[error("invalid value {value:?} for environment variable {variable}: {reason}")]
    Config {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What is accepted.
        reason: &'static str,
    },
    /// `finalize` was called while other communicators still use MPI.
    #[error("cannot finalize: {others} other communicator(s) still alive; MPI finalizes when the last one is dropped")]
    InUse {
        /// How many other communicators hold MPI open.
        others: usize,
    },
    /// A communicator handed to [`Init::wrap_raw`](crate::Init::wrap_raw) or
    /// [`Init::wrap`](crate::Init::wrap) that rspar cannot use.
    #[error("cannot use this communicator: {reason}")]
    InvalidCommunicator {
        /// Why.
        reason: String,
    },
    /// MPI was initialised by a host (C, mpi4py, rsmpi) with a lower thread level than
    /// [`Init::threading`](crate::Init::threading) asked for; rspar cannot raise it.
    #[error("MPI was initialized by the host with thread level {provided:?}, below the {requested:?} asked for: initialize MPI with MPI_Init_thread at that level, or ask rspar for less")]
    Threading {
        /// The level asked for.
        requested: crate::Threading,
        /// The level the host's MPI provides.
        provided: crate::Threading,
    },
    /// A process of the communicator has failed (ULFM: built against Open MPI 5 with
    /// fault tolerance and launched with `mpirun --with-ft ulfm`; without it a lost
    /// process ends the job instead). The call did not complete; the failure is
    /// acknowledged, so receives from [`Any`](crate::Any) work again, and
    /// [`Communicator::shrink`](crate::Communicator::shrink) makes a communicator of the
    /// survivors. See `docs/ulfm.md`.
    #[error("process failure: rank(s) {ranks:?} of this communicator have failed (shrink() makes a communicator of the survivors)")]
    ProcessFailed {
        /// The communicator's ranks known to have failed, in increasing order (empty when
        /// MPI cannot tell which).
        ranks: Vec<usize>,
    },
    /// The communicator was revoked ([`Communicator::revoke`](crate::Communicator::revoke),
    /// on any rank) after a process failure: every call on it fails; shrink it.
    #[error("the communicator was revoked after a process failure: shrink() makes a communicator of the survivors")]
    Revoked,
    /// [`shrink`](crate::Communicator::shrink), [`revoke`](crate::Communicator::revoke)
    /// or [`agree`](crate::Communicator::agree) without fault tolerance.
    #[error("fault tolerance is not available: {reason}")]
    FaultTolerance {
        /// Why: not built against an MPI with ULFM, or not launched with it on.
        reason: &'static str,
    },
}

/// "rank 3" or "any rank".
pub(crate) fn rank_text(rank: &Option<usize>) -> String {
    rank.map_or_else(|| "any rank".into(), |r| format!("rank {r}"))
}

/// "tag 5" or "any tag".
pub(crate) fn tag_text(tag: &Option<i32>) -> String {
    tag.map_or_else(|| "any tag".into(), |t| format!("tag {t}"))
}

/// "of 10 elements" or "of unknown length".
fn length_of(got: &Option<usize>) -> String {
    got.map_or_else(
        || "of unknown length".into(),
        |n| format!("of {n} elements"),
    )
}

/// Where an overflowing message's start is: in the buffer, unless MPI cut the message
/// (`got: None`) and did not write it.
fn start_of(capacity: usize, got: &Option<usize>) -> String {
    let holds = format!("the buffer holds its first {capacity} elements");
    match got {
        Some(_) => holds,
        None => holds + " if MPI wrote them (Open MPI does, MPICH may not)",
    }
}

/// An rspar error: a boxed [`ErrorKind`].
///
/// ```
/// let err = rspar::Error::from(rspar::ErrorKind::AlreadyInitialized);
/// assert_eq!(err.kind(), &rspar::ErrorKind::AlreadyInitialized);
/// assert!(err.to_string().contains("already initialized"));
/// ```
pub struct Error {
    kind: Box<ErrorKind>,
    _live: Live,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The kind, by value.
    pub fn into_kind(self) -> ErrorKind {
        *self.kind
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        let live = Live::new(&kind);
        Error {
            kind: Box::new(kind),
            _live: live,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `main` returning `Err` prints Debug: show the message a person can read.
        write!(f, "{} ({:?})", self.kind, self.kind)
    }
}

impl std::error::Error for Error {}

/// Counts live errors; the last one's message is kept for the abort report.
struct Live;

static LIVE_ERRORS: AtomicUsize = AtomicUsize::new(0);
static LAST_ERROR: Mutex<String> = Mutex::new(String::new());

impl Live {
    fn new(kind: &ErrorKind) -> Live {
        LIVE_ERRORS.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut last) = LAST_ERROR.lock() {
            *last = kind.to_string();
        }
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE_ERRORS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The message of the most recent error, if any rspar error is alive now.
pub(crate) fn live_error() -> Option<String> {
    if LIVE_ERRORS.load(Ordering::SeqCst) == 0 {
        return None;
    }
    LAST_ERROR.lock().ok().map(|s| s.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_errors_are_counted() {
        let err = Error::from(ErrorKind::Deadlock {
            reason: "test".into(),
        });
        assert!(live_error().is_some());
        drop(err);
    }

    #[test]
    fn debug_shows_message() {
        let err = Error::from(ErrorKind::InvalidRank { rank: 7, size: 4 });
        let text = format!("{err:?}");
        assert!(text.contains("invalid rank 7"), "{text}");
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn length_errors_say_what_happened_to_the_message() {
        let short = ErrorKind::ShortMessage {
            capacity: 10,
            got: 5,
        }
        .to_string();
        assert!(short.contains("of 5 elements is shorter than"), "{short}");
        assert!(short.contains("buffer of 10 elements"), "{short}");
        assert!(
            short.contains("stays queued for the next receive"),
            "{short}"
        );
        let known = ErrorKind::Overflow {
            capacity: 5,
            got: Some(10),
        }
        .to_string();
        assert!(known.contains("of 10 elements is longer than"), "{known}");
        assert!(known.contains("holds its first 5 elements"), "{known}");
        assert!(known.contains("the rest is lost"), "{known}");
        let unknown = ErrorKind::Overflow {
            capacity: 5,
            got: None,
        }
        .to_string();
        assert!(unknown.contains("of unknown length is longer"), "{unknown}");
        assert!(
            unknown.contains("first 5 elements if MPI wrote"),
            "{unknown}"
        );
    }
}
