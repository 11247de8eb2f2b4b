//! Panics: the hook that turns a panic on any rank into the end of the job (installed by
//! `init` unless `Init::abort_on_panic(false)`), and the capture of a pool task's panic
//! as that task's failure.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

use super::abort::{abort_job, world_place, PANIC_EXIT_CODE};
use super::initialized;
use crate::stderr::say;

static HOOK_INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// True while this thread runs a farm task: a panic there is the task's failure.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// The message and place of the last task panic on this thread.
    static TASK_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Run a farm task, turning a panic into its message (with the place it happened); the
/// panic hook neither prints nor aborts for it.
pub(crate) fn catch_task_panic<R>(task: impl FnOnce() -> R) -> std::result::Result<R, String> {
    IN_TASK.with(|t| t.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
    IN_TASK.with(|t| t.set(false));
    outcome.map_err(|payload| {
        TASK_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| payload_text(payload.as_ref()))
    })
}

pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

pub(crate) fn install_panic_hook() {
    if HOOK_INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = payload_text(info.payload());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if IN_TASK.with(|t| t.get()) {
            TASK_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{place}")));
            return;
        }
        previous(info);
        if initialized() {
            let (rank, size) = world_place();
            say(&format!(
                "rspar: rank {rank} of {size} panicked{place}: {message}\n\
                 rspar: aborting the MPI job (exit code {PANIC_EXIT_CODE})"
            ));
            abort_job(PANIC_EXIT_CODE);
        }
    }));
}
