//! Reading a finished test job: each output line's rank (from the launcher's tags:
//! Open MPI's `[1,r]<stdout>:`, MPICH's `[r] `), the ranks' markers, the verdict, and
//! the report a failing test panics with: the failing rank and its message first, then
//! every rank's output prefixed `[rank r/n]`.

use std::fmt::Write as _;
use std::time::Duration;

use super::driver::Run;
use super::{FAILED_MARK, PASSED_MARK};

/// One line of the job's output.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// The rank that wrote it; `None`: the launcher, or an untagged line.
    pub(crate) rank: Option<usize>,
    /// The text, without the launcher's tag.
    pub(crate) text: &'a str,
}

/// A line of the job's output, owned: Open MPI tags every chunk a rank writes, so a
/// line written in pieces carries its tag several times, and the repeats are removed.
pub(crate) fn parse_owned(line: &str) -> (Option<usize>, String) {
    let parsed = parse_line(line);
    let text = match parsed.rank {
        Some(_) if line.len() > parsed.text.len() && line.contains(">:") => {
            let tag = line[..line.len() - parsed.text.len()].trim_end();
            parsed.text.replace(tag, "")
        }
        _ => parsed.text.to_string(),
    };
    (parsed.rank, text)
}

/// Split a launcher's tag off a line.
pub(crate) fn parse_line(line: &str) -> Line<'_> {
    if let Some(rest) = line.strip_prefix('[') {
        if let Some(close) = rest.find(']') {
            let (tag, after) = (&rest[..close], &rest[close + 1..]);
            // Open MPI: [job,rank]<stdout>:text
            if let Some((_, rank)) = tag.split_once(',') {
                if let Ok(rank) = rank.parse() {
                    for stream in ["<stdout>:", "<stderr>:"] {
                        if let Some(text) = after.strip_prefix(stream) {
                            return Line {
                                rank: Some(rank),
                                text,
                            };
                        }
                    }
                }
            }
            // MPICH: [rank] text
            if let (Ok(rank), Some(text)) = (tag.parse(), after.strip_prefix(' ')) {
                return Line {
                    rank: Some(rank),
                    text,
                };
            }
        }
    }
    Line {
        rank: None,
        text: line,
    }
}

/// libtest's own lines in a rank, left out of reports.
fn noise(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || text == "running 1 test" || text.starts_with(PASSED_MARK)
}

