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
//! Each row is one launch; the summary takes the median over launches, and a 95% bootstrap
//! interval of each ratio shows how far that median can be trusted on a noisy machine.

mod chart;
mod direct;
mod stats;
mod summary;

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Parser;

use stats::median;

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

/// (implementation, benchmark, size) -> values, one per launch, in launch order.
pub type Samples = BTreeMap<(String, String, u64), Vec<f64>>;

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
    let rows = summary::rows(&samples);
    if rows.is_empty() {
        return Err(format!(
            "{}: no benchmark rows with a reference",
            args.raw.display()
        ));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let md = summary::write(
        &args.out,
        &samples,
        &rows,
        ceiling(&samples),
        rounds,
        launches,
    )?;
    print!("{md}");
    if !samples.keys().any(|(_, bench, _)| bench == "pingpong") {
        println!("(no ping-pong rows, as with bench.sh --pool: no chart)");
        return Ok(());
    }
    chart::draw(&samples, &args.out.join("pingpong.svg"))
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("bench_report: {e}");
        std::process::exit(1);
    }
}
