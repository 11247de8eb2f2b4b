//! The opt-in watchdog: with `RSPAR_TIMEOUT=<seconds>`, a blocking rspar call that waits
//! longer than that aborts the whole job, after printing which rank waited, in which
//! call, and for which peer and tag.
//!
//! Blocking calls hold a [`Guard`] from [`waiting`] while they wait (the outermost call of
//! a thread wins: a collective built from receives reports the collective). With the
//! watchdog off, a guard costs one relaxed atomic load. With it on, a thread started at
//! `init` looks at the open waits a few times per limit and calls `MPI_Abort` for one
//! that has lasted too long. The calls' debug events, which come with their guards, are
//! in `trace`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crate::error::{ErrorKind, Result};

/// The environment variable that turns the watchdog on.
pub(crate) const VARIABLE: &str = "RSPAR_TIMEOUT";

/// Exit code of a job the watchdog aborted.
pub const TIMEOUT_EXIT_CODE: i32 = 3;

/// The limit in milliseconds; 0 = off.
static LIMIT_MS: AtomicU64 = AtomicU64::new(0);

struct Wait {
    thread: ThreadId,
    call: &'static str,
    detail: String,
    since: Instant,
}

static WAITS: Mutex<Vec<Wait>> = Mutex::new(Vec::new());

/// Marks a blocking call as waiting until dropped.
pub(crate) struct Guard {
    active: bool,
}

impl Guard {
    /// A guard that watches nothing (the watchdog is off, or nothing is traced).
    #[inline(always)]
    pub(crate) fn idle() -> Guard {
        Guard { active: false }
    }
}

/// A blocking call `call` starts waiting; `detail` (e.g. "from rank 1 with tag 0") is
/// only made when the watchdog is on.
#[inline]
pub(crate) fn waiting(call: &'static str, detail: impl FnOnce() -> String) -> Guard {
    if LIMIT_MS.load(Ordering::Relaxed) == 0 {
        return Guard { active: false };
    }
    watch(call, detail())
}

#[inline(never)]
fn watch(call: &'static str, detail: String) -> Guard {
    let thread = std::thread::current().id();
    let mut waits = WAITS.lock().unwrap_or_else(|p| p.into_inner());
    if waits.iter().any(|w| w.thread == thread) {
        return Guard { active: false };
    }
    waits.push(Wait {
        thread,
        call,
        detail,
        since: Instant::now(),
    });
    Guard { active: true }
}

impl Drop for Guard {
    #[inline(always)]
    fn drop(&mut self) {
        if self.active {
            unwatch();
        }
    }
}

/// This thread's wait is over.
#[inline(never)]
fn unwatch() {
    let thread = std::thread::current().id();
    let mut waits = WAITS.lock().unwrap_or_else(|p| p.into_inner());
    waits.retain(|w| w.thread != thread);
}

/// True while the watchdog runs (`RSPAR_TIMEOUT` set): one relaxed atomic load.
#[inline(always)]
pub(crate) fn is_on() -> bool {
    LIMIT_MS.load(Ordering::Relaxed) != 0
}

/// Start the watchdog if `RSPAR_TIMEOUT` is set (seconds, > 0; fractions allowed).
pub(crate) fn start(rank: usize, size: usize) -> Result<()> {
    let Ok(text) = std::env::var(VARIABLE) else {
        return Ok(());
    };
    let limit = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| ErrorKind::Config {
            variable: VARIABLE,
            value: text.clone(),
            reason: "expected a number of seconds greater than 0, such as 30 or 0.5",
        })?;
    let shown = text.clone();
    let millis = (limit.as_millis() as u64).max(1);
    if LIMIT_MS.swap(millis, Ordering::SeqCst) != 0 {
        return Ok(()); // already running
    }
    let every = (limit / 10).clamp(Duration::from_millis(5), Duration::from_secs(1));
    std::thread::Builder::new()
        .name("rspar-watchdog".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let overdue = {
                let waits = WAITS.lock().unwrap_or_else(|p| p.into_inner());
                waits
                    .iter()
                    .find(|w| w.since.elapsed() > limit)
                    .map(|w| (w.call, w.detail.clone(), w.since.elapsed()))
            };
            if let Some((call, detail, waited)) = overdue {
                crate::stderr::say(&format!(
                    "rspar: watchdog: rank {rank} of {size} has waited {:.1} s in {call}{}{detail} \
                     ({VARIABLE}={shown})\n\
                     rspar: aborting the MPI job (exit code {TIMEOUT_EXIT_CODE})",
                    waited.as_secs_f64(),
                    if detail.is_empty() { "" } else { " " },
                ));
                crate::env::abort_job(TIMEOUT_EXIT_CODE);
            }
        })
        .map_err(|err| ErrorKind::Config {
            variable: VARIABLE,
            value: format!("{text} (cannot start the watchdog thread: {err})"),
            reason: "the watchdog needs a thread",
        })?;
    Ok(())
}
