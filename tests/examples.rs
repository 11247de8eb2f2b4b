//! The examples, run as a user runs them.

mod common;

use common::{assert_ring_went_round, direct, example, mpirun, TIMEOUT};
use std::process::Command;

#[test]
fn ring_goes_round_at_every_size() {
    for n in [1, 2, 3, 4, 5, 6, 16] {
        let run = mpirun(n, &example("ring"), &[]);
        assert_ring_went_round(&run, n);
    }
}

#[test]
fn ring_laps() {
    let run = mpirun(3, &example("ring"), &["--laps", "4"]);
    run.assert_success();
    assert_eq!(
        run.stdout
            .matches("received message \"P0P1P2\" from rank 2")
            .count(),
        4
    );
}

#[test]
fn hello_from_every_rank() {
    for n in [1, 4] {
        let run = mpirun(n, &example("hello"), &[]);
        run.assert_success();
        for r in 0..n {
            let line = format!("Hello from rank {r} of {n} on ");
            assert!(
                run.stdout.contains(&line),
                "missing '{line}'\n{}",
                run.report()
            );
        }
    }
}

/// Every example, by the name `run-example.sh` takes.
const EXAMPLES: &[&str] = &[
    "collective_timing",
    "collectives",
    "failure",
    "farm_rate",
    "fib",
    "hello",
    "mandelbrot",
    "mpmd",
    "pi",
    "pingpong",
    "pool_tour",
    "ring",
];

#[test]
fn every_example_has_help_that_describes_that_example() {
    let crate_line = env!("CARGO_PKG_DESCRIPTION");
    let mut first_lines = std::collections::HashSet::new();
    for name in EXAMPLES {
        let out = Command::new(example(name)).arg("--help").output().unwrap();
        assert!(out.status.success(), "{name} --help");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Usage"), "{name}:\n{help}");
        // It opens with the example's own description, not the crate's.
        let first = help.lines().next().unwrap_or_default().to_string();
        assert_ne!(
            first, crate_line,
            "{name} --help opens with the crate's description"
        );
        assert!(first_lines.insert(first.clone()), "{name}: {first}");
    }
    let ring = Command::new(example("ring"))
        .arg("--help")
        .output()
        .unwrap();
    let ring = String::from_utf8_lossy(&ring.stdout);
    assert!(
        ring.starts_with("Pass a message round a ring of ranks"),
        "{ring}"
    );
}

#[test]
fn run_example_offers_only_the_examples_it_runs() {
    // An unknown name: the script lists what it offers (and builds nothing).
    let out = Command::new("scripts/run-example.sh")
        .arg("no_such_example")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut offered: Vec<&str> = stderr
        .split_once("there are: ")
        .map(|(_, list)| list.split_whitespace().collect())
        .unwrap_or_default();
    offered.sort_unstable();
    assert_eq!(offered, EXAMPLES, "{stderr}");
}

#[test]
fn without_mpirun_a_program_is_a_world_of_one() {
    let out = Command::new(example("ring"))
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("I am rank 0 of 1 on node "), "{stdout}");
    assert!(stdout
        .lines()
        .any(|l| l == "Processor 0 received message \"P0\" from rank 0"));
}

#[test]
fn pi_agrees_to_1e_10_at_every_size() {
    for n in 1..=8 {
        let run = mpirun(n, &example("pi"), &["--intervals", "10000000"]);
        run.assert_success();
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("pi ~= 3.14159265"))
            .unwrap_or_else(|| panic!("no pi line\n{}", run.report()));
        let value: f64 = line.trim_start_matches("pi ~= ").parse().unwrap();
        assert!(
            (value - std::f64::consts::PI).abs() < 1e-10,
            "{}",
            run.report()
        );
    }
    // The example checks itself: an impossible tolerance makes it fail.
    let run = mpirun(
        2,
        &example("pi"),
        &["--intervals", "10", "--tolerance", "1e-12"],
    );
    assert_eq!(run.code, Some(1), "{}", run.report());
}

