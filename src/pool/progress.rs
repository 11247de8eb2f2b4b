//! The pool's progress report on the root: an indicatif bar on a terminal, plain lines
//! when asked for without one, nothing otherwise (CI logs stay clean).
//!
//! Tasks may be slow (seconds each), so the report does not wait for them: the plain
//! lines come from a thread of their own, one a second (it prints only; MPI stays on the
//! root's main thread), and the bar redraws itself each second. The rate reads well at
//! any speed (`1234 tasks/s`, `2.5 tasks/s`, `3.2 s per task`). At the end the bar gives
//! way to one plain line that ends with a newline, so what the program prints next starts
//! a line of its own.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// When the pool's root reports progress (in `map`, `imap` and `imap_unordered`).
///
/// `Auto` (the default) shows a bar when stderr is a terminal; the environment variable
/// `RSPAR_PROGRESS=always` or `never` overrides it. `Always` without a terminal prints a
/// plain line to stderr once a second, whether or not a task finished, and one at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Progress {
    /// A bar when stderr is a terminal (or as `RSPAR_PROGRESS` says).
    #[default]
    Auto,
    /// Always report.
    Always,
    /// Never report.
    Never,
}

/// How often the report is renewed while tasks run.
const EVERY: Duration = Duration::from_secs(1);

/// A running report.
pub(crate) struct Bar {
    /// What is counted: shared with the line thread.
    count: Arc<Count>,
    shown: Shown,
}

enum Shown {
    Hidden,
    Terminal(ProgressBar),
    /// The thread that prints a line a second, until `finish`.
    Lines(Option<JoinHandle<()>>),
    /// Finished: the last line is out.
    Done,
}

/// The stream's counts, and the line thread's stop signal.
struct Count {
    total: usize,
    done: AtomicUsize,
    start: Instant,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Bar {
    pub(crate) fn new(mode: Progress, total: usize) -> Bar {
        let mode = match (mode, std::env::var("RSPAR_PROGRESS").as_deref()) {
            (Progress::Auto, Ok("always")) => Progress::Always,
            (Progress::Auto, Ok("never")) => Progress::Never,
            (mode, _) => mode,
        };
        let count = Arc::new(Count {
            total,
            done: AtomicUsize::new(0),
            start: Instant::now(),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let terminal = std::io::stderr().is_terminal();
        let shown = match mode {
            Progress::Never => Shown::Hidden,
            Progress::Auto if !terminal => Shown::Hidden,
            _ if terminal => {
                let bar = ProgressBar::new(total as u64);
                if let Ok(style) = ProgressStyle::with_template(
                    "pool {bar:40} {pos}/{len} tasks  {per_sec}  eta {eta}",
                ) {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(EVERY);
                Shown::Terminal(bar)
            }
            _ => {
                let shared = Arc::clone(&count);
                let thread = std::thread::Builder::new()
                    .name("rspar-progress".into())
                    .spawn(move || shared.print_every_second());
                // No thread (none could start): the last line still comes at the end.
                Shown::Lines(thread.ok())
            }
        };
        Bar { count, shown }
    }

    pub(crate) fn advance(&mut self, tasks: usize) {
        self.count.done.fetch_add(tasks, Ordering::Relaxed);
        if let Shown::Terminal(bar) = &self.shown {
            bar.inc(tasks as u64);
        }
    }

    /// The stream is over: the last line (the bar makes way for it). Once; later calls
    /// do nothing.
    pub(crate) fn finish(&mut self) {
        match std::mem::replace(&mut self.shown, Shown::Done) {
            Shown::Hidden => self.shown = Shown::Hidden,
            Shown::Done => {}
            Shown::Terminal(bar) => {
                // indicatif leaves its line open (it pads it to the width it believes
                // the terminal has): clear it, and end with a whole line instead.
                bar.finish_and_clear();
                self.count.print_line();
            }
            Shown::Lines(thread) => {
                self.count.stop_thread(thread);
                self.count.print_line();
            }
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.shown, Shown::Done) {
            Shown::Lines(thread) => self.count.stop_thread(thread),
            Shown::Terminal(bar) => bar.finish_and_clear(),
            Shown::Hidden | Shown::Done => {}
        }
    }
}

impl Count {
    /// The line thread: a line each second until told to stop.
    fn print_every_second(&self) {
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let (guard, _) = self
                .wake
                .wait_timeout_while(stop, EVERY, |stop| !*stop)
                .unwrap_or_else(|p| p.into_inner());
            stop = guard;
            if *stop {
                return;
            }
            self.print_line();
        }
    }

    fn stop_thread(&self, thread: Option<JoinHandle<()>>) {
        *self.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    fn print_line(&self) {
        let secs = self.start.elapsed().as_secs_f64();
        let done = self.done.load(Ordering::Relaxed);
        crate::stderr::say(&line(done, self.total, secs));
    }
}

/// One report line: `pool: 3/10 tasks, 2.5 tasks/s, 1.2 s`.
fn line(done: usize, total: usize, secs: f64) -> String {
    let tasks = if total >= done && total > 0 {
        format!("{done}/{total} tasks")
    } else {
        format!("{done} tasks")
    };
    match rate(done, secs) {
        Some(rate) => format!("pool: {tasks}, {rate}, {secs:.1} s"),
        None => format!("pool: {tasks}, {secs:.1} s"),
    }
}

/// The rate in the unit that reads well: whole tasks a second when fast, one decimal
/// between 1 and 10 a second, seconds per task when slower; `None` before the first.
fn rate(done: usize, secs: f64) -> Option<String> {
    if done == 0 || secs <= 0.0 {
        return None;
    }
    let per_second = done as f64 / secs;
    Some(if per_second >= 10.0 {
        format!("{per_second:.0} tasks/s")
    } else if per_second >= 1.0 {
        format!("{per_second:.1} tasks/s")
    } else {
        format!("{:.1} s per task", secs / done as f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_means_something_at_any_speed() {
        assert_eq!(rate(0, 5.5), None);
        assert_eq!(rate(2, 5.5).as_deref(), Some("2.8 s per task"));
        assert_eq!(rate(1, 0.4).as_deref(), Some("2.5 tasks/s"));
        assert_eq!(rate(5000, 2.0).as_deref(), Some("2500 tasks/s"));
        assert_eq!(line(0, 2, 1.04), "pool: 0/2 tasks, 1.0 s");
        assert_eq!(line(2, 2, 5.5), "pool: 2/2 tasks, 2.8 s per task, 5.5 s");
        // An input of unknown length (no size hint): the count alone.
        assert_eq!(line(7, 0, 1.0), "pool: 7 tasks, 7.0 tasks/s, 1.0 s");
    }
}
