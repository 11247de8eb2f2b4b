//! The summary's rows: each rspar measure against its reference, as one estimator (the
//! median of per-pair ratios, its interval from resampling whole rounds, and each run's
//! median: [`super::stats::estimate`]).

use super::obs::{by_round, join, sizes, values, Obs, Series};
use super::stats::{estimate, median, Estimate};

/// One row of summary.csv.
pub struct Row {
    pub(crate) measure: &'static str,
    pub(crate) size: u64,
    /// rspar's own figure (median over launches, in the measure's unit).
    pub(crate) rspar: Estimate,
    /// The reference's median (NaN where the measure has none).
    pub(crate) reference: f64,
    /// The ratio to the reference: the median of the ratios of the alternated pairs (or
    /// of the launches, for same-launch rows), higher = rspar larger.
    pub(crate) ratio: Estimate,
}

impl Row {
    /// A row whose ratio is `ratio`'s values, with a fixed reference (1 for a ratio
    /// that is its own figure, 2 for a speedup on two cores).
    pub(crate) fn fixed(measure: &'static str, figure: Estimate, reference: f64) -> Row {
        Row {
            measure,
            size: 0,
            ratio: figure.map(|x| x / reference),
            rspar: figure,
            reference,
        }
    }
}

fn median_of(obs: &[Obs], s: Series<'_>) -> f64 {
    median(&values(obs, s).into_values().flatten().collect::<Vec<_>>())
}

/// rspar's `mode` against C's `bench` at every size both ran: the ratio of each pair of
/// alternated launches, rspar's pass against the C pass at the same place in its launch
/// (C times each size as many times, in the same order, as the rspar launch it pairs
/// with). As times, or as bandwidths (bytes / time: the ratio turns over).
fn against_c(obs: &[Obs], measure: &'static str, mode: &str, bench: &str, bw: bool) -> Vec<Row> {
    let theirs = sizes(obs, "c", bench);
    let mut rows = Vec::new();
    for size in sizes(obs, mode, bench) {
        if !theirs.contains(&size) {
            continue;
        }
        let (mine, c) = ((mode, bench, size), ("c", bench, size));
        let f = |a: f64, b: f64| if bw { b / a } else { a / b };
        let (Some(ratio), Some(own)) = (
            estimate(&by_round(&join(obs, mine, c, true, f))),
            estimate(&values(obs, mine)),
        ) else {
            continue;
        };
        let b = size as f64;
        let (rspar, reference) = if bw {
            (own.map(|t| b / t), b / median_of(obs, c))
        } else {
            (own, median_of(obs, c))
        };
        rows.push(Row {
            measure,
            size,
            rspar,
            reference,
            ratio,
        });
    }
    rows
}

/// rspar's own cost inside each launch: `mode`'s time over raw MPI calls (`rsmpi`) of
/// the same launch at every size, the median over launches; the reference is 1.
fn in_launch(obs: &[Obs], measure: &'static str, mode: &str, bench: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for size in sizes(obs, "rsmpi", bench) {
        let joined = join(
            obs,
            (mode, bench, size),
            ("rsmpi", bench, size),
            false,
            |a, b| a / b,
        );
        if let Some(e) = estimate(&by_round(&joined)) {
            rows.push(Row {
                size,
                ..Row::fixed(measure, e, 1.0)
            });
        }
    }
    rows
}

/// The speedup of each pool pair (`slow` over `fast`, run back to back in one pair),
/// the median over pairs, against `reference`.
fn speedup(
    obs: &[Obs],
    measure: &'static str,
    slow: &str,
    fast: &str,
    reference: f64,
) -> Option<Row> {
    let joined = join(
        obs,
        ("rspar", slow, 0),
        ("rspar", fast, 0),
        false,
        |a, b| a / b,
    );
    estimate(&by_round(&joined)).map(|e| Row::fixed(measure, e, reference))
}

/// Every row the raw observations allow, in the summary's order.
pub fn rows(obs: &[Obs]) -> Vec<Row> {
    let mut rows = Vec::new();
    rows.extend(against_c(
        obs,
        "latency_raw",
        "buffer-u8",
        "pingpong",
        false,
    ));
    rows.extend(against_c(
        obs,
        "latency_serde",
        "object-u8",
        "pingpong",
        false,
    ));
    rows.extend(against_c(
        obs,
        "bandwidth_raw",
        "buffer-u8",
        "pingpong",
        true,
    ));
    rows.extend(against_c(
        obs,
        "bandwidth_serde_f64",
        "object-f64",
        "pingpong",
        true,
    ));
    // Raw MPI calls through rsmpi in rspar's launches against C: what the machine and
    // the launch give any caller of MPI, rspar aside.
    rows.extend(against_c(obs, "latency_rsmpi", "rsmpi", "pingpong", false));
    rows.extend(against_c(obs, "bcast_raw", "rspar", "broadcast", false));
    rows.extend(against_c(obs, "allreduce_raw", "rspar", "allreduce", false));
    rows.extend(in_launch(
        obs,
        "latency_raw_in_launch",
        "buffer-u8",
        "pingpong",
    ));
    rows.extend(in_launch(
        obs,
        "latency_serde_in_launch",
        "object-u8",
        "pingpong",
    ));
    rows.extend(in_launch(obs, "bcast_in_launch", "rspar", "broadcast"));
    rows.extend(in_launch(obs, "allreduce_in_launch", "rspar", "allreduce"));
    let speedups = [
        ("farm_speedup", "fib_n1", "fib_n3", 2.0),
        ("pool_speedup_n2", "fib44_n1", "fib44_n2", 2.0),
        ("pool_speedup_n2_short", "fib_n1", "fib_n2", 2.0),
        ("pool_direct_vs_n1", "fib_n1", "fib_direct", 1.0),
    ];
    for (measure, slow, fast, reference) in speedups {
        rows.extend(speedup(obs, measure, slow, fast, reference));
    }
    rows.extend(super::direct::rows(obs));
    rows.extend(super::tiny::rows(obs));
    rows
}

/// The machine's own ceiling (`fib_parallel` rows: two independent one-rank runs side
/// by side, the sum of their speeds relative to one run alone).
pub fn ceiling(obs: &[Obs]) -> Option<Estimate> {
    estimate(&values(obs, ("machine", "fib_parallel", 0)))
}

/// `mine` against `theirs`, launched as a pair (or in one launch): the ratio of each
/// pair, its median; `mine`'s own median and `theirs`'.
pub fn versus(
    obs: &[Obs],
    measure: &'static str,
    mine: Series<'_>,
    theirs: Series<'_>,
) -> Option<Row> {
    let ratio = estimate(&by_round(&join(obs, mine, theirs, false, |a, b| a / b)))?;
    Some(Row {
        measure,
        size: 0,
        rspar: estimate(&values(obs, mine))?,
        reference: median_of(obs, theirs),
        ratio,
    })
}