#[test]
fn collectives_tour_passes_with_any_root() {
    for n in 1..=5 {
        for root in [0, n - 1] {
            let run = mpirun(n, &example("collectives"), &["--root", &root.to_string()]);
            run.assert_success();
            let last = format!("all collectives ok on {n} ranks");
            assert!(run.stdout.lines().any(|l| l == last), "{}", run.report());
        }
    }
}

#[test]
fn pool_tour_passes_at_every_size_and_run_directly() {
    for n in [1, 2, 3, 5] {
        let run = mpirun(n, &example("pool_tour"), &[]);
        run.assert_success();
        assert_eq!(
            run.stdout.lines().last(),
            Some("all pool checks ok"),
            "{}",
            run.report()
        );
    }
    // Run directly: the pool spawns its workers (Open MPI; tests/spawn.rs has more).
    let run = direct(&example("pool_tour"), &[], &[], TIMEOUT);
    run.assert_success();
    assert_eq!(
        run.stdout.lines().last(),
        Some("all pool checks ok"),
        "{}",
        run.report()
    );
}

#[test]
fn fib_prints_the_seed_answer_at_every_size() {
    for n in 1..=6 {
        let run = mpirun(n, &example("fib"), &["--time"]);
        run.assert_success();
        assert_eq!(
            run.stdout.trim_end(),
            "[39088169, 24157817, 14930352, 9227465, 5702887, 3524578]",
            "{}",
            run.report()
        );
        assert!(run.stderr.contains("elapsed: "), "{}", run.report());
    }
    let run = mpirun(3, &example("fib"), &["20", "10", "1"]);
    run.assert_success();
    assert_eq!(run.stdout.trim_end(), "[6765, 55, 1]");
    // Run directly (no launcher): the same answer, the workers spawned at run time.
    let run = direct(&example("fib"), &["--time", "25", "20"], &[], TIMEOUT);
    run.assert_success();
    assert_eq!(run.stdout.trim_end(), "[75025, 6765]", "{}", run.report());
    // --workers N uses at most N ranks.
    let run = mpirun(
        3,
        &example("fib"),
        &["--time", "--workers", "2", "20", "10"],
    );
    run.assert_success();
    assert_eq!(run.stdout.trim_end(), "[6765, 55]", "{}", run.report());
    assert!(run.stderr.contains("s on 2 ranks"), "{}", run.report());
    // --repeat runs the map again and times the median run; the answer prints once.
    let run = mpirun(2, &example("fib"), &["--time", "--repeat", "3", "20", "10"]);
    run.assert_success();
    assert_eq!(run.stdout.trim_end(), "[6765, 55]", "{}", run.report());
    assert!(
        run.stderr.contains("s on 2 ranks (median of 3 runs)"),
        "{}",
        run.report()
    );
}

#[test]
fn mandelbrot_checksum_is_the_same_at_every_size_and_schedule() {
    let dir = std::env::temp_dir().join(format!("rspar-mandel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut sums = Vec::new();
    for n in 1..=5 {
        for schedule in ["dynamic", "static"] {
            let png = dir.join(format!("m{n}{schedule}.png"));
            let args = [
                "--width",
                "120",
                "--height",
                "90",
                "--max-iter",
                "200",
                "--schedule",
                schedule,
                "--output",
                png.to_str().unwrap(),
            ];
            let run = mpirun(n, &example("mandelbrot"), &args);
            run.assert_success();
            let sum = run
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix("checksum: "))
                .unwrap_or_else(|| panic!("no checksum\n{}", run.report()))
                .to_string();
            let bytes = std::fs::read(&png).unwrap();
            assert_eq!(&bytes[1..4], b"PNG");
            sums.push(sum);
        }
    }
    assert!(sums.windows(2).all(|w| w[0] == w[1]), "{sums:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn farm_rate_measures_and_checks_itself() {
    let run = mpirun(
        2,
        &example("farm_rate"),
        &["--tasks", "20000", "--rounds", "3", "--csv"],
    );
    run.assert_success();
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("farm_tasks_per_s,"))
        .unwrap_or_else(|| panic!("{}", run.report()));
    let rates: Vec<f64> = line
        .split(',')
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(rates.len() == 2 && rates.iter().all(|&r| r > 0.0), "{line}");
}
