//! The streams: [`Imap`] (results in input order) and [`ImapUnordered`] (in finishing
//! order, with the input's index). Both pull their inputs lazily, keeping at most the
//! pool's `in_flight` tasks between the input and the caller, so an endless input runs
//! in bounded memory. After the first failure (or time-out) a stream yields that `Err`
//! and ends: its queued tasks are cancelled, its running ones' results dropped.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::core::Core;
use super::progress::Bar;
use super::Pool;
use crate::error::{ErrorKind, Result};

/// What both streams share: the input, the bound, the deadline, the progress bar.
struct Feed<'p, 'f, I, O, It> {
    pool: &'p Pool<'f, I, O>,
    inputs: It,
    pulled: usize,
    exhausted: bool,
    ended: bool,
    deadline: Option<(Instant, Duration)>,
    yielded: usize,
    bar: Bar,
}

impl<'p, 'f, I, O, It> Feed<'p, 'f, I, O, It>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
    It: Iterator<Item = I>,
{
    fn new(pool: &'p Pool<'f, I, O>, inputs: It, limit: Option<Duration>) -> Self {
        let total = inputs.size_hint().0;
        Feed {
            pool,
            inputs,
            pulled: 0,
            exhausted: false,
            ended: false,
            deadline: limit.map(|l| (Instant::now() + l, l)),
            yielded: 0,
            bar: Bar::new(pool.progress, total),
        }
    }

    /// Pull inputs while fewer than `in_flight` tasks are out; each new task's id and
    /// index go to `out`.
    fn top_up(
        &mut self,
        out: &mut VecDeque<(usize, u64)>,
        outstanding: usize,
        notify: Option<u32>,
    ) {
        let mut outstanding = outstanding;
        while !self.exhausted && outstanding < self.pool.in_flight {
            // Outside the pool's borrow: the iterator may use the pool itself.
            let Some(input) = self.inputs.next() else {
                self.exhausted = true;
                break;
            };
            let index = self.pulled;
            self.pulled += 1;
            let id = self
                .pool
                .core
                .borrow_mut()
                .submit(input, Some(index), notify);
            out.push_back((index, id));
            outstanding += 1;
        }
    }

    /// Make progress until `done` holds (when it holds already, one round of hand-outs):
    /// `Err(PoolTimeout)` when the stream's deadline passes first, or the pool's error.
    fn drive(&self, done: impl FnMut(&Core<'f, I, O>) -> bool) -> Result<()> {
        let mut done = done;
        let mut core = self.pool.core.borrow_mut();
        if done(&core) {
            return core.dispatch();
        }
        let deadline = self.deadline.map(|(d, _)| d);
        if core.progress(deadline, done)? {
            Ok(())
        } else {
            drop(core);
            Err(self.timed_out())
        }
    }

    fn timed_out(&self) -> crate::Error {
        let waited = self.deadline.map(|(_, l)| l).unwrap_or_default();
        ErrorKind::PoolTimeout {
            waited,
            done: self.yielded,
        }
        .into()
    }

    fn end(&mut self, ids: impl Iterator<Item = u64>) {
        self.ended = true;
        let mut core = self.pool.core.borrow_mut();
        for id in ids {
            core.detach(id);
        }
    }
}

/// The results of [`Pool::imap`] in input order, each as soon as it and all before it
/// are done.
pub struct Imap<'p, 'f, I, O, It> {
    feed: Feed<'p, 'f, I, O, It>,
    window: VecDeque<(usize, u64)>,
}

impl<I, O, It> std::fmt::Debug for Imap<'_, '_, I, O, It> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap")
            .field("pulled", &self.feed.pulled)
            .field("in_flight", &self.window.len())
            .finish()
    }
}

impl<'p, 'f, I, O, It> Imap<'p, 'f, I, O, It>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
    It: Iterator<Item = I>,
{
    pub(crate) fn new(pool: &'p Pool<'f, I, O>, inputs: It, limit: Option<Duration>) -> Self {
        Imap {
            feed: Feed::new(pool, inputs, limit),
            window: VecDeque::new(),
        }
    }

    fn fail(&mut self, err: crate::Error) -> Option<Result<O>> {
        let ids: Vec<u64> = self.window.drain(..).map(|(_, id)| id).collect();
        self.feed.end(ids.into_iter());
        self.feed.bar.finish();
        Some(Err(err))
    }
}

