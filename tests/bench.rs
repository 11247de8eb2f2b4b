//! The benchmark programs: they run, check themselves, and print what `scripts/bench.sh`
//! parses. (Speed itself is measured by `scripts/bench.sh`, never asserted here.)

mod common;

use common::{example, mpirun};
use std::process::Command;

/// `mode,pingpong,size,microseconds` rows of a pingpong run.
fn pingpong_rows(stdout: &str) -> Vec<(String, u64, f64)> {
    stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 4 && f[1] == "pingpong").then(|| {
                (
                    f[0].to_string(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                )
            })
        })
        .collect()
}

#[test]
fn pingpong_every_mode_at_every_size() {
    for n in [2, 3, 5] {
        let args = [
            "--csv",
            "--max-size",
            "65536",
            "--samples",
            "1",
            "--iterations",
            "20",
        ];
        let run = mpirun(n, &example("pingpong"), &args);
        run.assert_success();
        let rows = pingpong_rows(&run.stdout);
        for mode in ["buffer-u8", "object-u8", "rsmpi"] {
            let sizes: Vec<u64> = rows.iter().filter(|r| r.0 == mode).map(|r| r.1).collect();
            assert_eq!(
                sizes,
                [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536],
                "{mode}\n{}",
                run.report()
            );
        }
        for mode in ["buffer-f64", "object-f64"] {
            let count = rows.iter().filter(|r| r.0 == mode).count();
            assert_eq!(count, 7, "{mode}: sizes 16 B .. 64 KiB\n{}", run.report());
        }
        assert_eq!(rows.iter().filter(|r| r.0 == "object-struct").count(), 1);
        assert!(rows.iter().all(|r| r.2 > 0.0), "{}", run.report());
    }
}

/// `--size` runs exactly the sizes given (here one below and one above the 256 bytes
/// Open MPI sends inline), every message still checked.
#[test]
fn pingpong_exact_sizes() {
    let args = [
        "--csv",
        "--mode",
        "rsmpi",
        "--mode",
        "object-u8",
        "--size",
        "3",
        "--size",
        "280",
        "--samples",
        "1",
        "--iterations",
        "10",
    ];
    let run = mpirun(2, &example("pingpong"), &args);
    run.assert_success();
    let rows = pingpong_rows(&run.stdout);
    for mode in ["rsmpi", "object-u8"] {
        let sizes: Vec<u64> = rows.iter().filter(|r| r.0 == mode).map(|r| r.1).collect();
        assert_eq!(sizes, [3, 280], "{mode}\n{}", run.report());
    }
}

#[test]
fn pingpong_table_and_one_rank() {
    let run = mpirun(
        2,
        &example("pingpong"),
        &[
            "--mode",
            "buffer-f64",
            "--max-size",
            "1024",
            "--samples",
            "1",
        ],
    );
    run.assert_success();
    assert!(run.stdout.starts_with("mode "), "{}", run.report());
    assert!(run.stdout.contains("buffer-f64"), "{}", run.report());
    let alone = mpirun(1, &example("pingpong"), &[]);
    assert_eq!(alone.code, Some(2), "{}", alone.report());
    assert!(alone.stderr.contains("needs at least 2 ranks"));
}

#[test]
fn collective_timing_checks_itself_at_every_size() {
    // MPICH's ranks busy-wait without yielding: with more ranks than cores every
    // collective waits for the scheduler (about 4 ms a call on 2 cores, where Open MPI,
    // which yields when oversubscribed, takes 0.1 ms), and the default 2000 calls per
    // sample take minutes. Under MPICH fewer calls, each still checked.
    // With --raw, raw rsmpi calls are timed (and checked) beside rspar's.
    let mut args = vec!["--csv", "--raw", "--samples", "1"];
    if common::flavor() == common::Flavor::Mpich {
        common::note("MPICH: collective_timing runs 20 calls per sample, not 2000");
        args.extend(["--iterations", "20"]);
    }
    for n in common::SIZES {
        let run = mpirun(*n, &example("collective_timing"), &args);
        run.assert_success();
        for (who, what) in [
            ("rspar", "broadcast"),
            ("rspar", "allreduce"),
            ("rsmpi", "broadcast"),
            ("rsmpi", "allreduce"),
        ] {
            for size in [8, 1024, 65536, 1048576] {
                let prefix = format!("{who},{what},{size},");
                assert!(
                    run.stdout.lines().any(|l| l.starts_with(&prefix)),
                    "missing {prefix}\n{}",
                    run.report()
                );
            }
        }
    }
}

/// `scripts/bench.sh ARG` (only arguments it answers before building anything).
fn bench_sh(arg: &str) -> std::process::Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench.sh");
    Command::new("bash").args([script, arg]).output().unwrap()
}

#[test]
fn bench_script_documents_its_flags_and_rejects_unknown_ones() {
    let help = bench_sh("--help");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{text}");
    for flag in ["--quick", "--rounds", "--ranks", "--mpi-args"] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
    assert!(!text.contains("set -euo"), "--help prints code:\n{text}");
    let bad = bench_sh("--fast");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown argument --fast"));
    let missing = bench_sh("--rounds");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--rounds needs a number"));
}
