//! Turns the raw rows of `scripts/bench.sh` into the benchmark summary: medians over
//! rounds, rspar against its reference side by side (`summary.csv`, `summary.md`, with the
//! speed targets checked) and a chart of latency and bandwidth by message size
//! (`pingpong.svg`). Not an MPI program; `scripts/bench.sh` runs it:
//!
//!     cargo xtask bench-report target/bench/raw.csv --out target/bench
//!
//! Input rows: `round,implementation,benchmark,size_bytes,value`, as the benchmark
//! programs print them (`pingpong` and `collective_timing` in microseconds, `fib_n1` and
//! `fib_n3` in seconds, `tasks_per_s` in tasks per second, `fib_parallel` as a speedup).
//! Each row is one launch; the summary takes the median over launches, and a 95% bootstrap
//! interval of each ratio shows how far that median can be trusted on a noisy machine.

mod chart;
pub(crate) mod cluster;
mod direct;
pub(crate) mod farm;
pub(crate) mod stats;
mod summary;
mod targets;

use std::collections::BTreeMap;
use std::path::PathBuf;

use stats::median;

/// Summarise raw benchmark rows into summary.csv, summary.md and pingpong.svg.
#[derive(clap::Args)]
pub struct Args {
    /// The raw rows written by scripts/bench.sh.
    pub raw: PathBuf,
    /// Directory for the outputs.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
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

/// Read `args.raw`, write the summary and the chart into `args.out`, print the summary.
pub fn run(args: &Args) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_by_implementation_benchmark_and_size() {
        let text = "1,c,pingpong,8,0.2\n\n1,rspar,fib_n1,0,2.5\n2,c,pingpong,8,0.25e0\n  \n";
        let samples = parse(text).unwrap();
        let key = |i: &str, b: &str, s| (i.to_string(), b.to_string(), s);
        assert_eq!(samples[&key("c", "pingpong", 8)], [0.2, 0.25]);
        assert_eq!(samples[&key("rspar", "fib_n1", 0)], [2.5]);
        assert_eq!(samples.len(), 2);
    }

    #[test]
    fn refuses_a_bad_row_naming_its_line() {
        for (text, line) in [
            ("1,c,pingpong,eight,0.2\n", "line 1:"),
            ("1,c,pingpong,8,0.2\n1,c,pingpong,8\n", "line 2:"),
            ("1,c,pingpong,8,fast\n", "line 1:"),
            ("1,c,pingpong,8,0.2,9\n", "line 1:"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(line), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_machine_ceiling_is_the_median_of_its_launches() {
        let samples = parse("1,machine,fib_parallel,0,1.6\n2,machine,fib_parallel,0,1.9\n3,machine,fib_parallel,0,1.5\n").unwrap();
        assert_eq!(ceiling(&samples), Some((1.6, 3)));
        assert_eq!(ceiling(&Samples::new()), None);
    }
}
