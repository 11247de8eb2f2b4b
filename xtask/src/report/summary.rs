//! summary.csv and summary.md: each rspar measure against its reference, and the speed
//! targets checked.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::stats::{median, median_interval, ratio_interval};
use super::Samples;

/// One row of summary.csv.
pub struct Row {
    pub(crate) measure: &'static str,
    pub(crate) size: u64,
    pub(crate) rspar: f64,
    pub(crate) reference: f64,
    /// 95% bootstrap interval of `ratio()`.
    pub(crate) ratio_interval: (f64, f64),
    /// 95% bootstrap interval of `rspar`.
    pub(crate) rspar_interval: (f64, f64),
}

impl Row {
    pub(crate) fn ratio(&self) -> f64 {
        self.rspar / self.reference
    }
}

/// The values (one per launch) of one implementation's benchmark, by size.
fn launches<'s>(
    samples: &'s Samples,
    implementation: &'s str,
    bench: &'s str,
) -> impl Iterator<Item = (u64, &'s [f64])> + 's {
    samples
        .iter()
        .filter(move |((i, b, _), _)| i == implementation && b == bench)
        .map(|((_, _, size), v)| (*size, v.as_slice()))
}

/// The medians of one implementation's benchmark, by size.
pub fn series(samples: &Samples, implementation: &str, bench: &str) -> BTreeMap<u64, f64> {
    launches(samples, implementation, bench)
        .map(|(size, v)| (size, median(v)))
        .collect()
}

/// rspar's times (`mine`, one per launch) against the reference's at one size: as times,
/// or as bandwidths (bytes / time: the median bandwidth is bytes / the median time, and
/// the ratio turns over).
fn timed(measure: &'static str, size: u64, mine: &[f64], theirs: &[f64], bandwidth: bool) -> Row {
    let (us, c_us) = (median(mine), median(theirs));
    let (lo, hi) = median_interval(mine);
    if bandwidth {
        let b = size as f64;
        Row {
            measure,
            size,
            rspar: b / us,
            reference: b / c_us,
            ratio_interval: ratio_interval(theirs, mine),
            rspar_interval: (b / hi, b / lo),
        }
    } else {
        Row {
            measure,
            size,
            rspar: us,
            reference: c_us,
            ratio_interval: ratio_interval(mine, theirs),
            rspar_interval: (lo, hi),
        }
    }
}

pub fn rows(samples: &Samples) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut against_c = |measure, mine: &str, bench: &str, bandwidth: bool| {
        let reference: BTreeMap<u64, &[f64]> = launches(samples, "c", bench).collect();
        for (size, values) in launches(samples, mine, bench) {
            if let Some(theirs) = reference.get(&size) {
                rows.push(timed(measure, size, values, theirs, bandwidth));
            }
        }
    };
    against_c("latency_raw", "buffer-u8", "pingpong", false);
    against_c("latency_serde", "object-u8", "pingpong", false);
    against_c("bandwidth_raw", "buffer-u8", "pingpong", true);
    against_c("bandwidth_serde_f64", "object-f64", "pingpong", true);
    against_c("bcast_raw", "rspar", "broadcast", false);
    against_c("allreduce_raw", "rspar", "allreduce", false);
    // rspar's own cost at every size, measured inside each launch against raw MPI calls
    // (see `same_launch`): the ratio is the row's value, against 1.
    for (measure, mode) in [
        ("latency_raw_in_launch", "buffer-u8"),
        ("latency_serde_in_launch", "object-u8"),
    ] {
        for (size, _) in launches(samples, "rsmpi", "pingpong") {
            if let Some((ratio, interval, _)) = same_launch(samples, mode, "pingpong", size) {
                rows.push(Row {
                    measure,
                    size,
                    rspar: ratio,
                    reference: 1.0,
                    ratio_interval: interval,
                    rspar_interval: interval,
                });
            }
        }
    }
    // The speedup of each launch pair (one rank and three, run back to back), then the
    // median: the machine's speed drifts over a run more than within a pair.
    let fib = |n: &str| samples.get(&("rspar".to_string(), n.to_string(), 0));
    // (measure, the slower run, the faster one, the reference speedup)
    let speedups = [
        ("farm_speedup", "fib_n1", "fib_n3", 2.0),
        ("pool_speedup_n2", "fib44_n1", "fib44_n2", 2.0),
        ("pool_speedup_n2_short", "fib_n1", "fib_n2", 2.0),
        ("pool_direct_vs_n1", "fib_n1", "fib_direct", 1.0),
    ];
    for (measure, slow, fast, reference) in speedups {
        if let (Some(one), Some(other)) = (fib(slow), fib(fast)) {
            let speedups: Vec<f64> = one.iter().zip(other).map(|(a, b)| a / b).collect();
            if !speedups.is_empty() {
                let (lo, hi) = median_interval(&speedups);
                rows.push(Row {
                    measure,
                    size: 0,
                    rspar: median(&speedups),
                    reference,
                    ratio_interval: (lo / reference, hi / reference),
                    rspar_interval: (lo, hi),
                });
            }
        }
    }
    rows.extend(super::direct::rows(samples));
    let rate = |i| {
        samples
            .get(&(i, "tasks_per_s".to_string(), 0))
            .filter(|v| !v.is_empty())
    };
    if let (Some(farm), Some(plain)) = (rate("rspar".into()), rate("loop".into())) {
        rows.push(Row {
            measure: "farm_tasks_per_s",
            size: 0,
            rspar: median(farm),
            reference: median(plain),
            ratio_interval: ratio_interval(farm, plain),
            rspar_interval: median_interval(farm),
        });
    }
    if let (Some(submit), Some(plain)) = (rate("rspar_submit".into()), rate("loop".into())) {
        rows.push(Row {
            measure: "pool_submit_tasks_per_s",
            size: 0,
            rspar: median(submit),
            reference: median(plain),
            ratio_interval: ratio_interval(submit, plain),
            rspar_interval: median_interval(submit),
        });
    }
    rows
}

