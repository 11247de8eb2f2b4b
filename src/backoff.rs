//! The sleeping back-off every waiting loop shares: receives with a timeout, the pool's
//! workers and its root. No MPI here: `attempt` is whatever the caller polls.

use std::time::{Duration, Instant};

use crate::error::Result;

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
