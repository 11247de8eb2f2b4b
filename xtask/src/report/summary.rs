//! summary.csv and summary.md: each rspar measure against its reference, the spread
//! between whole runs, the speed targets checked, and the same-launch tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::direct::SERIAL_TOLERANCE;
use super::measures::Row;
use super::stats::{median, Estimate};
use super::Samples;

/// The medians of one implementation's benchmark, by size (for the chart and the
/// cluster table).
pub fn series(samples: &Samples, implementation: &str, bench: &str) -> BTreeMap<u64, f64> {
    samples
        .iter()
        .filter(|((i, b, _), _)| i == implementation && b == bench)
        .map(|((_, _, size), v)| (*size, median(v)))
        .collect()
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
        m if m.ends_with("_in_launch") => "x raw MPI",
        m if m.contains("speedup") || m == "pool_direct_vs_n1" => "x",
        m if m.contains("tasks") => "tasks/s",
        "farm_remote_share" | "peer_serial_ratio" => "",
        _ => "us",
    }
}

/// A figure with as many digits as it needs.
fn show(x: f64) -> String {
    let prec = match x.abs() {
        a if a >= 1000.0 => 0,
        a if a >= 10.0 => 1,
        _ => 3,
    };
    format!("{x:.prec$}")
}

/// The runs' own ratios, `-` with one run.
fn runs_cell(e: &Estimate) -> String {
    if e.runs.len() < 2 {
        return "-".into();
    }
    let runs: Vec<String> = e.runs.iter().map(|r| format!("{r:.2}")).collect();
    runs.join(", ")
}

/// One same-launch table: a row per size, a column per measure.
fn same_launch_rows(rows: &[Row], columns: &[&str]) -> String {
    let mut sizes: Vec<u64> = rows
        .iter()
        .filter(|r| columns.contains(&r.measure))
        .map(|r| r.size)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut md = String::new();
    for size in sizes {
        let cells: Vec<String> = columns
            .iter()
            .map(|m| {
                rows.iter()
                    .find(|r| r.measure == *m && r.size == size)
                    .map_or("-".into(), |r| {
                        let (lo, hi) = r.ratio.interval;
                        format!(
                            "{:.3} ({lo:.3}-{hi:.3}, {} launches; runs {})",
                            r.ratio.value,
                            r.ratio.count,
                            runs_cell(&r.ratio)
                        )
                    })
            })
            .collect();
        let _ = writeln!(md, "| {} | {} |", human(size), cells.join(" | "));
    }
    md
}

/// The same-launch tables: ping-pong and the collectives.
fn same_launch_table(rows: &[Row]) -> String {
    let mut md = String::new();
    let pingpong = same_launch_rows(rows, &["latency_raw_in_launch", "latency_serde_in_launch"]);
    if !pingpong.is_empty() {
        md += "\nrspar's own cost without the noise between launches: each rspar ping-pong \
               launch also times raw MPI calls (rsmpi's `send` / `receive_into`, the calls \
               C makes) at each size, the modes' order turning from launch to launch. \
               Time over raw MPI in the same launch, median over launches (95% interval \
               from resampling rounds):\n\n\
               | size | buffer path (`buffer-u8`) | object path (`object-u8`) |\n\
               |---|---:|---:|\n";
        md += &pingpong;
    }
    let collectives = same_launch_rows(rows, &["bcast_in_launch", "allreduce_in_launch"]);
    if !collectives.is_empty() {
        md += "\nThe same for the collectives: each collectives launch also times raw \
               `MPI_Bcast` / `MPI_Allreduce` calls (through rsmpi) beside rspar's \
               `broadcast_buffer` / `all_reduce_buffer`, which of them goes first turning \
               from launch to launch:\n\n| size | broadcast | all-reduce |\n|---|---:|---:|\n";
        md += &collectives;
    }
    md
}

/// How far whole runs moved the ratios: the median over rows of each row's spread (the
/// largest run's ratio over the smallest's, less 1), and the row that moved most. Empty
/// with one run.
fn spread_line(rows: &[Row]) -> String {
    let moved: Vec<(f64, &Row)> = rows
        .iter()
        .filter_map(|r| r.ratio.spread().map(|(lo, hi)| (hi / lo - 1.0, r)))
        .filter(|(m, _)| m.is_finite())
        .collect();
    let Some(&(most, row)) = moved.iter().max_by(|a, b| a.0.total_cmp(&b.0)) else {
        return String::new();
    };
    let all: Vec<f64> = moved.iter().map(|m| m.0).collect();
    let at = if row.size == 0 {
        String::new()
    } else {
        format!(" at {}", human(row.size))
    };
    format!(
        "\nThe spread between runs: a row's ratio moved by a median of {:.1}% from one \
         run to another (the largest run's figure over the smallest's), at most {:.1}% \
         ({}{at}).\n",
        100.0 * median(&all),
        100.0 * most,
        row.measure
    )
}

