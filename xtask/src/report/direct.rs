//! The pool run directly against its Python peers (bench.sh's `direct_*`, `mp_*` and
//! `mpi4py_*` rows): speedups from whole-process wall times, start-up included, each
//! against its own one-process run, round by round; and how long the Python job's serial
//! run is beside rspar's (`peer_serial_ratio`: the peers are on equal terms only when
//! their jobs are about as long, since start-up weighs more in a shorter one).

use super::measures::Row;
use super::obs::{by_round, combine, join, Joined, Obs};
use super::stats::estimate;

/// The bound `peer_serial_ratio` must stay within (15% either way).
pub const SERIAL_TOLERANCE: f64 = 0.15;

fn speedup(obs: &[Obs], who: &str, serial: &str, parallel: &str) -> Joined {
    join(obs, (who, serial, 0), (who, parallel, 0), false, |a, b| {
        a / b
    })
}

/// rspar's fib 44..39 spawned against `--workers 1`, the Python job's serial time over
/// rspar's, and rspar's speedup over each peer's (same round).
pub fn rows(obs: &[Obs]) -> Vec<Row> {
    let mut rows = Vec::new();
    let rs = speedup(obs, "rspar", "direct_w1", "direct_wall");
    if let Some(e) = estimate(&by_round(&rs)) {
        rows.push(Row::fixed("pool_direct_spawn_speedup", e, 2.0));
    }
    let serial = join(
        obs,
        ("python", "mp_seq", 0),
        ("rspar", "direct_w1", 0),
        false,
        |a, b| a / b,
    );
    if let Some(e) = estimate(&by_round(&serial)) {
        rows.push(Row::fixed("peer_serial_ratio", e, 1.0));
    }
    for (measure, peer) in [
        ("direct_speedup_vs_multiprocessing", "mp_pool"),
        ("direct_speedup_vs_mpi4py_futures", "mpi4py_pool"),
    ] {
        let theirs = speedup(obs, "python", "mp_seq", peer);
        let ratios = combine(&rs, &theirs, |a, b| a / b);
        let (Some(ratio), Some(mine), Some(them)) = (
            estimate(&by_round(&ratios)),
            estimate(&by_round(&rs)),
            estimate(&by_round(&theirs)),
        ) else {
            continue;
        };
        rows.push(Row {
            measure,
            size: 0,
            rspar: mine,
            reference: them.value,
            ratio,
        });
    }
    rows
}
