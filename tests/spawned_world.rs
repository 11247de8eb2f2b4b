//! A program run directly talks on its world only in its pools: the pool's spawned
//! copies run `main` from the start, and every rspar call on their world outside a pool
//! is `Err(Deadlock)` at once, so the job ends within seconds with one clear line (exit 1:
//! the error `main` returned) instead of waiting forever; `rspar::spawned()` lets a
//! program skip its launch-only part. Under mpirun the same programs work at every size.
//! Where MPI cannot spawn (MPICH's ucx device), the root alone runs them, successfully.

mod common;

use common::{flavor, Flavor, TIMEOUT};
use rspar::Pool;

/// Whether this MPI spawns here (Open MPI 4.1 does; Debian's MPICH 4.0 with ucx not).
fn spawns() -> bool {
    flavor() == Flavor::OpenMpi
}

// The new user's program (issue 38): a ring, a derived struct over the buffer path, an
// `all_reduce`, then a pool with `map`, `submit` and `imap_unordered`. Under mpirun it
// works at every size; run directly, the pool's spawned copy runs it too.

#[derive(Clone, Copy, Debug, rspar::Plain)]
struct Particle {
    position: [f64; 3],
    charge: i32,
}

fn fib(n: u64) -> u64 {
    if n <= 2 {
        1
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// The variable that picks which world calls [`new_user_program`] makes.
const VARIANT: &str = "RSPAR_TEST_WORLD_CALLS";

/// The program; `variant` says what it does on the world besides its pool: `ring`
/// (ring, buffer path and all_reduce before the pool), `collective_before`,
/// `collective_after`, `receive_any`; `skip` is `ring` guarded by `rspar::spawned()`.
fn new_user_program(world: &rspar::Communicator, variant: &str) -> rspar::Result<()> {
    let (rank, size) = (world.rank(), world.size());
    let launch_only = variant != "skip" || !rspar::spawned();
    if matches!(variant, "ring" | "skip") && launch_only {
        println!("rank {rank} of {size} on {}", world.processor_name());
        if rank == 0 {
            world.send(&String::from("P0"), 1 % size)?;
            let (msg, status) = world.with_status().receive::<String>(size - 1)?;
            println!("ok: ring ({msg:?} came back from rank {})", status.source);
        } else {
            let mut msg: String = world.receive(rank - 1)?;
            msg.push_str(&format!("P{rank}"));
            world.send(&msg, (rank + 1) % size)?;
        }
        let right = (rank + 1) % size;
        let left = (rank + size - 1) % size;
        let mine: Vec<Particle> = (0..3)
            .map(|i| Particle {
                position: [i as f64; 3],
                charge: rank as i32,
            })
            .collect();
        world.send_buffer(&mine, right)?;
        let got: Vec<Particle> = world.receive_buffer(left)?;
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|p| p.charge as usize == left));
        let sum = world.all_reduce(&1usize, |a, b| a + b)?;
        assert_eq!(sum, size);
        println!("ok: buffer path (3 particles) and all_reduce (sum = {sum})");
    }
    if variant == "collective_before" {
        assert_eq!(
            world.all_reduce(&rank, |a, b| a + b)?,
            size * (size - 1) / 2
        );
    }
    if variant == "receive_any" {
        if rank == 0 {
            for r in 1..size {
                world.send(&(r as u64), r)?;
            }
        } else {
            assert_eq!(world.receive::<u64>(rspar::Any)?, rank as u64);
        }
    }
    if let Some(pool) = Pool::new(world, fib)? {
        assert_eq!(pool.map([25, 24, 23])?, [75025, 46368, 28657]);
        let task = pool.submit(20);
        let mut done: Vec<(usize, u64)> = pool.imap_unordered(10..15).collect::<Result<_, _>>()?;
        done.sort();
        assert_eq!(done, [(0, 55), (1, 89), (2, 144), (3, 233), (4, 377)]);
        assert_eq!(task.wait()?, 6765);
        println!("ok: pool");
    }
    if variant == "collective_after" {
        world.barrier()?;
        assert_eq!(world.all_reduce(&1usize, |a, b| a + b)?, size);
    }
    Ok(())
}