/// The verdict on one job of `n` ranks: `Ok` or the report to panic with.
pub(crate) fn verdict(name: &str, n: usize, timeout: Duration, job: &Run) -> Result<(), String> {
    let owned =
        |text: &str| -> Vec<(Option<usize>, String)> { text.lines().map(parse_owned).collect() };
    let (stdout, stderr) = (owned(&job.stdout), owned(&job.stderr));
    let all = || {
        stdout.iter().chain(&stderr).map(|(rank, text)| Line {
            rank: *rank,
            text: text.as_str(),
        })
    };
    let passed = all().filter(|l| l.text.starts_with(PASSED_MARK)).count();
    let failures: Vec<&str> = all()
        .filter_map(|l| l.text.strip_prefix(FAILED_MARK))
        .map(str::trim)
        .collect();
    if job.success() && passed == n && failures.is_empty() {
        return Ok(());
    }
    let waited = all().find(|l| l.text.starts_with("rspar: watchdog: "));
    let mut report = String::new();
    // The watchdog's line names who waited for what: it leads the report even when the
    // abort that followed outlasted the limit (Open MPI's abort can take a second or two
    // on a loaded machine) and the driver killed the job.
    if let (Some(line), true) = (waited, failures.is_empty()) {
        let _ = writeln!(
            report,
            "rspar::test: {name} on {n} ranks timed out (rspar's watchdog, set below the \
             test's {} s): {}",
            timeout.as_secs(),
            line.text.trim_start_matches("rspar: watchdog: ")
        );
        if job.timed_out {
            let _ = writeln!(
                report,
                "rspar::test: the abort that followed outlasted the limit: the job was killed"
            );
        }
    } else if job.timed_out {
        let _ = writeln!(
            report,
            "rspar::test: {name} on {n} ranks timed out after {} s (the job was killed)",
            timeout.as_secs()
        );
    } else if let Some(first) = failures.first() {
        let _ = writeln!(report, "rspar::test: {name} failed on {n} ranks: {first}");
        for other in &failures[1..] {
            let _ = writeln!(report, "rspar::test: also {other}");
        }
    } else {
        let _ = writeln!(
            report,
            "rspar::test: {name} failed on {n} ranks: the job exited with {} and {passed} of \
             {n} ranks passed",
            match job.code {
                Some(code) => format!("code {code}"),
                None => "a signal".into(),
            }
        );
    }
    let _ = writeln!(
        report,
        "rspar::test: job: {} (exit {:?} after {:.1} s)",
        job.command,
        job.code,
        job.elapsed.as_secs_f64()
    );
    let _ = writeln!(report, "--- output (stdout, then stderr)");
    for line in all().filter(|l| !noise(l.text)) {
        match line.rank {
            Some(rank) => {
                let _ = writeln!(report, "[rank {rank}/{n}] {}", line.text);
            }
            None => {
                let _ = writeln!(report, "[launcher] {}", line.text);
            }
        }
    }
    Err(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_launchers_tags() {
        let line = |rank, text| Line { rank, text };
        assert_eq!(parse_line("[1,2]<stdout>:hello"), line(Some(2), "hello"));
        assert_eq!(parse_line("[1,0]<stderr>: x"), line(Some(0), " x"));
        assert_eq!(parse_line("[3] hello [x]"), line(Some(3), "hello [x]"));
        assert_eq!(parse_line("[warn] no"), line(None, "[warn] no"));
        assert_eq!(parse_line("plain"), line(None, "plain"));
        let pieces = "[1,2]<stderr>: [1,2]<stderr>:1[1,2]<stderr>:: core";
        assert_eq!(parse_owned(pieces), (Some(2), " 1: core".to_string()));
        let mpich = "[1] a [x]";
        assert_eq!(parse_owned(mpich), (Some(1), "a [x]".to_string()));
    }

    fn job(code: Option<i32>, timed_out: bool, stdout: &str, stderr: &str) -> Run {
        Run {
            code,
            timed_out,
            stdout: stdout.into(),
            stderr: stderr.into(),
            elapsed: Duration::from_millis(100),
            command: "mpirun -n 2 t".into(),
        }
    }

    #[test]
    fn passes_only_when_every_rank_passed() {
        let t = Duration::from_secs(5);
        let both =
            format!("[1,0]<stderr>:{PASSED_MARK} rank 0\n[1,1]<stderr>:{PASSED_MARK} rank 1\n");
        assert!(verdict("t", 2, t, &job(Some(0), false, "", &both)).is_ok());
        let one = format!("[1,0]<stderr>:{PASSED_MARK} rank 0\n");
        let report = verdict("t", 2, t, &job(Some(0), false, "", &one)).unwrap_err();
        assert!(report.contains("1 of 2 ranks passed"), "{report}");
    }

    #[test]
    fn names_the_failing_rank_and_prefixes_output() {
        let stderr =
            format!("[1,1]<stderr>:{FAILED_MARK} rank 1 of 2 panicked at a.rs:1:1: boom\n");
        let report = verdict(
            "t",
            2,
            Duration::from_secs(5),
            &job(Some(101), false, "[1,0]<stdout>:hi\n", &stderr),
        )
        .unwrap_err();
        assert!(
            report.starts_with(
                "rspar::test: t failed on 2 ranks: rank 1 of 2 panicked at a.rs:1:1: boom\n"
            ),
            "{report}"
        );
        assert!(report.contains("[rank 0/2] hi\n"), "{report}");
    }

    #[test]
    fn says_when_it_timed_out() {
        let t = Duration::from_secs(5);
        let report = verdict("t", 2, t, &job(None, true, "", "")).unwrap_err();
        assert!(
            report.starts_with("rspar::test: t on 2 ranks timed out after 5 s"),
            "{report}"
        );
        let stderr = "[1,0]<stderr>:rspar: watchdog: rank 0 of 2 has waited 4.0 s in receive\n";
        let report = verdict("t", 2, t, &job(Some(3), false, "", stderr)).unwrap_err();
        assert!(
            report.starts_with("rspar::test: t on 2 ranks timed out (rspar's watchdog, set below the test's 5 s): rank 0"),
            "{report}"
        );
        assert!(
            report.contains("rank 0 of 2 has waited 4.0 s in receive"),
            "{report}"
        );
    }
}
