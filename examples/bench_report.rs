//! Turns the raw rows of `scripts/bench.sh` into the benchmark summary: medians over
//! rounds, rspar against its reference side by side (`summary.csv`, `summary.md`, with the
//! speed targets checked) and a chart of latency and bandwidth by message size
//! (`pingpong.svg`). Not an MPI program; `scripts/bench.sh` runs it.
//!
//!     cargo run --release --example bench_report -- target/bench/raw.csv --out target/bench
//!
//! Input rows: `round,implementation,benchmark,size_bytes,value`, as the benchmark
//! programs print them (`pingpong` and `collective_timing` in microseconds, `fib_n1` and
//! `fib_n3` in seconds, `tasks_per_s` in tasks per second, `fib_parallel` as a speedup).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Parser;
use plotters::prelude::*;

/// Summarise raw benchmark rows into summary.csv, summary.md and pingpong.svg.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The raw rows written by scripts/bench.sh.
    raw: PathBuf,
    /// Directory for the outputs.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

/// (implementation, benchmark, size) -> values over rounds.
type Samples = BTreeMap<(String, String, u64), Vec<f64>>;

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn parse(text: &str) -> Result<Samples, String> {
    let mut samples = Samples::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.trim().split(',').collect();
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            format!(
                "line {}: expected round,impl,bench,size,value: {line}",
                number + 1
            )
        };
        if fields.len() != 5 {
            return Err(bad());
        }
        let size: u64 = fields[3].parse().map_err(|_| bad())?;
        let value: f64 = fields[4].parse().map_err(|_| bad())?;
        samples
            .entry((fields[1].into(), fields[2].into(), size))
            .or_default()
            .push(value);
    }
    Ok(samples)
}

/// One row of summary.csv.
struct Row {
    measure: &'static str,
    size: u64,
    rspar: f64,
    reference: f64,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.rspar / self.reference
    }
}

/// The medians of one implementation's benchmark, by size.
fn series(samples: &Samples, implementation: &str, bench: &str) -> BTreeMap<u64, f64> {
    samples
        .iter()
        .filter(|((i, b, _), _)| i == implementation && b == bench)
        .map(|((_, _, size), v)| (*size, median(v)))
        .collect()
}

fn rows(samples: &Samples) -> Vec<Row> {
    let mut rows = Vec::new();
    let c = series(samples, "c", "pingpong");
    let paired = |rows: &mut Vec<Row>, measure, mine: &str, bandwidth: bool| {
        for (size, us) in series(samples, mine, "pingpong") {
            if let Some(&c_us) = c.get(&size) {
                let (rspar, reference) = if bandwidth {
                    (size as f64 / us, size as f64 / c_us)
                } else {
                    (us, c_us)
                };
                rows.push(Row {
                    measure,
                    size,
                    rspar,
                    reference,
                });
            }
        }
    };
    paired(&mut rows, "latency_raw", "buffer-u8", false);
    paired(&mut rows, "latency_serde", "object-u8", false);
    paired(&mut rows, "bandwidth_raw", "buffer-u8", true);
    paired(&mut rows, "bandwidth_serde_f64", "object-f64", true);
    for (measure, bench) in [("bcast_raw", "broadcast"), ("allreduce_raw", "allreduce")] {
        let reference = series(samples, "c", bench);
        for (size, us) in series(samples, "rspar", bench) {
            if let Some(&c_us) = reference.get(&size) {
                rows.push(Row {
                    measure,
                    size,
                    rspar: us,
                    reference: c_us,
                });
            }
        }
    }
    // The speedup of each launch pair (one rank, then three, run back to back), then the
    // median: the machine's speed drifts over a run more than within a pair.
    let fib = |n: &str| samples.get(&("rspar".to_string(), n.to_string(), 0));
    if let (Some(one), Some(three)) = (fib("fib_n1"), fib("fib_n3")) {
        let speedups: Vec<f64> = one.iter().zip(three).map(|(a, b)| a / b).collect();
        if !speedups.is_empty() {
            rows.push(Row {
                measure: "farm_speedup",
                size: 0,
                rspar: median(&speedups),
                reference: 2.0,
            });
        }
    }
    let rate = |i| series(samples, i, "tasks_per_s").get(&0).copied();
    if let (Some(farm), Some(plain)) = (rate("rspar"), rate("loop")) {
        rows.push(Row {
            measure: "farm_tasks_per_s",
            size: 0,
            rspar: farm,
            reference: plain,
        });
    }
    rows
}

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
        what: "serde latency vs C, <= 64 B",
        measures: &["latency_serde"],
        sizes: (0, 64),
        higher: false,
        absolute: false,
        must: 1.6,
        aim: 1.25,
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
        what: "farm tiny-task rate (tasks/s)",
        measures: &["farm_tasks_per_s"],
        sizes: (0, 0),
        higher: true,
        absolute: true,
        must: 200_000.0,
        aim: 1_000_000.0,
    },
];