/// The test `name` runs the program in rank mode with `variant`, under mpirun at every
/// size and then directly; the direct run is returned for its checks.
fn world_calls(name: &str, variant: &str) -> Option<common::Run> {
    if common::in_rank(name) {
        let world = rspar::init().expect("init");
        let result = new_user_program(&world, variant);
        // As `main` returning it: an error alive ends the job, naming the rank.
        drop(world);
        result.expect("the program failed");
        return None;
    }
    for n in common::SIZES.iter().copied() {
        let run = common::launch_self_within(name, n, &[(VARIANT, variant)], TIMEOUT);
        run.assert_success();
        assert!(run.stdout.contains("ok: pool"), "{}", run.report());
    }
    Some(common::launch_self_direct(name, &[(VARIANT, variant)]))
}

/// The one line a spawned copy's world call outside its pool ends the job with.
const OUTSIDE_POOL: &str = "on the world of a pool worker spawned at run time";

/// Run directly, the program fails at once: one clear line, exit 1 (an error from
/// `main`), no hang. Where MPI cannot spawn, the root alone runs it all.
fn assert_fails_at_once(run: &common::Run) {
    assert!(!run.timed_out, "the job hung: {}", run.report());
    if !spawns() {
        run.assert_success();
        assert!(run.stdout.contains("ok: pool"), "{}", run.report());
        return;
    }
    assert_eq!(run.code, Some(rspar::ERROR_EXIT_CODE), "{}", run.report());
    let said: Vec<_> = run
        .stderr
        .lines()
        .filter(|l| l.contains(OUTSIDE_POOL))
        .collect();
    assert!(!said.is_empty(), "{}", run.report());
    for line in said {
        assert!(
            line.contains("launch it with mpirun -n N"),
            "{}",
            run.report()
        );
        assert!(line.contains("rspar::spawned()"), "{}", run.report());
    }
}

#[test]
fn new_user_program_run_directly_fails_at_once_with_one_clear_line() {
    const NAME: &str = "new_user_program_run_directly_fails_at_once_with_one_clear_line";
    if let Some(run) = world_calls(NAME, "ring") {
        assert_fails_at_once(&run);
    }
}

#[test]
fn the_new_user_program_run_directly_works_when_it_skips_its_launch_only_part() {
    const NAME: &str = "the_new_user_program_run_directly_works_when_it_skips_its_launch_only_part";
    if let Some(run) = world_calls(NAME, "skip") {
        run.assert_success();
        // The root's lines once; the spawned copies skipped the ring and said nothing.
        for line in [
            "rank 0 of 1 on ",
            "ok: ring (\"P0\" came back from rank 0)",
            "ok: pool",
        ] {
            assert_eq!(
                run.stdout.matches(line).count(),
                1,
                "{line}\n{}",
                run.report()
            );
        }
        assert!(!run.stdout.contains("rank 1 of"), "{}", run.report());
    }
}

#[test]
fn a_collective_before_the_pool_run_directly_fails_at_once() {
    const NAME: &str = "a_collective_before_the_pool_run_directly_fails_at_once";
    if let Some(run) = world_calls(NAME, "collective_before") {
        assert_fails_at_once(&run);
        if spawns() {
            assert!(
                run.stderr.contains("deadlock: all_reduce on the world"),
                "{}",
                run.report()
            );
        }
    }
}

#[test]
fn a_collective_after_the_pool_run_directly_fails_at_once() {
    const NAME: &str = "a_collective_after_the_pool_run_directly_fails_at_once";
    if let Some(run) = world_calls(NAME, "collective_after") {
        assert_fails_at_once(&run);
        if spawns() {
            // The root finished its pool; the copies met the barrier after theirs.
            assert!(run.stdout.contains("ok: pool"), "{}", run.report());
            assert!(
                run.stderr.contains("deadlock: barrier on the world"),
                "{}",
                run.report()
            );
        }
    }
}

