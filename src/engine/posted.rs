//! Nonblocking receives match in the order they were posted, as `MPI_Irecv`s do.
//!
//! A `ReceiveRequest` holds no MPI resource: it is *posted* here (its source and tag, in
//! posting order) and matches when it is tested or waited. Whichever receive finds a
//! message (a request being tested, waited, or a blocking receive made while requests
//! are pending), the message belongs to the oldest pending request that matches it, as
//! in MPI; when that is another request, the message is held for it (in its place among
//! the held messages, `held`, where only that request takes it) and the search goes on. A blocking receive counts as posted after
//! every pending request. With no request pending (the common case) none of this runs:
//! one flag is read.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::held::{Entry, Held, Origin};
use super::Engine;
use crate::error::{ErrorKind, Result};
use crate::wire;

/// A pending request's filter, by its id (ids grow in posting order).
struct Pending {
    id: u64,
    source: Option<usize>,
    tag: Option<i32>,
}

impl Pending {
    fn matches(&self, entry: &Entry) -> bool {
        self.source.is_none_or(|s| s == entry.status.source)
            && self.tag.is_none_or(|t| t == entry.status.tag)
    }
}

/// The pending requests of one engine, in posting order.
#[derive(Default)]
pub(super) struct Posted {
    next: u64,
    pending: VecDeque<Pending>,
}

impl Engine {
    /// Post a request receiving from `source` with `tag` (`None` = any); its id.
    pub(crate) fn post(&self, source: Option<usize>, tag: Option<i32>) -> u64 {
        let mut posted = self.posted.borrow_mut();
        posted.next += 1;
        let id = posted.next;
        posted.pending.push_back(Pending { id, source, tag });
        self.any_posted.set(true);
        id
    }

    /// The request `id` is done or dropped: it matches nothing more, and a message held
    /// for it and not taken is anyone's again, in its place.
    pub(crate) fn unpost(&self, id: u64) {
        let mut posted = self.posted.borrow_mut();
        posted.pending.retain(|p| p.id != id);
        self.any_posted.set(!posted.pending.is_empty());
        self.held.borrow_mut().release(id);
    }

    /// True when a request is pending (the blocking receives' one test).
    #[inline]
    pub(crate) fn any_posted(&self) -> bool {
        self.any_posted.get()
    }

    /// Give `found` to the oldest pending request posted before `upto` (any pending
    /// request for `None`: a blocking receive) that matches it and has no message yet
    /// (MPI matched that one already); `Some(found)` back when none does, so the caller
    /// has it.
    ///
    /// A message kept for a request is whole: a matched first part of a split message
    /// is joined with its rest now, so the rest cannot be taken for a message of its own.
    fn route(&self, found: (Entry, Origin), upto: Option<u64>) -> Result<Option<(Entry, Origin)>> {
        let owner = {
            let posted = self.posted.borrow();
            let held = self.held.borrow();
            posted
                .pending
                .iter()
                .take_while(|p| upto.is_none_or(|upto| p.id < upto))
                .filter(|p| !held.owns(p.id))
                .find(|p| p.matches(&found.0))
                .map(|p| p.id)
        };
        let Some(id) = owner else {
            return Ok(Some(found));
        };
        let (mut entry, origin) = found;
        if matches!(entry.held, Held::Matched(_)) && entry.status.bytes <= wire::SPLIT_ABOVE {
            let held = std::mem::replace(&mut entry.held, Held::Object(Vec::new()));
            let bytes = self.join(held)?;
            entry.status.bytes = bytes.len();
            entry.held = Held::Object(bytes);
        }
        self.held.borrow_mut().keep_for(id, entry, origin);
        Ok(None)
    }

    /// The message held for request `id`, if any.
    fn take_assigned(&self, id: u64) -> Option<(Entry, Origin)> {
        self.held.borrow_mut().take_owned(id)
    }

    /// The message of request `id` (or of a blocking receive, `None`) from `source` with
    /// `tag`, in posting order: blocks until there is one, or, with a `timeout`, until it
    /// has passed (`Err(Timeout)`).
    pub(crate) fn next_posted(
        &self,
        id: Option<u64>,
        source: Option<usize>,
        tag: Option<i32>,
        timeout: Option<Duration>,
    ) -> Result<(Entry, Origin)> {
        if let Some(found) = id.and_then(|id| self.take_assigned(id)) {
            return Ok(found);
        }
        let start = Instant::now();
        loop {
            let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
            let found = self
                .next_one(source, tag, left)
                .map_err(|err| match err.kind() {
                    ErrorKind::Timeout { .. } => ErrorKind::Timeout {
                        waited: start.elapsed(),
                        from: source,
                        tag,
                    }
                    .into(),
                    _ => err,
                })?;
            if let Some(found) = self.route(found, id)? {
                return Ok(found);
            }
        }
    }

    /// Like [`next_posted`](Self::next_posted), without blocking: `None` when no message
    /// for it is there yet, or when the one found belongs to an earlier request.
    pub(crate) fn poll_posted(
        &self,
        id: Option<u64>,
        source: Option<usize>,
        tag: Option<i32>,
    ) -> Result<Option<(Entry, Origin)>> {
        if let Some(found) = id.and_then(|id| self.take_assigned(id)) {
            return Ok(Some(found));
        }
        // One message at most: when it belongs to an earlier request, that request has
        // completed first, and this one is not done yet (so `wait_any`, testing in turn,
        // returns the earlier one, and a request dropped unwaited never hands back a
        // message older than one this request took).
        match self.poll_one(source, tag)? {
            Some(found) => self.route(found, id),
            None => Ok(None),
        }
    }
}
