//! Pools run directly, without a launcher: the root spawns its workers at run time
//! (Open MPI), or says in one line that it cannot and computes alone (MPICH's ucx
//! device). Every run has a time limit (`common::direct`).

mod common;

use common::{direct, example, flavor, spmd_direct, Flavor, TIMEOUT};
use rspar::{ErrorKind, Pool};

const SEED: &str = "[39088169, 24157817, 14930352, 9227465, 5702887, 3524578]";
/// The start of the one line a pool says when this MPI cannot spawn.
const CANNOT: &str = "rspar: the pool runs on 1 process(es): cannot spawn pool workers: ";

/// Whether this MPI spawns here (Open MPI 4.1 does; Debian's MPICH 4.0 with ucx not).
fn spawns() -> bool {
    flavor() == Flavor::OpenMpi
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Under MPICH: exactly one line says the pool cannot spawn, and it names why.
fn assert_one_clear_line(run: &common::Run) {
    let lines: Vec<_> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("rspar:"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", run.report());
    assert!(lines[0].starts_with(CANNOT), "{}", run.report());
}

#[test]
fn fib_run_directly_computes_on_one_process_per_core() {
    let run = direct(&example("fib"), &["--time"], &[], TIMEOUT);
    run.assert_success();
    assert_eq!(run.stdout.trim_end(), SEED, "{}", run.report());
    if spawns() {
        let ranks = format!("s on {} ranks", cores());
        assert!(run.stderr.contains(&ranks), "{}", run.report());
        assert!(!run.stderr.contains("rspar:"), "{}", run.report());
    } else {
        assert_one_clear_line(&run);
        assert!(run.stderr.contains("s on 1 ranks"), "{}", run.report());
    }
}

#[test]
fn fib_workers_sets_how_many_processes_compute_run_directly() {
    let run = direct(
        &example("fib"),
        &["--time", "--workers", "1", "25", "20"],
        &[],
        TIMEOUT,
    );
    run.assert_success();
    assert_eq!(run.stdout.trim_end(), "[75025, 6765]", "{}", run.report());
    assert!(run.stderr.contains("s on 1 ranks"), "{}", run.report());
    assert!(!run.stderr.contains("rspar:"), "{}", run.report());
    let run = direct(
        &example("fib"),
        &["--time", "--workers", "3", "25", "20", "15"],
        &[],
        TIMEOUT,
    );
    run.assert_success();
    assert_eq!(
        run.stdout.trim_end(),
        "[75025, 6765, 610]",
        "{}",
        run.report()
    );
    if spawns() {
        assert!(run.stderr.contains("s on 3 ranks"), "{}", run.report());
    } else {
        assert_one_clear_line(&run);
        assert!(run.stderr.contains("s on 1 ranks"), "{}", run.report());
    }
}

#[test]
fn pool_tour_run_directly_grows_and_shrinks() {
    let run = direct(&example("pool_tour"), &[], &[], TIMEOUT);
    run.assert_success();
    assert_eq!(
        run.stdout.lines().last(),
        Some("all pool checks ok"),
        "{}",
        run.report()
    );
    if spawns() {
        for step in [
            "ok: shrink by one worker",
            "ok: grow by one spawned worker",
            "ok: resize back",
        ] {
            assert!(run.stdout.contains(step), "{step}\n{}", run.report());
        }
    } else {
        assert!(
            run.stdout.contains("ok: this MPI cannot grow a pool"),
            "{}",
            run.report()
        );
        assert_one_clear_line(&run);
    }
}

/// Where a task ran: the world rank and size its process sees.
fn whereabouts(world: &rspar::Communicator) -> (usize, usize) {
    (world.rank(), world.size())
}

#[test]
fn spawned_workers_see_the_parent_as_rank_0_and_serve_pool_after_pool() {
    spmd_direct(
        "spawned_workers_see_the_parent_as_rank_0_and_serve_pool_after_pool",
        |world| {
            let here = whereabouts(world);
            // Pool 0: three processes (two spawned); then one more grown into it.
            if let Some(pool) = Pool::builder(world).ranks(3).build(|x: u64| (x, here))? {
                if !spawns() {
                    assert_eq!(pool.ranks(), 1);
                    assert!(matches!(
                        pool.grow(1).map_err(|e| e.kind().clone()),
                        Err(ErrorKind::Spawn { .. })
                    ));
                    assert_eq!(pool.map(0..20u64)?.len(), 20);
                    return Ok(());
                }
                assert_eq!(pool.ranks(), 3);
                let seen = pool.map((0..200u64).map(|x| x % 7))?;
                for (i, (x, (rank, size))) in seen.iter().enumerate() {
                    assert_eq!(*x, i as u64 % 7);
                    // The root is rank 0 of its own world of one; a child is rank 1 or 2
                    // of its spawn's world (the parent first).
                    assert!((*rank, *size) == (0, 1) || (*size == 3 && (1..3).contains(rank)));
                }
                pool.grow(1)?;
                assert_eq!(pool.ranks(), 4);
                let seen = pool.map(vec![1u64; 400])?;
                assert!(
                    seen.iter().any(|(_, w)| *w == (1, 2)),
                    "the grown child (rank 1 of 2) ran nothing"
                );
                // Every worker took tasks (the root too, unless 4 processes on fewer
                // cores made it only dispatch).
                let counts = pool.tasks_per_rank();
                assert!(counts[1..].iter().all(|&n| n > 0), "{counts:?}");
                assert_eq!(counts[0] > 0, pool.root_computes(), "{counts:?}");
            }
            // Pool 1: the same children serve again (no spawn), another function.
            if let Some(pool) = Pool::builder(world).ranks(4).build(|s: String| s.len())? {
                if !spawns() {
                    return Ok(());
                }
                assert_eq!(pool.ranks(), 4);
                assert_eq!(pool.map(["a", "bb", "ccc"].map(String::from))?, [1, 2, 3]);
                // Release two: they serve no later pool.
                let tasks: Vec<_> = (0..8).map(|i| pool.submit("x".repeat(i))).collect();
                pool.shrink(2)?;
                assert_eq!(pool.ranks(), 2);
                for (i, task) in tasks.into_iter().enumerate() {
                    assert_eq!(task.wait()?, i);
                }
                let shrunk = pool.tasks_per_rank();
                assert_eq!(pool.map(vec![String::new(); 300])?.len(), 300);
                let after = pool.tasks_per_rank();
                assert_eq!(&after[2..], &shrunk[2..], "released workers ran tasks");
            }
            // Pool 2: one child left, as many processes as asked for.
            if let Some(pool) = Pool::new(world, |x: i32| -x)? {
                if !spawns() {
                    return Ok(());
                }
                assert_eq!(pool.ranks(), 2);
                // Two processes: on two cores or more the root computes too.
                assert_eq!(pool.root_computes(), cores() >= 2);
                assert!(matches!(
                    pool.shrink(2).map_err(|e| e.kind().clone()),
                    Err(ErrorKind::PoolSize { .. })
                ));
                assert_eq!(pool.map([1, 2, 3])?, [-1, -2, -3]);
            }
            Ok(())
        },
    );
}

#[test]
fn a_spawned_worker_that_panics_ends_the_job() {
    const NAME: &str = "a_spawned_worker_that_panics_ends_the_job";
    if common::in_rank(NAME) {
        let world = rspar::init().expect("init");
        if world.rank() > 0 {
            panic!("a spawned worker fails on purpose");
        }
        // The root waits in the pool's constructor for a worker that is gone.
        let pool = Pool::builder(&world)
            .ranks(2)
            .build(|x: u32| x)
            .expect("pool");
        if let Some(pool) = pool {
            let _ = pool.map(0..10u32);
        }
        return;
    }
    let run = common::launch_self_direct(NAME, &[]);
    if !spawns() {
        // Nothing spawned: the root alone finishes.
        assert!(run.success(), "{}", run.report());
        return;
    }
    assert!(!run.timed_out && !run.success(), "{}", run.report());
    // The job run directly ends with the worker's code, as a launched job would.
    assert_eq!(run.code, Some(rspar::PANIC_EXIT_CODE), "{}", run.report());
    assert!(
        run.stderr.contains("a spawned worker fails on purpose"),
        "{}",
        run.report()
    );
}

#[test]
fn a_spawned_worker_killed_ends_the_job_or_is_survived_under_ulfm() {
    const NAME: &str = "a_spawned_worker_killed_ends_the_job_or_is_survived_under_ulfm";
    if common::in_rank(NAME) {
        let world = rspar::init().expect("init");
        let worker = world.rank() > 0;
        let pool = Pool::builder(&world)
            .ranks(3)
            .chunk(1)
            .build(move |x: u64| {
                if worker && x == 5 {
                    // Dies as a crash would: no unwinding, no rspar hook, no MPI call.
                    let me = std::process::id().to_string();
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &me])
                        .status();
                    std::thread::sleep(std::time::Duration::from_secs(30));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                x * x
            })
            .expect("pool");
        if let Some(pool) = pool {
            let squares = pool.map(0..40u64).expect("map");
            let want: Vec<u64> = (0..40u64).map(|x| x * x).collect();
            assert_eq!(squares, want);
            println!("all 40 results");
        }
        return;
    }
    // Under ULFM (Open MPI 5) the spawned workers need fault tolerance in their
    // environment (no mpirun passes --with-ft); elsewhere the variables mean nothing.
    let env = [
        ("OMPI_MCA_mpi_ft_enable", "1"),
        ("PRTE_MCA_state_base_recoverable", "1"),
    ];
    let run = common::launch_self_direct(NAME, &env);
    assert!(!run.timed_out, "the job hung: {}", run.report());
    if !spawns() {
        // Nothing spawned: the root computes every task itself.
        assert!(run.success(), "{}", run.report());
        return;
    }
    let ulfm =
        rspar::__private::test::Launcher::get().is_ok_and(|l| l.flags.contains(&"--with-ft"));
    if ulfm {
        assert!(run.success(), "{}", run.report());
        assert!(run.stdout.contains("all 40 results"), "{}", run.report());
        assert!(
            run.stderr
                .contains("rspar: pool: lost worker spawned worker"),
            "{}",
            run.report()
        );
    } else {
        assert!(!run.success(), "{}", run.report());
        assert!(
            run.stderr.contains("rspar: pool: a spawned worker (pid"),
            "{}",
            run.report()
        );
    }
}

#[test]
fn the_watchdog_in_a_spawned_worker_ends_the_job_run_directly_with_exit_code_3() {
    const NAME: &str =
        "the_watchdog_in_a_spawned_worker_ends_the_job_run_directly_with_exit_code_3";
    if common::in_rank(NAME) {
        let world = rspar::init().expect("init");
        let pool = Pool::builder(&world)
            .ranks(2)
            .build(|x: u64| x)
            .expect("pool");
        if let Some(pool) = pool {
            assert_eq!(pool.map(0..4u64).expect("map"), [0, 1, 2, 3]);
            if pool.ranks() > 1 {
                // The root works outside any rspar call (nothing of its own is watched)
                // while its worker waits for work, watched, past RSPAR_TIMEOUT.
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        }
        return;
    }
    let run = common::launch_self_direct(NAME, &[("RSPAR_TIMEOUT", "2")]);
    assert!(!run.timed_out, "{}", run.report());
    if !spawns() {
        run.assert_success();
        return;
    }
    assert_eq!(run.code, Some(rspar::TIMEOUT_EXIT_CODE), "{}", run.report());
    assert!(
        run.stderr
            .contains("rspar: watchdog: rank 1 of 2 has waited")
            && run.stderr.contains("in pool (worker waiting for work)"),
        "{}",
        run.report()
    );
}
