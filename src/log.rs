//! Debug logging with `tracing`, off unless `RSPAR_LOG` is set.
//!
//! rspar emits `tracing` events (target `rspar`) for every send and receive (peer, tag,
//! size), for receives that start waiting, and for collectives. With `RSPAR_LOG` set
//! (`debug`, `trace`, or targets such as `rspar=debug,info`), [`start`] installs a
//! subscriber that prints them to stderr, each line prefixed with the rank, so the
//! interleaved output of a job shows who waits for whom. A program that installs its own
//! `tracing` subscriber gets the events there instead (rspar then installs nothing).

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

use crate::error::{ErrorKind, Result};

/// The environment variable that turns logging on.
pub(crate) const VARIABLE: &str = "RSPAR_LOG";

/// Install the rank-prefixed stderr subscriber if `RSPAR_LOG` asks for one.
pub(crate) fn start(rank: usize, size: usize) -> Result<()> {
    let Ok(spec) = std::env::var(VARIABLE) else {
        return Ok(());
    };
    let filter: Targets = spec.trim().parse().map_err(|_| ErrorKind::Config {
        variable: VARIABLE,
        value: spec.clone(),
        reason: "expected a level (error, warn, info, debug, trace) or targets such as rspar=debug",
    })?;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .event_format(Ranked {
            rank,
            size,
            inner: format::Format::default(),
        })
        .finish()
        .with(filter);
    // A subscriber the program installed itself wins.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}

/// The default line format, after `[rank r/n] `.
struct Ranked {
    rank: usize,
    size: usize,
    inner: format::Format,
}

impl<S, N> FormatEvent<S, N> for Ranked
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "[rank {}/{}] ", self.rank, self.size)?;
        self.inner.format_event(ctx, writer, event)
    }
}
