//! Addressing: who a message comes from, which tag it carries, and the [`Status`] a
//! receive reports.

use crate::error::{ErrorKind, Result};

/// The tag of messages sent and received without an explicit tag.
pub const DEFAULT_TAG: i32 = 0;

/// The largest tag a user may give. MPI guarantees at least this bound (`MPI_TAG_UB >=
/// 32767`) on every implementation, so programs that stay below it are portable.
pub const MAX_TAG: i32 = 32767;

/// The wildcard: receive from any source, or with any tag.
///
/// ```no_run
/// use rspar::Any;
/// let world = rspar::init()?;
/// let (text, status) = world.tag(Any).receive_with_status::<String>(Any)?;
/// println!("{text} came from rank {} with tag {}", status.source, status.tag);
/// # Ok::<(), rspar::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Any;

/// Where a receive takes its message from: a rank, or [`Any`] rank.
///
/// A plain `usize` converts into `Source::Rank`, so `world.receive(3)` and
/// `world.receive(Any)` both read naturally.
///
/// ```
/// use rspar::{Any, Source};
/// assert_eq!(Source::from(3), Source::Rank(3));
/// assert_eq!(Source::from(Any), Source::Any);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Any rank of the communicator.
    Any,
    /// This rank only.
    Rank(usize),
}

impl From<usize> for Source {
    fn from(rank: usize) -> Self {
        Source::Rank(rank)
    }
}

impl From<Any> for Source {
    fn from(_: Any) -> Self {
        Source::Any
    }
}

/// The tag of a message: a value in `0..=MAX_TAG`, or [`Any`] tag (receives only).
///
/// ```
/// use rspar::{Any, Tag};
/// assert_eq!(Tag::from(7), Tag::Value(7));
/// assert_eq!(Tag::from(Any), Tag::Any);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// Any tag (receives only).
    Any,
    /// This tag.
    Value(i32),
}

impl From<i32> for Tag {
    fn from(tag: i32) -> Self {
        Tag::Value(tag)
    }
}

impl From<Any> for Tag {
    fn from(_: Any) -> Self {
        Tag::Any
    }
}

impl Tag {
    /// The MPI tag to send with: a valid value, never the wildcard.
    #[inline]
    pub(crate) fn for_send(self) -> Result<i32> {
        match self {
            Tag::Value(tag) => check_tag(tag),
            Tag::Any => Err(ErrorKind::InvalidTag {
                tag: -1,
                reason: "a message must be sent with a concrete tag, not Any",
            }
            .into()),
        }
    }

    /// The MPI tag to match on a receive, `None` for the wildcard.
    #[inline]
    pub(crate) fn for_receive(self) -> Result<Option<i32>> {
        match self {
            Tag::Value(tag) => check_tag(tag).map(Some),
            Tag::Any => Ok(None),
        }
    }
}

#[inline]
fn check_tag(tag: i32) -> Result<i32> {
    if (0..=MAX_TAG).contains(&tag) {
        Ok(tag)
    } else {
        Err(invalid_tag(tag))
    }
}

#[cold]
fn invalid_tag(tag: i32) -> crate::Error {
    ErrorKind::InvalidTag {
        tag,
        reason: "tags must be in 0..=32767 (rspar::MAX_TAG)",
    }
    .into()
}

/// What a receive reports about the message it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The rank that sent the message.
    pub source: usize,
    /// The tag the message was sent with.
    pub tag: i32,
    /// The size of the message on the wire, in bytes (for the object path, header included).
    pub bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked() {
        assert_eq!(Tag::Value(0).for_send().unwrap(), 0);
        assert_eq!(Tag::Value(MAX_TAG).for_send().unwrap(), MAX_TAG);
        assert!(Tag::Value(-1).for_send().is_err());
        assert!(Tag::Value(MAX_TAG + 1).for_receive().is_err());
        assert!(Tag::Any.for_send().is_err());
        assert_eq!(Tag::Any.for_receive().unwrap(), None);
    }
}