/// A same-launch result: the median ratio over launches, its 95% interval, the launches.
type SameLaunch = (f64, (f64, f64), usize);

/// rspar's own cost measured inside each launch: `mode`'s `bench` against raw MPI calls
/// (the `rsmpi` rows of the same benchmark, the calls C makes) at the same size, moments
/// apart. The ratio of each launch, then the median over launches and its 95% interval;
/// `None` unless every launch that ran `mode` ran `rsmpi` too (values pair up by launch
/// order).
fn same_launch(samples: &Samples, mode: &str, bench: &str, size: u64) -> Option<SameLaunch> {
    let get = |i: &str| samples.get(&(i.to_string(), bench.to_string(), size));
    let (mine, raw) = (get(mode)?, get("rsmpi")?);
    if mine.len() != raw.len() || mine.is_empty() {
        return None;
    }
    let ratios: Vec<f64> = mine.iter().zip(raw).map(|(a, b)| a / b).collect();
    Some((median(&ratios), median_interval(&ratios), ratios.len()))
}

/// One same-launch table: a row per size that raw MPI calls ran at in `bench`, a column
/// per (implementation, benchmark) compared with them; empty when no launch ran both.
fn same_launch_rows(samples: &Samples, bench: &str, columns: &[(&str, &str)]) -> String {
    let sizes: Vec<u64> = launches(samples, "rsmpi", bench).map(|(s, _)| s).collect();
    let mut md = String::new();
    for size in sizes {
        let cells: Vec<Option<SameLaunch>> = columns
            .iter()
            .map(|&(mode, bench)| same_launch(samples, mode, bench, size))
            .collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        let cells: Vec<String> = cells
            .into_iter()
            .map(|found| {
                found.map_or("-".to_string(), |(r, (lo, hi), n)| {
                    format!("{r:.3} ({lo:.3}-{hi:.3}, {n} launches)")
                })
            })
            .collect();
        let _ = writeln!(md, "| {} | {} |", human(size), cells.join(" | "));
    }
    md
}

