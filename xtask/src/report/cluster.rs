//! `cluster-report`: `scripts/bench-cluster.sh`'s table, ping-pong across simulated hosts:
//! per message size, C's one-way latency and bandwidth, then each rspar mode's and its
//! time over C's (medians over rounds).

use std::fmt::Write as _;
use std::path::PathBuf;

use super::summary::{human, series};
use super::Samples;

/// Summarise bench-cluster.sh's ping-pong rows into a markdown table.
#[derive(clap::Args)]
pub struct Args {
    /// The rows written by scripts/bench-cluster.sh (round,implementation,pingpong,size,us).
    pub raw: PathBuf,
    /// Where the table goes too (summary.md).
    #[arg(long, default_value = "target/bench/cluster")]
    pub out: PathBuf,
}

/// The rspar modes' columns, in this order when present.
const MODES: &[&str] = &[
    "rsmpi",
    "buffer-u8",
    "buffer-f64",
    "object-u8",
    "object-f64",
];

/// The table: a row per size any implementation ran, `-` where one did not.
fn table(samples: &Samples) -> String {
    let c = series(samples, "c", "pingpong");
    let modes: Vec<(&str, _)> = MODES
        .iter()
        .map(|&m| (m, series(samples, m, "pingpong")))
        .filter(|(_, s)| !s.is_empty())
        .collect();
    let mut md = String::from("| size | C us | C MB/s |");
    let mut rule = String::from("|---:|---:|---:|");
    for (mode, _) in &modes {
        let _ = write!(md, " {mode} us | MB/s | x C |");
        rule.push_str("---:|---:|---:|");
    }
    let _ = write!(md, "\n{rule}\n");
    let mut sizes: Vec<u64> = c.keys().copied().collect();
    sizes.extend(modes.iter().flat_map(|(_, s)| s.keys().copied()));
    sizes.sort_unstable();
    sizes.dedup();
    for size in sizes {
        let bytes = size as f64;
        let theirs = c.get(&size);
        let c_cells = theirs.map_or("- | -".into(), |us| format!("{us:.1} | {:.1}", bytes / us));
        let _ = write!(md, "| {} | {c_cells} |", human(size));
        for (_, series) in &modes {
            let cells = series.get(&size).map_or("- | - | -".into(), |us| {
                let ratio = theirs.map_or("-".into(), |c| format!("{:.2}", us / c));
                format!("{us:.1} | {:.1} | {ratio}", bytes / us)
            });
            let _ = write!(md, " {cells} |");
        }
        md.push('\n');
    }
    md
}

/// Read `args.raw`, write `summary.md` into `args.out` and print it.
pub fn run(args: &Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.raw)
        .map_err(|e| format!("cannot read {}: {e}", args.raw.display()))?;
    let samples = super::parse(&text)?;
    if series(&samples, "c", "pingpong").is_empty()
        && !MODES
            .iter()
            .any(|m| !series(&samples, m, "pingpong").is_empty())
    {
        return Err(format!("{}: no ping-pong rows", args.raw.display()));
    }
    let md = table(&samples);
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let path = args.out.join("summary.md");
    std::fs::write(&path, &md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    print!("{md}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_by_size_with_bandwidth_and_the_ratio_to_c() {
        let rows = "1,c,pingpong,1,10\n2,c,pingpong,1,30\n3,c,pingpong,1,20\n\
                    1,buffer-u8,pingpong,1,22\n2,buffer-u8,pingpong,1,24\n\
                    1,c,pingpong,1048576,1000\n1,buffer-u8,pingpong,1048576,1000\n\
                    1,object-f64,pingpong,1048576,2000\n";
        let md = table(&super::super::parse(rows).unwrap());
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[0],
            "| size | C us | C MB/s | buffer-u8 us | MB/s | x C | object-f64 us | MB/s | x C |"
        );
        assert_eq!(lines[1], "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        assert_eq!(
            lines[2],
            "| 1 B | 20.0 | 0.1 | 23.0 | 0.0 | 1.15 | - | - | - |"
        );
        assert_eq!(
            lines[3],
            "| 1 MiB | 1000.0 | 1048.6 | 1000.0 | 1048.6 | 1.00 | 2000.0 | 524.3 | 2.00 |"
        );
        assert_eq!(lines.len(), 4);
    }
}
