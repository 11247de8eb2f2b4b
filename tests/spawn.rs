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

/// Issue 37 item 3: a task that runs a short external command (`sh -c 'sleep 1 &'`: the
/// command leaves a subprocess behind, which inherits the worker's environment) while
/// the pool grows. The root watches its spawned workers only (by the process ids they
/// told it), so the subprocess ending is no worker dying.
#[test]
fn a_task_s_subprocess_is_no_worker_when_the_pool_grows() {
    const NAME: &str = "a_task_s_subprocess_is_no_worker_when_the_pool_grows";
    let run = spmd_direct(NAME, |world| {
        let task = |(command, ms): (bool, u64)| {
            if command {
                let status = std::process::Command::new("sh")
                    .args(["-c", "sleep 1 &"])
                    .status()
                    .map_err(|e| e.to_string())?;
                if !status.success() {
                    return Err(format!("sh: {status}"));
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(ms)
        };
        if let Some(pool) = Pool::builder(world).ranks(2).chunk(1).try_build(task)? {
            let inputs = vec![(true, 50u64); 8];
            assert_eq!(pool.map(inputs)?, vec![50; 8]);
            if spawns() {
                assert!(pool.tasks_per_rank()[1] > 0, "the worker ran no command");
                pool.grow(1)?;
            }
            // Long enough for the watch to look many times after the subprocesses end.
            let results = pool.map(vec![(false, 100u64); 40])?;
            assert_eq!(results, vec![100; 40]);
            println!("subprocesses: {} processes, every result", pool.ranks());
        }
        Ok(())
    });
    if let Some(run) = run {
        assert!(!run.stderr.contains("died"), "{}", run.report());
        let want = if spawns() {
            "3 processes"
        } else {
            "1 processes"
        };
        assert!(run.stdout.contains(want), "{}", run.report());
    }
}

/// Issue 37 item 4: a program with `Init::interop(true)`, run directly, whose pool
/// spawns: parent and children make the same communicators (it hung in two different
/// collectives).
#[test]
fn an_interop_program_run_directly_spawns_its_pool() {
    const NAME: &str = "an_interop_program_run_directly_spawns_its_pool";
    if common::in_rank(NAME) {
        let world = rspar::Init::new().interop(true).init().expect("init");
        assert!(world.is_interop());
        let pool = Pool::builder(&world).ranks(3).build(|x: u64| x * 2);
        if let Some(pool) = pool.expect("pool") {
            let got = pool.map(0..50u64).expect("map");
            assert_eq!(got, (0..50u64).map(|x| x * 2).collect::<Vec<_>>());
            println!("interop pool: {} processes, 50 results", pool.ranks());
        }
        // A second pool: the children serve it too.
        if let Some(pool) = Pool::new(&world, |s: String| s.len()).expect("pool 1") {
            assert_eq!(
                pool.map(["a", "bb"].map(String::from)).expect("map"),
                [1, 2]
            );
        }
        return;
    }
    let run = common::launch_self_direct(NAME, &[]);
    run.assert_success();
    let want = if spawns() {
        "3 processes"
    } else {
        "1 processes"
    };
    assert!(
        run.stdout
            .contains(&format!("interop pool: {want}, 50 results")),
        "{}",
        run.report()
    );
}

/// Issue 37 (by reading): `init` sets the MPI variables it chooses before `MPI_Init`
/// (run directly under Open MPI: `OMPI_MCA_pml=ob1`) only while the process runs one
/// thread; changing the environment while another thread may read it is undefined
/// behaviour. libtest runs this test on a thread of its own beside its main thread.
#[test]
fn init_leaves_the_environment_alone_while_other_threads_run() {
    const NAME: &str = "init_leaves_the_environment_alone_while_other_threads_run";
    if common::in_rank(NAME) {
        let before = std::env::var_os("OMPI_MCA_pml");
        let world = rspar::init().expect("init");
        assert_eq!(
            std::env::var_os("OMPI_MCA_pml"),
            before,
            "init changed the environment while another thread ran"
        );
        world.barrier().expect("barrier");
        println!("environment untouched");
        return;
    }
    let run = common::launch_self_direct(NAME, &[]);
    run.assert_success();
    assert!(
        run.stdout.contains("environment untouched"),
        "{}",
        run.report()
    );
}