/// What summary.md says about the runs and rounds it comes from.
pub struct Provenance {
    /// Whole runs of the bench (raw files).
    pub runs: usize,
    /// Rounds of each run.
    pub rounds: Vec<usize>,
}

fn header(p: &Provenance) -> String {
    let rounds: Vec<String> = p.rounds.iter().map(usize::to_string).collect();
    let spread = if p.runs >= 2 {
        format!(
            "The last column gives each of the {} runs' own median: the spread between \
             whole runs of the bench, which the interval does not see (a run's \
             rounds share its day: its build, its machine, its launch-order habits).",
            p.runs
        )
    } else {
        "One run only: the spread between whole runs is not known (`scripts/bench.sh` \
         runs the bench twice unless `--runs 1`)."
            .into()
    };
    format!(
        "{} run(s) of the bench ({} rounds). Every ratio is the median of per-pair ratios: \
         rspar's launch against the reference's launch of the same structure beside it \
         (their order alternating), or rspar against raw MPI calls in the same launch. \
         The 95% interval is that median's over {} resamples of whole rounds (a block \
         bootstrap: each run's rounds drawn with replacement). {spread}\n\n\
         | measure | size | rspar | reference | ratio | 95% interval | each run |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        p.runs,
        rounds.join(" and "),
        super::stats::RESAMPLES
    )
}

/// Write summary.csv and summary.md into `out`; returns the markdown.
pub fn write(
    out: &Path,
    rows: &[Row],
    ceiling: Option<Estimate>,
    provenance: &Provenance,
) -> Result<String, String> {
    let mut csv = String::from("measure,size_bytes,rspar,reference,ratio\n");
    let mut md = header(provenance);
    for r in rows {
        let _ = writeln!(
            csv,
            "{},{},{:.4},{:.4},{:.4}",
            r.measure, r.size, r.rspar.value, r.reference, r.ratio.value
        );
        let size = if r.size == 0 {
            "-".into()
        } else {
            human(r.size)
        };
        let u = match unit(r.measure) {
            "" => String::new(),
            u => format!(" {u}"),
        };
        let _ = writeln!(
            md,
            "| {} | {size} | {}{u} | {}{u} | {:.2} | {:.2}-{:.2} | {} |",
            r.measure,
            show(r.rspar.value),
            show(r.reference),
            r.ratio.value,
            r.ratio.interval.0,
            r.ratio.interval.1,
            runs_cell(&r.ratio)
        );
    }
    md.push_str(&spread_line(rows));
    if let Some(r) = rows.iter().find(|r| r.measure == "peer_serial_ratio") {
        let v = r.ratio.value;
        let equal = (v - 1.0).abs() <= SERIAL_TOLERANCE;
        let _ = writeln!(
            md,
            "\nThe Python job's serial time over rspar's (`peer_serial_ratio`): {v:.2}: {}.",
            if equal {
                "within 15%, so start-up weighs alike in both jobs"
            } else {
                "NOT within 15%: the Python peers' speedups are not on equal terms"
            }
        );
    }
    md.push_str(
        "\nSpeed targets (worst case over the sizes each covers). A verdict near its \
         bound says so: the bound inside the 95% interval, or else inside the range of \
         the runs' own figures (within the run-to-run spread):\n\n",
    );
    md.push_str(&super::targets::table(rows));
    md.push_str(&same_launch_table(rows));
    if let Some(ceiling) = ceiling {
        let farm = rows.iter().find(|r| r.measure == "farm_speedup");
        let reached = farm.map_or(String::new(), |r| {
            format!(
                "; the farm reached {:.0}% of it",
                100.0 * r.rspar.value / ceiling.value
            )
        });
        let _ = writeln!(
            md,
            "\nThe machine's own ceiling for farm_speedup: two independent one-rank fib runs \
             side by side did {:.2}x the work of one (median of {} launches; 2.00 on an \
             ideal 2-core machine){reached}.",
            ceiling.value, ceiling.count
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_same_launch_table_has_one_line_per_size() {
        let e = |v: f64| Estimate {
            value: v,
            interval: (v, v),
            runs: vec![v, v],
            count: 2,
        };
        let row = |measure, size, v| Row {
            size,
            ..Row::fixed(measure, e(v), 1.0)
        };
        let rows = [
            row("bcast_in_launch", 8, 1.0),
            row("bcast_in_launch", 1024, 1.1),
            row("allreduce_in_launch", 8, 1.2),
            row("allreduce_in_launch", 1024, 1.3),
        ];
        let md = same_launch_rows(&rows, &["bcast_in_launch", "allreduce_in_launch"]);
        assert_eq!(md.lines().count(), 2, "{md}");
        assert!(md.starts_with("| 8 B | 1.000 (1.000-1.000, 2 launches; runs 1.00, 1.00) | 1.200"));
    }
}
