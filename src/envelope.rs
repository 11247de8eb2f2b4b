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
/// let (rank, size) = (world.rank(), world.size());
/// world.tag(rank).send(&format!("hello from {rank}"), (rank + 1) % size)?;
/// let (text, status) = world.tag(Any).with_status().receive::<String>(Any)?;
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
/// Every integer type converts, so the number at hand (a rank, an index) serves as a tag
/// as it is. A value outside `0..=MAX_TAG` converts too, and the first send or receive
/// with it is `Err(`[`InvalidTag`](crate::ErrorKind::InvalidTag)`)` naming the value
/// given.
///
/// ```
/// use rspar::{Any, Tag};
/// assert_eq!(Tag::from(7), Tag::Value(7));
/// assert_eq!(Tag::from(7usize), Tag::Value(7));
/// assert_eq!(Tag::from(7u8), Tag::Value(7));
/// assert_eq!(Tag::from(Any), Tag::Any);
/// // No i32: kept as given (not wrapped into some Value), for the error it makes.
/// assert!(!matches!(Tag::from(u64::MAX), Tag::Value(_) | Tag::Any));
/// ```
///
/// Match with a wildcard arm: values that are no `i32` have a variant of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tag {
    /// Any tag (receives only).
    Any,
    /// This tag.
    Value(i32),
    /// A value given that is no `i32`, kept for the error it makes.
    #[doc(hidden)]
    OutOfRange(i128),
}

impl From<i32> for Tag {
    fn from(tag: i32) -> Self {
        Tag::Value(tag)
    }
}

/// `From` every other integer type: `Tag::Value` when the value is an `i32` (valid or
/// not), else `Tag::OutOfRange`, so each value has one representation.
macro_rules! tag_from {
    ($($int:ty),*) => {$(
        impl From<$int> for Tag {
            fn from(tag: $int) -> Self {
                // Every integer type but u128/i128 is lossless in i128.
                let wide = tag as i128;
                i32::try_from(wide).map_or(Tag::OutOfRange(wide), Tag::Value)
            }
        }
    )*};
}

tag_from!(u8, u16, u32, u64, usize, i8, i16, i64, isize);

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
            Tag::OutOfRange(tag) => Err(invalid_tag(tag)),
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
            Tag::OutOfRange(tag) => Err(invalid_tag(tag)),
            Tag::Any => Ok(None),
        }
    }
}

#[inline]
fn check_tag(tag: i32) -> Result<i32> {
    if (0..=MAX_TAG).contains(&tag) {
        Ok(tag)
    } else {
        Err(invalid_tag(tag.into()))
    }
}

#[cold]
fn invalid_tag(tag: i128) -> crate::Error {
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

    /// The tag an `Err(InvalidTag)` names.
    fn named(err: crate::Error) -> i128 {
        match err.kind() {
            ErrorKind::InvalidTag { tag, .. } => *tag,
            other => panic!("expected InvalidTag, got {other:?}"),
        }
    }

    #[test]
    fn every_integer_type_converts() {
        assert_eq!(Tag::from(5u8), Tag::Value(5));
        assert_eq!(Tag::from(5u16), Tag::Value(5));
        assert_eq!(Tag::from(5u32), Tag::Value(5));
        assert_eq!(Tag::from(5u64), Tag::Value(5));
        assert_eq!(Tag::from(5usize), Tag::Value(5));
        assert_eq!(Tag::from(5i8), Tag::Value(5));
        assert_eq!(Tag::from(5i16), Tag::Value(5));
        assert_eq!(Tag::from(5i32), Tag::Value(5));
        assert_eq!(Tag::from(5i64), Tag::Value(5));
        assert_eq!(Tag::from(5isize), Tag::Value(5));
        // An i32 that is no valid tag is still a Value; beyond i32, OutOfRange.
        assert_eq!(Tag::from(-1i8), Tag::Value(-1));
        assert_eq!(Tag::from(u32::MAX), Tag::OutOfRange(u32::MAX.into()));
        assert_eq!(Tag::from(i64::MIN), Tag::OutOfRange(i64::MIN.into()));
    }

    #[test]
    fn valid_tags_from_any_type_pass() {
        let max = MAX_TAG as usize;
        assert_eq!(Tag::from(max).for_send().unwrap(), MAX_TAG);
        assert_eq!(Tag::from(max as u64).for_receive().unwrap(), Some(MAX_TAG));
        assert_eq!(Tag::from(MAX_TAG as u16).for_send().unwrap(), MAX_TAG);
        assert_eq!(Tag::from(0u8).for_send().unwrap(), 0);
        assert_eq!(Tag::from(0isize).for_receive().unwrap(), Some(0));
    }

    #[test]
    fn invalid_tags_name_the_value_given() {
        let max = i128::from(MAX_TAG);
        let send = |tag: Tag| named(tag.for_send().unwrap_err());
        let receive = |tag: Tag| named(tag.for_receive().unwrap_err());
        assert_eq!(send(Tag::from(u64::MAX)), i128::from(u64::MAX));
        assert_eq!(receive(Tag::from(u64::MAX)), i128::from(u64::MAX));
        assert_eq!(send(Tag::from(usize::MAX)), usize::MAX as i128);
        assert_eq!(send(Tag::from(-1i64)), -1);
        assert_eq!(receive(Tag::from(-1isize)), -1);
        assert_eq!(send(Tag::from(-1i8)), -1);
        assert_eq!(send(Tag::from(MAX_TAG as u16 + 1)), max + 1);
        assert_eq!(receive(Tag::from(MAX_TAG as usize + 1)), max + 1);
        assert_eq!(send(Tag::from(i64::MIN)), i128::from(i64::MIN));
        assert_eq!(send(Tag::from(u32::MAX)), i128::from(u32::MAX));
        let err = Tag::from(u64::MAX).for_send().unwrap_err();
        assert!(err.to_string().contains("18446744073709551615"), "{err}");
    }

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