#[test]
fn a_receive_from_any_run_directly_fails_at_once() {
    const NAME: &str = "a_receive_from_any_run_directly_fails_at_once";
    if let Some(run) = world_calls(NAME, "receive_any") {
        assert_fails_at_once(&run);
        if spawns() {
            assert!(
                run.stderr.contains("deadlock: receive on the world"),
                "{}",
                run.report()
            );
        }
    }
}

#[test]
fn every_world_call_of_a_spawned_copy_is_err_deadlock_and_rspar_spawned_says_so() {
    const NAME: &str =
        "every_world_call_of_a_spawned_copy_is_err_deadlock_and_rspar_spawned_says_so";
    if common::in_rank(NAME) {
        assert!(!rspar::spawned(), "before init");
        let world = rspar::init().expect("init");
        if rspar::spawned() {
            let calls: Vec<(&str, rspar::Result<()>)> = vec![
                ("send", world.send(&1u8, 0)),
                ("send", world.send(&1u8, world.rank())),
                ("receive", world.receive::<u8>(0).map(drop)),
                (
                    "receive",
                    world.tag(rspar::Any).receive::<u8>(rspar::Any).map(drop),
                ),
                ("send", world.send_buffer(&[1u8], 0)),
                ("receive", world.receive_buffer::<u8>(0).map(drop)),
                ("send", world.isend(&1u8, 0).map(drop)),
                ("receive", world.ireceive::<u8>(0).wait().map(drop)),
                ("send", world.sendrecv::<u8, u8>(&1, 0, 0).map(drop)),
                ("barrier", world.barrier()),
                ("broadcast", world.broadcast(&1u8, 0).map(drop)),
                ("gather", world.gather(&1u8, 0).map(drop)),
                ("all_reduce", world.all_reduce(&1u8, |a, b| a + b).map(drop)),
                (
                    "all_reduce_buffer",
                    world.all_reduce_buffer(&[1u8], &mut [0], rspar::Op::Sum),
                ),
                ("print_ordered", world.print_ordered("x")),
                ("duplicate", world.duplicate().map(drop)),
                ("split", world.split(Some(0), 0).map(drop)),
                ("send", world.interop().send_buffer(&[1u8], 0)),
            ];
            for (call, result) in calls {
                let err = result.expect_err(call);
                let text = err.to_string();
                assert!(
                    matches!(err.kind(), rspar::ErrorKind::Deadlock { .. }),
                    "{call}: {text}"
                );
                assert!(
                    text.contains(&format!("{call} on the world of a pool worker")),
                    "{text}"
                );
            }
            println!("spawned copy: every world call refused");
        }
        // The pool still serves, and the launched world still talks.
        let pool = Pool::builder(&world)
            .ranks(2)
            .build(|x: u64| x + 1)
            .expect("pool");
        if let Some(pool) = pool {
            assert_eq!(pool.map(0..5u64).expect("map"), [1, 2, 3, 4, 5]);
        }
        if !rspar::spawned() {
            let size = world.all_reduce(&1usize, |a, b| a + b).expect("all_reduce");
            assert_eq!(size, world.size());
            if world.rank() == 0 {
                println!("root: pool and world ok");
            }
        }
        return;
    }
    for n in [1, 2, 3] {
        let run = common::launch_self(NAME, n, &[]);
        run.assert_success();
        assert!(!run.stdout.contains("spawned copy"), "{}", run.report());
        assert!(
            run.stdout.contains("root: pool and world ok"),
            "{}",
            run.report()
        );
    }
    let run = common::launch_self_direct(NAME, &[]);
    run.assert_success();
    assert!(
        run.stdout.contains("root: pool and world ok"),
        "{}",
        run.report()
    );
    assert_eq!(
        run.stdout
            .contains("spawned copy: every world call refused"),
        spawns(),
        "{}",
        run.report()
    );
}