fn targets_table(rows: &[Row]) -> String {
    let mut md =
        String::from("| target | worst measured | must | aim | verdict |\n|---|---|---|---|---|\n");
    for t in TARGETS {
        let values: Vec<f64> = rows
            .iter()
            .filter(|r| {
                t.measures.contains(&r.measure) && (t.sizes.0..=t.sizes.1).contains(&r.size)
            })
            .map(|r| if t.absolute { r.rspar } else { r.ratio() })
            .collect();
        if values.is_empty() {
            let _ = writeln!(md, "| {} | not measured | | | |", t.what);
            continue;
        }
        let worst = if t.higher {
            values.iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            values.iter().copied().fold(0.0, f64::max)
        };
        let meets = |bound: f64| {
            if t.higher {
                worst >= bound
            } else {
                worst <= bound
            }
        };
        let verdict = match (meets(t.must), meets(t.aim)) {
            (_, true) => "aim met",
            (true, false) => "must met",
            (false, _) => "MISSED",
        };
        let (cmp, fmt) = if t.higher { (">=", 2) } else { ("<=", 2) };
        let show = |x: f64| {
            if t.absolute && x > 1000.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.fmt$}")
            }
        };
        let unit = if t.absolute { "" } else { "x" };
        let _ = writeln!(
            md,
            "| {} | {}{unit} | {cmp} {}{unit} | {cmp} {}{unit} | {verdict} |",
            t.what,
            show(worst),
            show(t.must),
            show(t.aim)
        );
    }
    md
}

fn human(size: u64) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1024 && s % 1024 == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn unit(measure: &str) -> &'static str {
    match measure {
        m if m.starts_with("bandwidth") => "MB/s",
        "farm_speedup" => "x",
        "farm_tasks_per_s" => "tasks/s",
        _ => "us",
    }
}

fn write_outputs(
    args: &Args,
    rows: &[Row],
    ceiling: Option<(f64, usize)>,
    rounds: usize,
    launches: usize,
) -> Result<(), String> {
    let mut csv = String::from("measure,size_bytes,rspar,reference,ratio\n");
    let more = if launches > rounds {
        format!("; latency, the collectives and the farm from up to {launches} launches")
    } else {
        String::new()
    };
    let mut md = format!(
        "Medians of {rounds} alternated rounds (rspar and reference side by side in each \
         round{more}).\n\n\
         | measure | size | rspar | reference | ratio |\n|---|---:|---:|---:|---:|\n"
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
            "| {} | {size} | {:.prec$} {u} | {:.prec$} {u} | {:.2} |",
            r.measure,
            r.rspar,
            r.reference,
            r.ratio(),
            u = unit(r.measure)
        );
    }
    md.push_str("\nSpeed targets (worst case over the sizes each covers):\n\n");
    md.push_str(&targets_table(rows));
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
        let path = args.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("summary.csv", &csv)?;
    write("summary.md", &md)?;
    print!("{md}");
    Ok(())
}

/// The pingpong lines drawn, with their colours.
const LINES: &[(&str, RGBColor)] = &[
    ("c", RGBColor(0, 0, 0)),
    ("rsmpi", RGBColor(150, 150, 150)),
    ("buffer-u8", RGBColor(31, 119, 180)),
    ("buffer-f64", RGBColor(23, 190, 207)),
    ("object-u8", RGBColor(214, 39, 40)),
    ("object-f64", RGBColor(255, 127, 14)),
];

fn chart(samples: &Samples, path: &std::path::Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plot: {e}");
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (left, right) = root.split_horizontally(600);
    let all: Vec<(u64, f64)> = LINES
        .iter()
        .flat_map(|(name, _)| series(samples, name, "pingpong"))
        .collect();
    if all.is_empty() {
        return Err("no pingpong rows to plot".into());
    }
    let max_size = all.iter().map(|p| p.0).max().unwrap_or(1) as f64 * 1.5;
    let (lo_us, hi_us) = all
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo_bw, hi_bw) = all
        .iter()
        .map(|&(s, us)| s as f64 / us)
        .fold((f64::MAX, 0.0f64), |(lo, hi), b| (lo.min(b), hi.max(b)));
    for (area, bandwidth) in [(&left, false), (&right, true)] {
        let (title, y_desc, y_range) = if bandwidth {
            (
                "Bandwidth (ping-pong)",
                "MB/s",
                (lo_bw * 0.7)..(hi_bw * 1.5),
            )
        } else {
            (
                "One-way latency (ping-pong)",
                "microseconds",
                (lo_us * 0.7)..(hi_us * 1.5),
            )
        };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((1f64..max_size).log_scale(), y_range.log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("message size (bytes)")
            .y_desc(y_desc)
            .x_label_formatter(&|x| human(*x as u64))
            .draw()
            .map_err(|e| err(&e))?;
        for &(name, colour) in LINES {
            let points: Vec<(f64, f64)> = series(samples, name, "pingpong")
                .into_iter()
                .map(|(s, us)| (s as f64, if bandwidth { s as f64 / us } else { us }))
                .collect();
            if points.is_empty() {
                continue;
            }
            let label = if name == "c" {
                "C MPI".to_string()
            } else {
                name.to_string()
            };
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, colour.filled())),
                )
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

/// What two cores give two independent CPU-bound runs (`fib_parallel` rows: the sum of
/// their speeds relative to one run alone): the median and how many launches.
fn ceiling(samples: &Samples) -> Option<(f64, usize)> {
    let runs = samples.get(&("machine".to_string(), "fib_parallel".to_string(), 0))?;
    (!runs.is_empty()).then(|| (median(runs), runs.len()))
}

fn run(args: &Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.raw)
        .map_err(|e| format!("cannot read {}: {e}", args.raw.display()))?;
    let samples = parse(&text)?;
    // Every benchmark runs once per round; some run more (more launches per round).
    let rounds = samples.values().map(Vec::len).min().unwrap_or(0);
    let launches = samples.values().map(Vec::len).max().unwrap_or(0);
    let rows = rows(&samples);
    if rows.is_empty() {
        return Err(format!(
            "{}: no benchmark rows with a reference",
            args.raw.display()
        ));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    write_outputs(args, &rows, ceiling(&samples), rounds, launches)?;
    chart(&samples, &args.out.join("pingpong.svg"))
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("bench_report: {e}");
        std::process::exit(1);
    }
}