/// The same-launch tables (see [`same_launch`]): ping-pong and the collectives.
fn same_launch_table(samples: &Samples) -> String {
    let mut md = String::new();
    let pingpong = same_launch_rows(
        samples,
        "pingpong",
        &[("buffer-u8", "pingpong"), ("object-u8", "pingpong")],
    );
    if !pingpong.is_empty() {
        md += "\nrspar's own cost without the noise between launches: each rspar ping-pong \
               launch also times raw MPI calls (rsmpi's `send` / `receive_into`, the calls \
               C makes) at each size, moments before rspar's. Time over raw MPI in the same \
               launch, median over launches (95% interval):\n\n\
               | size | buffer path (`buffer-u8`) | object path (`object-u8`) |\n\
               |---|---:|---:|\n";
        md += &pingpong;
    }
    let collectives = same_launch_rows(
        samples,
        "broadcast",
        &[("rspar", "broadcast"), ("rspar", "allreduce")],
    );
    if !collectives.is_empty() {
        md += "\nThe same for the collectives: each collectives launch also times raw \
               `MPI_Bcast` / `MPI_Allreduce` calls (through rsmpi) just before rspar's \
               `broadcast_buffer` / `all_reduce_buffer`:\n\n\
               | size | broadcast | all-reduce |\n|---|---:|---:|\n";
        md += &collectives;
    }
    md
}

pub fn human(size: u64) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1024 && s % 1024 == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn unit(measure: &str) -> &'static str {
    match measure {
        m if m.starts_with("bandwidth") => "MB/s",
        "farm_speedup"
        | "pool_speedup_n2"
        | "pool_speedup_n2_short"
        | "pool_direct_vs_n1"
        | "pool_direct_spawn_speedup"
        | "direct_speedup_vs_multiprocessing"
        | "direct_speedup_vs_mpi4py_futures" => "x",
        m if m.ends_with("_in_launch") => "x raw MPI",
        "farm_tasks_per_s" | "pool_submit_tasks_per_s" => "tasks/s",
        _ => "us",
    }
}

/// Write summary.csv and summary.md into `out`; returns the markdown.
pub fn write(
    out: &Path,
    samples: &Samples,
    rows: &[Row],
    ceiling: Option<(f64, usize)>,
    rounds: usize,
    launches: usize,
) -> Result<String, String> {
    let mut csv = String::from("measure,size_bytes,rspar,reference,ratio\n");
    let more = if launches > rounds {
        format!("; latency, the collectives and the farm from up to {launches} launches")
    } else {
        String::new()
    };
    let mut md = format!(
        "Medians of {rounds} alternated rounds (rspar and reference side by side in each \
         round{more}). The interval is the middle 95% of the ratio over {resamples} \
         bootstrap resamples of the launches: how far the machine's noise moves it.\n\n\
         | measure | size | rspar | reference | ratio | 95% interval |\n\
         |---|---:|---:|---:|---:|---:|\n",
        resamples = super::stats::RESAMPLES
    );
    for r in rows {
        let _ = writeln!(
            csv,
            "{},{},{:.4},{:.4},{:.4}",
            r.measure,
            r.size,
            r.rspar,
            r.reference,
            r.ratio()
        );
        let size = if r.size == 0 {
            "-".into()
        } else {
            human(r.size)
        };
        let prec = if r.rspar >= 1000.0 {
            0
        } else if r.rspar >= 10.0 {
            1
        } else {
            3
        };
        let _ = writeln!(
            md,
            "| {} | {size} | {:.prec$} {u} | {:.prec$} {u} | {:.2} | {:.2}-{:.2} |",
            r.measure,
            r.rspar,
            r.reference,
            r.ratio(),
            r.ratio_interval.0,
            r.ratio_interval.1,
            u = unit(r.measure)
        );
    }
    md.push_str(
        "\nSpeed targets (worst case over the sizes each covers; a miss whose interval \
         reaches the must is one the machine's noise alone could make):\n\n",
    );
    md.push_str(&super::targets::table(rows));
    md.push_str(&same_launch_table(samples));
    if let Some((ceiling, launches)) = ceiling {
        let farm = rows.iter().find(|r| r.measure == "farm_speedup");
        let reached = farm.map_or(String::new(), |r| {
            format!("; the farm reached {:.0}% of it", 100.0 * r.rspar / ceiling)
        });
        let _ = writeln!(
            md,
            "\nThe machine's own ceiling for farm_speedup: two independent one-rank fib runs \
             side by side did {ceiling:.2}x the work of one (median of {launches} launches; \
             2.00 on an ideal 2-core machine){reached}."
        );
    }
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("summary.csv", &csv)?;
    write("summary.md", &md)?;
    Ok(md)
}
