//! Turns the raw rows of `scripts/bench.sh` into the benchmark summary: rspar against
//! its reference side by side (`summary.csv`, `summary.md`, with the speed targets
//! checked) and a chart of latency and bandwidth by message size (`pingpong.svg`). Not an
//! MPI program; `scripts/bench.sh` runs it on the raw rows of each whole run of the bench:
//!
//!     cargo xtask bench-report target/bench/run1/raw.csv target/bench/run2/raw.csv --out target/bench
//!
//! Input rows: `round,pair,slot,implementation,benchmark,size_bytes,value` (see
//! [`obs::parse`]; the older five-field rows are read too), as the benchmark programs
//! print them (`pingpong` and `collective_timing` in microseconds, `fib_*` and the
//! direct runs in seconds, `tasks_per_s` in tasks per second, `fib_parallel` as a
//! speedup). Every figure is one estimator ([`stats::estimate`]): the median of per-pair
//! ratios, a 95% interval from resampling whole rounds, and each run's own median.

mod chart;
pub(crate) mod cluster;
mod direct;
pub(crate) mod farm;
mod measures;
pub(crate) mod obs;
pub(crate) mod stats;
mod summary;
mod targets;
mod tiny;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Summarise raw benchmark rows into summary.csv, summary.md and pingpong.svg.
#[derive(clap::Args)]
pub struct Args {
    /// The raw rows written by scripts/bench.sh: one file per whole run of the bench
    /// (two or more give the spread between runs).
    #[arg(required = true)]
    pub raw: Vec<PathBuf>,
    /// Directory for the outputs.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
}

/// (implementation, benchmark, size) -> values, one per launch, in launch order.
pub type Samples = BTreeMap<(String, String, u64), Vec<f64>>;

/// The values of each series, whatever their round or pair.
fn samples_of(obs: &[obs::Obs]) -> Samples {
    let mut samples = Samples::new();
    for o in obs {
        samples
            .entry((o.implementation.clone(), o.bench.clone(), o.size))
            .or_default()
            .push(o.value);
    }
    samples
}

/// Rows of one run, by series (for the reports that need no pairs).
fn parse(text: &str) -> Result<Samples, String> {
    Ok(samples_of(&obs::parse(text, 0)?))
}

/// Read `args.raw`, write the summary and the chart into `args.out`, print the summary.
pub fn run(args: &Args) -> Result<(), String> {
    let mut all = Vec::new();
    let mut rounds = Vec::new();
    for (run, path) in args.raw.iter().enumerate() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let obs = obs::parse(&text, run).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut r: Vec<u32> = obs.iter().map(|o| o.round).collect();
        r.sort_unstable();
        r.dedup();
        rounds.push(r.len());
        all.extend(obs);
    }
    let rows = measures::rows(&all);
    if rows.is_empty() {
        return Err(format!(
            "{}: no benchmark rows with a reference",
            args.raw[0].display()
        ));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let provenance = summary::Provenance {
        runs: args.raw.len(),
        rounds,
    };
    let md = summary::write(&args.out, &rows, measures::ceiling(&all), &provenance)?;
    print!("{md}");
    let samples = samples_of(&all);
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
        let text = "1,c,pingpong,8,0.2\n\n1,rspar,fib_n1,0,2.5\n2,1,0,c,pingpong,8,0.25e0\n  \n";
        let samples = parse(text).unwrap();
        let key = |i: &str, b: &str, s| (i.to_string(), b.to_string(), s);
        assert_eq!(samples[&key("c", "pingpong", 8)], [0.2, 0.25]);
        assert_eq!(samples[&key("rspar", "fib_n1", 0)], [2.5]);
        assert_eq!(samples.len(), 2);
    }
}
