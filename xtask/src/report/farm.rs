//! `farm-report`: `scripts/bench-farm.sh`'s lines, the pool's fib 38..33 wall time on 1, 2
//! and 3 ranks (medians over rounds) and the speedups over one rank.

use std::path::PathBuf;

use super::stats::median;
use super::Samples;

/// Summarise bench-farm.sh's rows (round,rspar,fib_nN,0,seconds).
#[derive(clap::Args)]
pub struct Args {
    /// The rows written by scripts/bench-farm.sh.
    pub raw: PathBuf,
}

/// The two lines: medians by rank count, then the speedups of 2 and 3 ranks.
fn lines(samples: &Samples) -> Result<String, String> {
    let runs = |n: usize| {
        samples
            .get(&("rspar".to_string(), format!("fib_n{n}"), 0))
            .filter(|v| !v.is_empty())
            .ok_or(format!("no fib_n{n} rows"))
    };
    let (one, two, three) = (runs(1)?, runs(2)?, runs(3)?);
    let [m1, m2, m3] = [one, two, three].map(|v| median(v));
    Ok(format!(
        "fib 38..33 wall (median of {}): n=1: {m1:.3} s, n=2: {m2:.3} s, n=3: {m3:.3} s\n\
         farm speedup: n=2 {:.2}x, n=3 {:.2}x (physical limit on 2 cores: 2.0x)\n",
        one.len(),
        m1 / m2,
        m1 / m3
    ))
}

/// Read `args.raw` and print the lines.
pub fn run(args: &Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.raw)
        .map_err(|e| format!("cannot read {}: {e}", args.raw.display()))?;
    print!("{}", lines(&super::parse(&text)?)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_speedups_over_one_rank() {
        let rows = "1,rspar,fib_n1,0,0.30\n1,rspar,fib_n2,0,0.16\n1,rspar,fib_n3,0,0.2\n\
                    2,rspar,fib_n1,0,0.20\n2,rspar,fib_n2,0,0.10\n2,rspar,fib_n3,0,0.1\n\
                    3,rspar,fib_n1,0,0.22\n3,rspar,fib_n2,0,0.11\n3,rspar,fib_n3,0,0.12\n";
        let text = lines(&super::super::parse(rows).unwrap()).unwrap();
        assert_eq!(
            text,
            "fib 38..33 wall (median of 3): n=1: 0.220 s, n=2: 0.110 s, n=3: 0.120 s\n\
             farm speedup: n=2 2.00x, n=3 1.83x (physical limit on 2 cores: 2.0x)\n"
        );
        let err = lines(&super::super::parse("1,rspar,fib_n1,0,0.3\n").unwrap()).unwrap_err();
        assert_eq!(err, "no fib_n2 rows");
    }
}
