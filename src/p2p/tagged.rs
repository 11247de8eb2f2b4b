//! [`Tagged`]: a communicator with a tag (and a timeout) for its point-to-point calls,
//! and the one checked preamble of every send ([`Tagged::dest`]).

use std::time::Duration;

use crate::comm::Communicator;
use crate::engine::{Engine, Peer};
use crate::envelope::{Source, Tag, DEFAULT_TAG};
use crate::error::Result;

/// A communicator with a tag chosen for its sends and receives; made by
/// [`Communicator::tag`]. It has every point-to-point method of the communicator.
///
/// A view borrows its communicator, so it cannot outlive it:
///
/// ```compile_fail,E0505
/// let world = rspar::init()?;
/// let urgent = world.tag(7);
/// drop(world); // the world is still borrowed by `urgent`
/// urgent.send(&1u8, 0)?;
/// # Ok::<(), rspar::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Tagged<'c> {
    comm: &'c Communicator,
    tag: Tag,
    timeout: Option<Duration>,
}

impl<'c> Tagged<'c> {
    pub(crate) fn new(comm: &'c Communicator, tag: Tag) -> Tagged<'c> {
        Tagged {
            comm,
            tag,
            timeout: None,
        }
    }

    /// The same view with another tag.
    pub fn tag(self, tag: impl Into<Tag>) -> Tagged<'c> {
        Tagged {
            tag: tag.into(),
            ..self
        }
    }

    /// The same view whose receives give up after `limit`: `receive`,
    /// `receive_buffer`, `receive_buffer_into`, `sendrecv`, `ReceiveRequest::wait` and
    /// the same calls through [`with_status`](Self::with_status) return `Err(`[`Timeout`](crate::ErrorKind::Timeout)`)` when no matching message has
    /// arrived by then. Nothing is received in that case, so the communicator stays
    /// usable and the message, if it comes later, is there for the next receive.
    /// (Sends are not bounded by it, but for the send of a [`sendrecv`](Self::sendrecv),
    /// which is handed to MPI's environment when unfinished at the limit.)
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let world = rspar::init()?;
    /// match world.timeout(Duration::from_secs(2)).receive::<String>(rspar::Any) {
    ///     Ok(text) => println!("got {text}"),
    ///     Err(err) => eprintln!("rank {}: {err}", world.rank()),
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn timeout(self, limit: Duration) -> Tagged<'c> {
        Tagged {
            timeout: Some(limit),
            ..self
        }
    }

    #[inline]
    pub(crate) fn timeout_value(&self) -> Option<Duration> {
        self.timeout
    }

    #[inline]
    pub(crate) fn comm(&self) -> &'c Communicator {
        self.comm
    }

    /// The (source, tag) filter of a receive, checked.
    #[inline]
    pub(crate) fn filter(&self, source: Source) -> Result<(Option<usize>, Option<i32>)> {
        self.comm.usable("receive")?;
        let source = match source {
            Source::Any => None,
            Source::Rank(rank) => Some(self.comm.check_rank(rank)? as usize),
        };
        Ok((source, self.tag.for_receive()?))
    }

    /// The message engine of the view's communicator.
    #[inline]
    pub(crate) fn engine(&self) -> &'c Engine {
        self.comm.engine()
    }

    /// The one checked preamble of every send: `dest` must be a rank of the communicator
    /// and the view's tag one a send may carry (in that order). A send to one's own rank
    /// is [`Dest::Myself`]: the caller holds it in the engine, so it never blocks.
    #[inline]
    pub(crate) fn dest(&self, dest: usize) -> Result<Dest> {
        self.comm.usable("send")?;
        let rank = self.comm.check_rank(dest)?;
        let tag = self.tag.for_send()?;
        Ok(if dest == self.comm.rank() {
            Dest::Myself(tag)
        } else {
            Dest::Peer(Peer { rank, tag })
        })
    }
}

/// Where a checked send goes ([`Tagged::dest`]).
pub(crate) enum Dest {
    /// This rank, with the tag: held, never sent through MPI.
    Myself(i32),
    /// Another rank: the engine sends.
    Peer(Peer),
}

/// Views of the communicator itself.
impl Communicator {
    /// A view of this communicator whose sends and receives use `tag` (a value in
    /// `0..=MAX_TAG`, or [`Any`](crate::Any) for receives). Calls on the communicator
    /// itself use [`DEFAULT_TAG`](crate::DEFAULT_TAG).
    ///
    /// `tag` may be any integer type, such as a rank; a value outside `0..=MAX_TAG` makes
    /// the view's sends and receives `Err(`[`InvalidTag`](crate::ErrorKind::InvalidTag)`)`,
    /// which names the value given (see [`Tag`]).
    ///
    /// ```no_run
    /// use rspar::Any;
    /// let world = rspar::init()?;
    /// if world.rank() == 0 {
    ///     world.tag(7).send(&"urgent", world.size() - 1)?;
    /// }
    /// if world.rank() == world.size() - 1 {
    ///     let text: String = world.tag(7).receive(Any)?;
    ///     assert_eq!(text, "urgent");
    /// }
    /// // Each rank tags its message with its rank, a usize: rank 0 gathers them in order.
    /// let rank: usize = world.rank();
    /// world.tag(rank).send(&format!("from {rank}"), 0)?;
    /// if rank == 0 {
    ///     for from in 0..world.size() {
    ///         let text: String = world.tag(from).receive(Any)?;
    ///         assert_eq!(text, format!("from {from}"));
    ///     }
    /// }
    /// // Out of range: an Err at the first send or receive, naming the value.
    /// let err = world.tag(u64::MAX).send(&1u8, 0).unwrap_err();
    /// assert!(matches!(err.kind(), rspar::ErrorKind::InvalidTag { tag, .. }
    ///     if *tag == u64::MAX as i128));
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn tag(&self, tag: impl Into<Tag>) -> Tagged<'_> {
        Tagged::new(self, tag.into())
    }

    /// The view with the default tag: the point-to-point calls on the communicator.
    #[inline]
    pub(crate) fn default_tag(&self) -> Tagged<'_> {
        self.tag(DEFAULT_TAG)
    }

    /// A view with the default tag whose receives give up after `limit` with
    /// `Err(Timeout)`; see [`Tagged::timeout`]. `world.tag(t).timeout(limit)` combines
    /// both.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let world = rspar::init()?;
    /// let late = world.timeout(Duration::from_millis(100)).receive::<u64>(rspar::Any);
    /// if let Err(err) = late {
    ///     assert!(matches!(err.kind(), rspar::ErrorKind::Timeout { .. }));
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn timeout(&self, limit: Duration) -> Tagged<'_> {
        self.default_tag().timeout(limit)
    }
}
