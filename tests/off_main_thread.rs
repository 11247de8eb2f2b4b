//! Issue 35 item 6: the calls any thread may make while MPI runs `Threading::Single`.
//! `rspar::wtime()` is one monotonic clock before `init`, while MPI is up (on the main
//! thread, another thread, a pool task on the root's compute thread) and after
//! finalization, and calls no MPI; `rspar::abort(code)` from a thread other than the
//! one that called `init` ends the job with `code` while the main thread waits inside
//! MPI (its one MPI call there is `MPI_Abort`; its line names the rank noted at `init`).
//! Under mpirun at 1..4 ranks, each job with a time limit (a hang fails).

mod common;

use std::time::{Duration, Instant};

use common::{in_rank, launch_self_within, spmd_process};

#[test]
fn wtime_is_one_clock_on_every_thread_and_across_init() {
    spmd_process(
        "wtime_is_one_clock_on_every_thread_and_across_init",
        &[1, 2, 3, 4],
        || {
            let start = Instant::now();
            let before = rspar::wtime();
            let world = rspar::init().expect("init");
            let up = rspar::wtime();
            // One clock: no jump at init, either way.
            assert!(up >= before, "wtime went back at init: {before} then {up}");
            let slack = 0.05;
            assert!(
                up - before <= start.elapsed().as_secs_f64() + slack,
                "wtime jumped at init: {before} then {up} after {:?}",
                start.elapsed()
            );
            // Another thread, while the main thread is inside MPI (a barrier).
            let other = std::thread::scope(|scope| {
                let clock = scope.spawn(|| {
                    let mut last = rspar::wtime();
                    for _ in 0..1000 {
                        let now = rspar::wtime();
                        assert!(now >= last);
                        last = now;
                    }
                    last
                });
                world.barrier().expect("barrier");
                clock.join().expect("the clock thread")
            });
            assert!(other >= up, "{other} < {up}");
            // A pool task on the root's compute thread (its first batch runs there);
            // other ranks' clocks have epochs of their own.
            let rank = world.rank();
            if let Some(pool) = rspar::Pool::builder(&world)
                .root_computes(true)
                .chunk(1)
                .build(|_: u32| {
                    std::thread::sleep(Duration::from_millis(5));
                    (rank, rspar::wtime())
                })
                .expect("pool")
            {
                let times = pool.map(0..8u32).expect("map");
                let after = rspar::wtime();
                let here: Vec<f64> = times.iter().filter(|t| t.0 == 0).map(|t| t.1).collect();
                assert!(!here.is_empty(), "{times:?}");
                assert!(here.iter().all(|&t| t >= other && t <= after), "{times:?}");
                pool.close().expect("close");
            }
            world.finalize().expect("finalize");
            let down = rspar::wtime();
            assert!(
                down >= other,
                "wtime went back at finalize: {other} then {down}"
            );
        },
    );
}

/// The job: rank `size - 1` calls `abort(7)` from a thread of its own while its main
/// thread, like every other rank's, waits in a receive that never comes.
fn abort_from_a_thread() {
    let world = rspar::init().expect("init");
    let (rank, size) = (world.rank(), world.size());
    if rank == size - 1 {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            rspar::abort(7);
        });
    }
    let never: rspar::Result<u64> = world.receive(rspar::Any);
    panic!("a receive that never comes returned {never:?}");
}

#[test]
fn abort_from_another_thread_ends_the_job_with_its_code() {
    const NAME: &str = "abort_from_another_thread_ends_the_job_with_its_code";
    if in_rank(NAME) {
        abort_from_a_thread();
        return;
    }
    let ulfm = common::fault_tolerant_launch();
    for n in 1..=4 {
        let run = launch_self_within(NAME, n, &[], Duration::from_secs(60));
        let context = format!("N={n} ({:?})\n{}", common::flavor(), run.report());
        assert!(!run.timed_out, "the job hung: {context}");
        // Under ULFM the launcher ends the job, with its own code (docs/ulfm.md).
        let code = if ulfm { 1 } else { 7 };
        assert_eq!(run.code, Some(code), "{context}");
        let line = format!("rspar: rank {} of {n} called abort(7)", n - 1);
        assert!(
            run.stderr.contains(&line),
            "stderr lacks '{line}': {context}"
        );
    }
}
