//! The speed targets of the issue and their verdicts in summary.md: each target's worst
//! case over the rows it covers, and whether the must and the aim are met (a miss whose
//! 95% interval reaches the must is one the machine's noise alone could make).

use std::fmt::Write as _;

use super::summary::Row;

/// A speed target of the issue: the worst ratio (or value) over a range of rows.
struct Target {
    what: &'static str,
    measures: &'static [&'static str],
    sizes: (u64, u64),
    /// Higher is better (bandwidth, speedup, rate) or lower is better (time).
    higher: bool,
    /// Compare the absolute rspar value rather than the ratio.
    absolute: bool,
    must: f64,
    aim: f64,
}

const TARGETS: &[Target] = &[
    Target {
        what: "raw latency vs C, <= 1 KiB",
        measures: &["latency_raw"],
        sizes: (0, 1024),
        higher: false,
        absolute: false,
        must: 1.10,
        aim: 1.03,
    },
    Target {
        what: "raw bandwidth vs C, >= 64 KiB",
        measures: &["bandwidth_raw"],
        sizes: (65536, u64::MAX),
        higher: true,
        absolute: false,
        must: 0.90,
        aim: 0.98,
    },
    Target {
        what: "serde latency vs C, <= 1 KiB",
        measures: &["latency_serde"],
        sizes: (0, 1024),
        higher: false,
        absolute: false,
        must: 1.2,
        aim: 1.1,
    },
    Target {
        what: "serde latency vs raw MPI in the same launch, <= 1 KiB",
        measures: &["latency_serde_in_launch"],
        sizes: (0, 1024),
        higher: false,
        absolute: false,
        must: 1.2,
        aim: 1.1,
    },
    Target {
        what: "serde Vec<f64> bandwidth vs C, 1-4 MiB",
        measures: &["bandwidth_serde_f64"],
        sizes: (1 << 20, 4 << 20),
        higher: true,
        absolute: false,
        must: 0.25,
        aim: 0.5,
    },
    Target {
        what: "broadcast / all-reduce vs C",
        measures: &["bcast_raw", "allreduce_raw"],
        sizes: (0, u64::MAX),
        higher: false,
        absolute: false,
        must: 1.10,
        aim: 1.03,
    },
    Target {
        what: "farm speedup fib 38..33, n=3 vs n=1",
        measures: &["farm_speedup"],
        sizes: (0, 0),
        higher: true,
        absolute: true,
        must: 1.8,
        aim: 1.95,
    },
    Target {
        what: "pool speedup fib 44..39, n=2 vs n=1 (the root computes; launch subtracted)",
        measures: &["pool_speedup_n2"],
        sizes: (0, 0),
        higher: true,
        absolute: true,
        must: 1.8,
        aim: 1.95,
    },
    Target {
        what: "pool run directly, fib 44..39, spawned vs --workers 1 (start-up included)",
        measures: &["pool_direct_spawn_speedup"],
        sizes: (0, 0),
        higher: true,
        absolute: true,
        must: 1.7,
        aim: 1.9,
    },
    Target {
        what: "pool tiny-task rate through submit (tasks/s)",
        measures: &["pool_submit_tasks_per_s"],
        sizes: (0, 0),
        higher: true,
        absolute: true,
        must: 1_000_000.0,
        aim: 5_000_000.0,
    },
    Target {
        what: "farm tiny-task rate (tasks/s)",
        measures: &["farm_tasks_per_s"],
        sizes: (0, 0),
        higher: true,
        absolute: true,
        must: 200_000.0,
        aim: 1_000_000.0,
    },
];

/// The targets' table: each target's worst row, its interval and the verdict.
pub fn table(rows: &[Row]) -> String {
    let mut md = String::from(
        "| target | worst measured (95% interval) | must | aim | verdict |\n|---|---|---|---|---|\n",
    );
    for t in TARGETS {
        // (value, its interval) of each row the target covers.
        let values: Vec<(f64, (f64, f64))> = rows
            .iter()
            .filter(|r| {
                t.measures.contains(&r.measure) && (t.sizes.0..=t.sizes.1).contains(&r.size)
            })
            .map(|r| {
                if t.absolute {
                    (r.rspar, r.rspar_interval)
                } else {
                    (r.ratio(), r.ratio_interval)
                }
            })
            .collect();
        let worse = |a: f64, b: f64| if t.higher { a < b } else { a > b };
        let Some(&(worst, (lo, hi))) = values
            .iter()
            .reduce(|w, v| if worse(v.0, w.0) { v } else { w })
        else {
            let _ = writeln!(md, "| {} | not measured | | | |", t.what);
            continue;
        };
        let meets = |bound: f64| !worse(worst, bound);
        // The best end of the interval: a must it reaches is missed within the noise.
        let best = if t.higher { hi } else { lo };
        let verdict = match (meets(t.must), meets(t.aim)) {
            (_, true) => "aim met",
            (true, false) => "must met",
            (false, _) if !worse(best, t.must) => "MISSED (the must is inside the interval)",
            (false, _) => "MISSED",
        };
        let cmp = if t.higher { ">=" } else { "<=" };
        let show = |x: f64| {
            if t.absolute && x > 1000.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.2}")
            }
        };
        let unit = if t.absolute { "" } else { "x" };
        let _ = writeln!(
            md,
            "| {} | {}{unit} ({}-{}) | {cmp} {}{unit} | {cmp} {}{unit} | {verdict} |",
            t.what,
            show(worst),
            show(lo),
            show(hi),
            show(t.must),
            show(t.aim)
        );
    }
    md
}
