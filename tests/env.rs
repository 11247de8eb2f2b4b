//! The environment: init, finalize, time, names, barrier, abort, and what happens when a
//! rank fails (panic, error returned from main, abort): the job ends, never hangs.

mod common;

use std::time::Duration;

use common::{in_rank, launch_self, spmd_process, SIZES};
use rspar::ErrorKind;

#[test]
fn init_once_finalize_and_basics() {
    spmd_process("init_once_finalize_and_basics", SIZES, || {
        assert!(!rspar::initialized());
        let world = rspar::init().expect("init");
        assert!(rspar::initialized());
        let again = rspar::init().unwrap_err();
        assert_eq!(again.kind(), &ErrorKind::AlreadyInitialized);
        drop(again);
        assert!(world.rank() < world.size());
        assert!(!world.processor_name().is_empty());
        let t0 = rspar::wtime();
        world.barrier().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let dt = rspar::wtime() - t0;
        assert!((0.015..5.0).contains(&dt), "wtime advanced by {dt}");
        world.finalize().expect("finalize");
        assert!(!rspar::initialized());
        assert_eq!(rspar::init().unwrap_err().kind(), &ErrorKind::Finalized);
    });
}

/// Runs the failing rank bodies below at several sizes and checks how the job ended.
fn expect_job_failure(name: &str, expected_code: i32, what: &str) {
    for n in [2, 3, 5] {
        for bad in [0, n / 2, n - 1] {
            let bad_rank = bad.to_string();
            let run = launch_self(name, n, &[("RSPAR_BAD_RANK", &bad_rank)]);
            assert!(!run.timed_out, "job hung\n{}", run.report());
            assert_eq!(run.code, Some(expected_code), "{}", run.report());
            let named = format!("rspar: rank {bad} of {n} {what}");
            assert!(
                run.stderr.contains(&named),
                "stderr lacks '{named}'\n{}",
                run.report()
            );
            assert!(run.elapsed < Duration::from_secs(20), "{}", run.report());
        }
    }
}

fn bad_rank() -> usize {
    std::env::var("RSPAR_BAD_RANK").unwrap().parse().unwrap()
}

#[test]
fn a_panicking_rank_ends_the_job() {
    let name = "a_panicking_rank_ends_the_job";
    if in_rank(name) {
        let world = rspar::init().unwrap();
        if world.rank() == bad_rank() {
            panic!("deliberate failure");
        }
        // Everyone else waits for a message that never comes.
        let _: String = world.receive(rspar::Any).unwrap();
        return;
    }
    expect_job_failure(name, rspar::PANIC_EXIT_CODE, "panicked");
}

#[test]
fn an_error_returned_from_main_ends_the_job() {
    let name = "an_error_returned_from_main_ends_the_job";
    if in_rank(name) {
        fn main_like() -> rspar::Result<()> {
            let world = rspar::init()?;
            if world.rank() == bad_rank() {
                // A program bug: receiving the wrong type from itself.
                world.send(&1u8, world.rank())?;
                let _: String = world.receive(world.rank())?;
            }
            world.barrier()?;
            let _: String = world.receive(rspar::Any)?;
            Ok(())
        }
        main_like().unwrap();
        return;
    }
    expect_job_failure(
        name,
        rspar::ERROR_EXIT_CODE,
        "is ending with an unhandled error",
    );
}

#[test]
fn abort_exits_with_its_code() {
    let name = "abort_exits_with_its_code";
    if in_rank(name) {
        let world = rspar::init().unwrap();
        if world.rank() == world.size() - 1 {
            eprintln!("rspar: rank {} of {} aborts", world.rank(), world.size());
            world.abort(7);
        }
        let _: String = world.receive(rspar::Any).unwrap();
        return;
    }
    for n in [1, 2, 4] {
        let run = launch_self(name, n, &[]);
        assert_eq!(run.code, Some(7), "{}", run.report());
    }
}

#[test]
fn the_panic_hook_can_be_turned_off() {
    let name = "the_panic_hook_can_be_turned_off";
    if in_rank(name) {
        let _world = rspar::Init::new().abort_on_panic(false).init().unwrap();
        panic!("plain panic");
    }
    let run = launch_self(name, 1, &[]);
    assert!(!run.success(), "{}", run.report());
    assert!(run.stderr.contains("plain panic"), "{}", run.report());
    assert!(
        !run.stderr.contains("rspar: rank 0 of 1 panicked"),
        "{}",
        run.report()
    );
}
