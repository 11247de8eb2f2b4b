//! The debug events of rspar's calls (`RSPAR_LOG=debug`, or any `tracing` subscriber at
//! debug level), each with the watchdog's guard for its wait (`watch`). The names say
//! what the guard marks: `sending`, `receiving`, `in_collective` return a guard that
//! lasts the wait; `received` is an event alone.
//!
//! With neither the watchdog nor a debug subscriber on (the common case), each costs a
//! relaxed atomic load and tracing's level check, inline.

use crate::error::{rank_text, tag_text};
use crate::watch::{self, Guard};

/// A collective starts: trace it and watch it while the guard lives.
#[inline(always)]
pub(crate) fn in_collective(call: &'static str, root: Option<usize>) -> Guard {
    if quiet() {
        return Guard::idle();
    }
    collective_loud(call, root)
}

#[inline(never)]
fn collective_loud(call: &'static str, root: Option<usize>) -> Guard {
    tracing::debug!(target: "rspar", root, "{call}");
    watch::waiting(call, || {
        root.map(|r| format!("with root {r}")).unwrap_or_default()
    })
}

/// True when neither the watchdog nor a tracing subscriber at debug level listens: the
/// common case, checked inline before anything is logged or watched.
#[inline(always)]
fn quiet() -> bool {
    !watch::is_on() && !tracing::level_enabled!(tracing::Level::DEBUG)
}

/// A receive (`call`) from `source` with `tag` (`None` = any) starts waiting: log it and
/// watch it.
#[inline(always)]
pub(crate) fn receiving(call: &'static str, source: Option<usize>, tag: Option<i32>) -> Guard {
    if quiet() {
        return Guard::idle();
    }
    receive_loud(call, source, tag)
}

#[inline(never)]
fn receive_loud(call: &'static str, source: Option<usize>, tag: Option<i32>) -> Guard {
    tracing::debug!(
        target: "rspar",
        source = %any_or(source),
        tag = %any_or(tag),
        "{call}: waiting"
    );
    watch::waiting(call, || {
        format!(
            "for a message from {} with {}",
            rank_text(&source),
            tag_text(&tag)
        )
    })
}

fn any_or<N: std::fmt::Display>(value: Option<N>) -> String {
    value.map_or_else(|| "any".into(), |v| v.to_string())
}

/// A blocking send (`call`) to `dest` with `tag` of `bytes` bytes: trace it and watch it while the guard lives.
#[inline(always)]
pub(crate) fn sending(call: &'static str, dest: usize, tag: i32, bytes: usize) -> Guard {
    if quiet() {
        return Guard::idle();
    }
    send_loud(call, dest, tag, bytes)
}

#[inline(never)]
fn send_loud(call: &'static str, dest: usize, tag: i32, bytes: usize) -> Guard {
    tracing::debug!(target: "rspar", dest, tag, bytes, "{call}");
    watch::waiting(call, || {
        format!("to rank {dest} with tag {tag} ({bytes} bytes)")
    })
}

/// A message has been received.
#[inline(always)]
pub(crate) fn received(call: &'static str, status: &crate::Status) {
    if !tracing::level_enabled!(tracing::Level::DEBUG) {
        return;
    }
    received_loud(call, status);
}

#[inline(never)]
fn received_loud(call: &'static str, status: &crate::Status) {
    tracing::debug!(
        target: "rspar",
        source = status.source,
        tag = status.tag,
        bytes = status.bytes,
        "{call}: received"
    );
}