impl<I, O, It> Iterator for Imap<'_, '_, I, O, It>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
    It: Iterator<Item = I>,
{
    type Item = Result<O>;

    fn next(&mut self) -> Option<Result<O>> {
        if self.feed.ended {
            return None;
        }
        let outstanding = self.window.len();
        self.feed.top_up(&mut self.window, outstanding, None);
        let Some(&(_, id)) = self.window.front() else {
            self.feed.ended = true;
            self.feed.bar.finish();
            return None;
        };
        if let Err(err) = self.feed.drive(|c| c.ready(id)) {
            return self.fail(err);
        }
        let outcome = self.feed.pool.core.borrow_mut().take(id).map(|(_, o)| o);
        let (index, _) = self.window.pop_front().expect("the task waited for");
        match outcome {
            Some(Ok(value)) => {
                self.feed.yielded += 1;
                self.feed.bar.advance(1);
                Some(Ok(value))
            }
            Some(Err(err)) => self.fail(err),
            // The pool stopped with the task neither done nor gone: nothing can finish it.
            None => self.fail(stalled(index)),
        }
    }
}

impl<I, O, It> Drop for Imap<'_, '_, I, O, It> {
    fn drop(&mut self) {
        if let Ok(mut core) = self.feed.pool.core.try_borrow_mut() {
            for (_, id) in self.window.drain(..) {
                core.detach(id);
            }
        }
    }
}

/// The results of [`Pool::imap_unordered`] in finishing order, each with its input's
/// index.
pub struct ImapUnordered<'p, 'f, I, O, It> {
    feed: Feed<'p, 'f, I, O, It>,
    stream: u32,
    outstanding: usize,
    /// Ids pulled but not yet yielded, for cancelling on drop.
    ids: std::collections::HashSet<u64>,
}

impl<I, O, It> std::fmt::Debug for ImapUnordered<'_, '_, I, O, It> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapUnordered")
            .field("pulled", &self.feed.pulled)
            .field("in_flight", &self.outstanding)
            .finish()
    }
}

impl<'p, 'f, I, O, It> ImapUnordered<'p, 'f, I, O, It>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
    It: Iterator<Item = I>,
{
    pub(crate) fn new(pool: &'p Pool<'f, I, O>, inputs: It, limit: Option<Duration>) -> Self {
        let stream = pool.next_stream.get();
        pool.next_stream.set(stream.wrapping_add(1));
        ImapUnordered {
            feed: Feed::new(pool, inputs, limit),
            stream,
            outstanding: 0,
            ids: Default::default(),
        }
    }

    fn fail(&mut self, err: crate::Error) -> Option<Result<(usize, O)>> {
        let ids: Vec<u64> = self.ids.drain().collect();
        self.feed.end(ids.into_iter());
        self.feed.pool.core.borrow_mut().forget_stream(self.stream);
        self.feed.bar.finish();
        Some(Err(err))
    }
}

impl<I, O, It> Iterator for ImapUnordered<'_, '_, I, O, It>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
    It: Iterator<Item = I>,
{
    type Item = Result<(usize, O)>;

    fn next(&mut self) -> Option<Result<(usize, O)>> {
        if self.feed.ended {
            return None;
        }
        let mut fresh = VecDeque::new();
        self.feed
            .top_up(&mut fresh, self.outstanding, Some(self.stream));
        self.outstanding += fresh.len();
        self.ids.extend(fresh.into_iter().map(|(_, id)| id));
        if self.outstanding == 0 {
            self.feed.ended = true;
            self.feed.bar.finish();
            self.feed.pool.core.borrow_mut().forget_stream(self.stream);
            return None;
        }
        let stream = self.stream;
        if let Err(err) = self.feed.drive(|c| c.has_finished(stream)) {
            return self.fail(err);
        }
        let mut core = self.feed.pool.core.borrow_mut();
        let Some(id) = core.next_finished(stream) else {
            // The pool stopped with none of the stream's tasks finished: nothing can
            // finish them.
            drop(core);
            return self.fail(stalled(self.feed.yielded));
        };
        let outcome = core.take(id);
        drop(core);
        self.ids.remove(&id);
        self.outstanding -= 1;
        match outcome {
            Some((index, Ok(value))) => {
                self.feed.yielded += 1;
                self.feed.bar.advance(1);
                Some(Ok((index, value)))
            }
            Some((_, Err(err))) => self.fail(err),
            None => self.fail(stalled(self.feed.yielded)),
        }
    }
}

impl<I, O, It> Drop for ImapUnordered<'_, '_, I, O, It> {
    fn drop(&mut self) {
        if let Ok(mut core) = self.feed.pool.core.try_borrow_mut() {
            for id in self.ids.drain() {
                core.detach(id);
            }
            core.forget_stream(self.stream);
        }
    }
}

/// The error of a stream whose pool stopped making progress with the task at `index`
/// (or its next one) unfinished: no task runs or is queued that could finish it.
fn stalled(index: usize) -> crate::Error {
    ErrorKind::Deadlock {
        reason: format!(
            "the pool has nothing queued or running, but the stream's task {index} is unfinished"
        ),
    }
    .into()
}
