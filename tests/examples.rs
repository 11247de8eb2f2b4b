//! The examples, run as a user runs them.

mod common;

use common::{example, mpirun};
use std::process::Command;

#[test]
fn ring_goes_round_at_every_size() {
    for n in [1, 2, 3, 4, 5, 6, 16] {
        let run = mpirun(n, &example("ring"), &[]);
        run.assert_success();
        for r in 0..n {
            let line = format!("I am rank {r} of {n} on node ");
            assert!(
                run.stdout.contains(&line),
                "missing '{line}'\n{}",
                run.report()
            );
        }
        let message: String = (0..n).map(|r| format!("P{r}")).collect();
        let last = format!(
            "Processor 0 received message \"{message}\" from rank {}",
            n - 1
        );
        assert!(
            run.stdout.lines().any(|l| l == last),
            "missing '{last}'\n{}",
            run.report()
        );
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

#[test]
fn examples_have_help() {
    for name in ["ring", "hello"] {
        let out = Command::new(example(name)).arg("--help").output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
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
