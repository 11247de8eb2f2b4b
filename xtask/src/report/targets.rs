//! The speed targets of the issue and their verdicts in summary.md: each target's worst
//! case over the rows it covers, and whether the must and the aim are met. A verdict
//! whose bound lies inside the row's 95% interval, or inside the range of the runs' own
//! figures, says so: neither the noise between rounds nor that between whole runs rules
//! it out. Outside both, a verdict is still only as firm as two runs of one machine.

use std::fmt::Write as _;

use super::measures::Row;
use super::stats::Estimate;

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

/// How near `bound` a figure is: inside its 95% interval, else inside the range of the
/// runs' own figures, else neither.
fn qualifier(e: &Estimate, bound: f64) -> &'static str {
    let inside = |(lo, hi): (f64, f64)| lo <= bound && bound <= hi;
    if inside(e.interval) {
        " (the bound is inside the interval)"
    } else if e.spread().is_some_and(inside) {
        " (within the run-to-run spread)"
    } else {
        ""
    }
}

/// The verdict on `worst` (with its estimate) against the target's must and aim.
fn verdict(t: &Target, e: &Estimate) -> String {
    let worse = |a: f64, b: f64| if t.higher { a < b } else { a > b };
    let meets = |bound: f64| !worse(e.value, bound);
    let (word, bound) = match (meets(t.must), meets(t.aim)) {
        (_, true) => ("aim met", t.aim),
        (true, false) => ("must met", t.must),
        (false, _) => ("MISSED", t.must),
    };
    format!("{word}{}", qualifier(e, bound))
}

/// The targets' table: each target's worst row, its interval, its runs and the verdict.
pub fn table(rows: &[Row]) -> String {
    let mut md = String::from(
        "| target | worst measured (95% interval; each run) | must | aim | verdict |\n\
         |---|---|---|---|---|\n",
    );
    for t in TARGETS {
        let values: Vec<&Estimate> = rows
            .iter()
            .filter(|r| {
                t.measures.contains(&r.measure) && (t.sizes.0..=t.sizes.1).contains(&r.size)
            })
            .map(|r| if t.absolute { &r.rspar } else { &r.ratio })
            .collect();
        let worse = |a: f64, b: f64| if t.higher { a < b } else { a > b };
        let Some(e) = values
            .into_iter()
            .reduce(|w, v| if worse(v.value, w.value) { v } else { w })
        else {
            let _ = writeln!(md, "| {} | not measured | | | |", t.what);
            continue;
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
        let runs = if e.runs.len() >= 2 {
            let r: Vec<String> = e.runs.iter().map(|&x| show(x)).collect();
            format!("; {}", r.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "| {} | {}{unit} ({}-{}{runs}) | {cmp} {}{unit} | {cmp} {}{unit} | {} |",
            t.what,
            show(e.value),
            show(e.interval.0),
            show(e.interval.1),
            show(t.must),
            show(t.aim),
            verdict(t, e)
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(value: f64, interval: (f64, f64), runs: &[f64]) -> Estimate {
        Estimate {
            value,
            interval,
            runs: runs.to_vec(),
            count: 10,
        }
    }

    #[test]
    fn verdicts_say_when_the_bound_is_within_the_noise() {
        let t = &TARGETS[0]; // latency: lower is better, must 1.10, aim 1.03
        assert_eq!(verdict(t, &est(1.0, (0.99, 1.01), &[1.0, 1.0])), "aim met");
        assert_eq!(
            verdict(t, &est(1.02, (1.01, 1.04), &[])),
            "aim met (the bound is inside the interval)"
        );
        assert_eq!(
            verdict(t, &est(1.05, (1.04, 1.06), &[1.05, 1.06])),
            "must met"
        );
        // A miss outside its interval but inside the runs' range.
        assert_eq!(
            verdict(t, &est(1.15, (1.14, 1.16), &[1.08, 1.16])),
            "MISSED (within the run-to-run spread)"
        );
        assert_eq!(
            verdict(t, &est(1.15, (1.14, 1.16), &[1.14, 1.16])),
            "MISSED"
        );
        assert_eq!(
            verdict(t, &est(1.15, (1.09, 1.16), &[1.14, 1.16])),
            "MISSED (the bound is inside the interval)"
        );
        // Higher is better: bandwidth, must 0.90.
        let bw = &TARGETS[1];
        assert_eq!(
            verdict(bw, &est(0.88, (0.87, 0.89), &[0.85, 0.91])),
            "MISSED (within the run-to-run spread)"
        );
    }
}
