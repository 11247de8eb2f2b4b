//! `ulfm-report`: the cost of fault tolerance from `scripts/bench-ulfm.sh`'s rows
//! (`round,ft,measure,value`, `ft` on or off): per measure, the median of each side with
//! its 95% bootstrap interval, and the on/off ratio with its interval (the statistics of
//! the benchmark report, `report::stats`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::report::stats::{median, median_interval, ratio_interval};

/// Summarise bench-ulfm.sh's rows: ULFM on against off, per measure.
#[derive(clap::Args)]
pub struct Args {
    /// The rows written by scripts/bench-ulfm.sh (target/bench/ulfm-raw.csv).
    pub raw: PathBuf,
}

/// measure -> (values with ULFM on, values with it off), in launch order.
type Sides = BTreeMap<String, (Vec<f64>, Vec<f64>)>;

fn parse(text: &str) -> Result<(Sides, usize), String> {
    let mut sides = Sides::new();
    let mut count = 0;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line == "round,ft,measure,value" {
            continue;
        }
        let bad = || {
            format!(
                "line {}: expected round,ft,measure,value: {line}",
                number + 1
            )
        };
        let [_, ft, measure, value] = line.split(',').collect::<Vec<_>>()[..] else {
            return Err(bad());
        };
        let value: f64 = value.parse().map_err(|_| bad())?;
        let (on, off) = sides.entry(measure.to_string()).or_default();
        match ft {
            "on" => on.push(value),
            "off" => off.push(value),
            _ => return Err(bad()),
        }
        count += 1;
    }
    Ok((sides, count))
}

/// `x` with 4 significant digits, as Python's `{x:.4g}` (trailing zeros dropped;
/// an exponent below 1e-4 and from 1e4 on).
fn sig4(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let exponent = x.abs().log10().floor() as i32;
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..4).contains(&exponent) {
        let text = format!("{x:.3e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa.to_string()), exp.abs())
    } else {
        trim(format!("{x:.*}", (3 - exponent) as usize))
    }
}

/// The table: one row per measure that both sides ran.
fn table(sides: &Sides) -> String {
    let mut md = String::from(
        "| measure | ULFM on (median, 95% interval) | off | on / off (95% interval) |\n\
         |---|---|---|---|\n",
    );
    for (measure, (on, off)) in sides {
        if on.is_empty() || off.is_empty() {
            continue;
        }
        let side = |v: &[f64]| {
            let (lo, hi) = median_interval(v);
            format!("{} ({}..{})", sig4(median(v)), sig4(lo), sig4(hi))
        };
        let (lo, hi) = ratio_interval(on, off);
        let _ = writeln!(
            md,
            "| {measure} | {} | {} | {:.3} ({lo:.3}..{hi:.3}) |",
            side(on),
            side(off),
            median(on) / median(off)
        );
    }
    md
}

/// Read `args.raw` and print the table.
pub fn run(args: &Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.raw)
        .map_err(|e| format!("cannot read {}: {e}", args.raw.display()))?;
    let (sides, count) = parse(&text)?;
    println!("\n{}", table(&sides));
    println!("{count} measurements in {}", args.raw.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_digits_as_python_prints_them() {
        assert_eq!(sig4(0.371), "0.371");
        assert_eq!(sig4(0.37), "0.37");
        assert_eq!(sig4(12.3456), "12.35");
        assert_eq!(sig4(2.0), "2");
        assert_eq!(sig4(851_000.0), "8.51e+05");
        assert_eq!(sig4(1234.0), "1234");
        assert_eq!(sig4(0.00001234), "1.234e-05");
    }

    #[test]
    fn pairs_the_sides_of_each_measure() {
        let text = "round,ft,measure,value\n1,on,rate,10\n1,off,rate,8\n2,off,rate,12\n\
                    2,on,rate,10\n1,on,lonely,3\n";
        let (sides, count) = parse(text).unwrap();
        assert_eq!(count, 5);
        assert_eq!(sides["rate"], (vec![10.0, 10.0], vec![8.0, 12.0]));
        let md = table(&sides);
        assert!(
            md.contains("| rate | 10 (10..10) | 10 (8..12) | 1.000 ("),
            "{md}"
        );
        // A measure only one side ran has no ratio: no row.
        assert!(!md.contains("lonely"), "{md}");
    }

    #[test]
    fn refuses_bad_rows_naming_the_line() {
        for text in [
            "1,on,rate\n",
            "1,maybe,rate,3\n",
            "round,ft,measure,value\n1,on,rate,x\n",
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with("line "), "{err}");
        }
        assert!(parse("1,maybe,rate,3\n")
            .unwrap_err()
            .starts_with("line 1:"));
        assert!(parse("round,ft,measure,value\n1,on,rate,x\n")
            .unwrap_err()
            .starts_with("line 2:"));
    }
}
