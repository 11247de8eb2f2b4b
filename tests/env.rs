//! The environment: init, finalize, time, names, barrier, abort, the panic hook. (A rank
//! that fails while others wait is `tests/abort.rs`.)

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

#[test]
fn abort_exits_with_its_code() {
    let name = "abort_exits_with_its_code";
    if in_rank(name) {
        let world = rspar::init().unwrap();
        if world.rank() == world.size() - 1 {
            world.abort(7);
        }
        let _: String = world.receive(rspar::Any).unwrap();
        return;
    }
    for n in [1, 2, 4] {
        let run = launch_self(name, n, &[]);
        assert_eq!(run.code, Some(7), "{}", run.report());
        let said = format!("rspar: rank {} of {n} called abort(7)", n - 1);
        assert!(run.stderr.contains(&said), "{}", run.report());
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
