//! The pool run directly against its Python peers (bench.sh's `direct_*`, `mp_*` and
//! `mpi4py_*` rows): speedups from whole-process wall times, start-up included.

use super::stats::{median, median_interval};
use super::summary::Row;
use super::Samples;

/// rspar's fib 44..39 spawned against `--workers 1`, and its speedup against the Python
/// peers' (multiprocessing.Pool(), mpi4py.futures' MPIPoolExecutor) round by round.
pub fn rows(samples: &Samples) -> Vec<Row> {
    let mut rows = Vec::new();
    // Run directly, start-up included (whole-process wall times): rspar's fib 44..39 with
    // its spawned workers against `--workers 1`, and the Python peers (fib 35..30)
    // through multiprocessing.Pool() and mpi4py's MPIPoolExecutor against a plain map.
    let wall = |i: &str, n: &str| samples.get(&(i.to_string(), n.to_string(), 0));
    let pairs = |slow: &[f64], fast: &[f64]| -> Vec<f64> {
        slow.iter().zip(fast).map(|(a, b)| a / b).collect()
    };
    let direct = wall("rspar", "direct_w1").zip(wall("rspar", "direct_wall"));
    let direct = direct.map(|(a, b)| pairs(a, b)).filter(|v| !v.is_empty());
    if let Some(rs) = &direct {
        let (lo, hi) = median_interval(rs);
        rows.push(Row {
            measure: "pool_direct_spawn_speedup",
            size: 0,
            rspar: median(rs),
            reference: 2.0,
            ratio_interval: (lo / 2.0, hi / 2.0),
            rspar_interval: (lo, hi),
        });
    }
    for (measure, peer) in [
        ("direct_speedup_vs_multiprocessing", "mp_pool"),
        ("direct_speedup_vs_mpi4py_futures", "mpi4py_pool"),
    ] {
        let theirs = wall("python", "mp_seq").zip(wall("python", peer));
        let theirs = theirs.map(|(a, b)| pairs(a, b)).filter(|v| !v.is_empty());
        if let (Some(rs), Some(py)) = (&direct, theirs) {
            // Round by round: rspar's speedup over the peer's.
            let ratios = pairs(rs, &py);
            rows.push(Row {
                measure,
                size: 0,
                rspar: median(rs),
                reference: median(&py),
                ratio_interval: median_interval(&ratios),
                rspar_interval: median_interval(rs),
            });
        }
    }
    rows
}
