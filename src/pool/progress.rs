//! The pool's progress report on the root: an indicatif bar on a terminal, plain lines
//! when asked for without one, nothing otherwise (CI logs stay clean).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// When the pool's root reports progress (in `map`, `imap` and `imap_unordered`).
///
/// `Auto` (the default) shows a bar when stderr is a terminal; the environment variable
/// `RSPAR_PROGRESS=always` or `never` overrides it. `Always` without a terminal prints a
/// plain line to stderr about once a second and at the end.
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

/// A running report.
pub(crate) enum Bar {
    Hidden,
    Terminal(ProgressBar),
    Lines {
        total: usize,
        done: usize,
        start: Instant,
        last: Instant,
    },
}

impl Bar {
    pub(crate) fn new(mode: Progress, total: usize) -> Bar {
        let mode = match (mode, std::env::var("RSPAR_PROGRESS").as_deref()) {
            (Progress::Auto, Ok("always")) => Progress::Always,
            (Progress::Auto, Ok("never")) => Progress::Never,
            (mode, _) => mode,
        };
        let terminal = std::io::stderr().is_terminal();
        match mode {
            Progress::Never => Bar::Hidden,
            Progress::Auto if !terminal => Bar::Hidden,
            _ if terminal => {
                let bar = ProgressBar::new(total as u64);
                if let Ok(style) = ProgressStyle::with_template(
                    "pool {bar:40} {pos}/{len} tasks  {per_sec}  eta {eta}",
                ) {
                    bar.set_style(style);
                }
                Bar::Terminal(bar)
            }
            _ => {
                let now = Instant::now();
                Bar::Lines {
                    total,
                    done: 0,
                    start: now,
                    last: now,
                }
            }
        }
    }

    pub(crate) fn advance(&mut self, tasks: usize) {
        match self {
            Bar::Hidden => {}
            Bar::Terminal(bar) => bar.inc(tasks as u64),
            Bar::Lines { done, last, .. } => {
                *done += tasks;
                if last.elapsed() >= Duration::from_secs(1) {
                    *last = Instant::now();
                    self.print_line();
                }
            }
        }
    }

    pub(crate) fn finish(&mut self) {
        match self {
            Bar::Hidden => {}
            Bar::Terminal(bar) => bar.finish(),
            Bar::Lines { .. } => self.print_line(),
        }
    }

    fn print_line(&self) {
        if let Bar::Lines {
            total, done, start, ..
        } = self
        {
            let secs = start.elapsed().as_secs_f64();
            let rate = if secs > 0.0 { *done as f64 / secs } else { 0.0 };
            eprintln!("pool: {done}/{total} tasks, {rate:.0} tasks/s, {secs:.1} s");
        }
    }
}
