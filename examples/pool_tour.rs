//! A tour of the pool, each step checked: submit and wait, map, imap, imap_unordered, a
//! time limit, a cancel, a failure, growing and shrinking. The same program runs under
//! `mpirun -n N` and run directly (then the root spawns its workers, one process per
//! core): every process runs `main`, and `Pool::new` returns the pool on the root while
//! the others serve tasks in it until the root is done.
//!
//!     mpirun -n 3 target/release/examples/pool_tour
//!     target/release/examples/pool_tour

use std::time::Duration;

use clap::Parser;
use rspar::{ErrorKind, Pool};

/// Submit, map, imap, imap_unordered, a time limit, a cancel, a failure, growing and
/// shrinking, each checked; prints `all pool checks ok` last.
#[derive(Parser)]
#[command(version)]
struct Args {}

/// A task: `ms` milliseconds of sleep (a stand-in for work), then a value from it.
fn work(ms: u64) -> Result<u64, String> {
    if ms == 13 {
        return Err("13 is unlucky".into());
    }
    std::thread::sleep(Duration::from_millis(ms));
    Ok(ms * 10)
}

fn check(ok: bool, what: &str) {
    if ok {
        println!("ok: {what}");
    } else {
        eprintln!("pool_tour: FAILED: {what}");
        rspar::abort(1);
    }
}

fn main() -> rspar::Result<()> {
    Args::parse();
    let world = rspar::init()?;
    let Some(pool) = Pool::try_new(&world, work)? else {
        return Ok(()); // a worker: served the root's tasks until it closed the pool
    };
    println!("pool of {} ranks (the root computes too)", pool.ranks());

    // submit: a handle at once; wait for its value.
    let task = pool.submit(5);
    check(task.wait()? == 50, "submit + wait");

    // A non-blocking check, and a wait with a time limit.
    let task = pool.submit(20);
    let mut polls = 0;
    while !task.is_done()? {
        polls += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    check(
        task.wait_timeout(Duration::from_secs(10))?,
        "is_done and wait_timeout",
    );
    check(
        task.wait()? == 200,
        &format!("the value after {polls} polls"),
    );

    // map: every result, in input order; any IntoIterator, pulled lazily.
    let squares = pool.map((1..=8).rev())?;
    check(
        squares == (1..=8).rev().map(|x| x * 10).collect::<Vec<_>>(),
        "map",
    );

    // imap: in input order, each as soon as it and all before it are done.
    let mut seen = Vec::new();
    for value in pool.imap([30, 1, 2, 3]) {
        seen.push(value?);
    }
    check(seen == [300, 10, 20, 30], "imap");

    // imap_unordered: in finishing order, each with its input's index.
    let inputs = [40, 1, 2, 3, 4];
    let mut got: Vec<(usize, u64)> = pool.imap_unordered(inputs).collect::<rspar::Result<_>>()?;
    got.sort();
    check(
        got == inputs
            .iter()
            .enumerate()
            .map(|(i, &x)| (i, x * 10))
            .collect::<Vec<_>>(),
        "imap_unordered",
    );

    // A time limit on a whole map: the unfinished tasks are cancelled.
    let timed = pool.map_timeout(vec![100; 50], Duration::from_millis(150));
    check(
        matches!(
            timed.as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::PoolTimeout { .. })
        ),
        "map_timeout",
    );

    // cancel: a task not yet started never runs. Tasks wait in the root's queue until
    // the root waits, so the last of these has not started.
    let busy: Vec<_> = (1..pool.ranks()).map(|_| pool.submit(50)).collect();
    let doomed = pool.submit(7);
    check(doomed.cancel(), "cancel a queued task");
    check(
        matches!(
            doomed.wait().map_err(|e| e.kind().clone()),
            Err(ErrorKind::Cancelled { .. })
        ),
        "a cancelled task reports Cancelled",
    );
    for task in busy {
        task.wait()?;
    }

    // A failing task names its index and the rank it ran on; the pool goes on.
    let failed = pool.map([1, 13, 2]);
    check(
        matches!(
            failed.as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::TaskFailed { index: 1, .. })
        ),
        &format!(
            "a failure: {}",
            failed
                .as_ref()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        ),
    );
    check(pool.map([1, 2])? == [10, 20], "the pool after a failure");

    // Shrinking: release a worker (a busy one leaves after its batch; no task is lost).
    let before = pool.ranks();
    if before > 1 {
        let tasks: Vec<_> = (0..before).map(|_| pool.submit(30)).collect();
        pool.shrink(1)?;
        check(pool.ranks() == before - 1, "shrink by one worker");
        let values: Vec<u64> = tasks
            .into_iter()
            .map(|t| t.wait())
            .collect::<rspar::Result<_>>()?;
        check(values == vec![300; before], "no task lost while shrinking");
        check(
            pool.map(1..=6)? == [10, 20, 30, 40, 50, 60],
            "map after shrinking",
        );
    } else {
        println!("ok: nothing to shrink (one process)");
    }
    // Shrinking past the root is a typed error; the pool is unchanged.
    let now = pool.ranks();
    check(
        matches!(
            pool.shrink(now).map_err(|e| e.kind().clone()),
            Err(ErrorKind::PoolSize { .. })
        ) && pool.ranks() == now,
        "shrinking past the root is Err(PoolSize)",
    );

    // Growing: spawn a worker into the running pool, where this MPI can spawn.
    match pool.grow(1) {
        Ok(()) => {
            check(pool.ranks() == now + 1, "grow by one spawned worker");
            let spread: Vec<u64> = pool.map(vec![20; 4 * pool.ranks()])?;
            check(spread == vec![200; 4 * pool.ranks()], "map after growing");
            let counts = pool.tasks_per_rank();
            check(
                counts.last().is_some_and(|&n| n > 0),
                &format!("the new worker ran tasks ({counts:?})"),
            );
            pool.resize(now)?;
            check(
                pool.ranks() == now,
                "resize back (Parallel Python's set_ncpus)",
            );
        }
        Err(err) if matches!(err.kind(), ErrorKind::Spawn { .. }) => {
            println!("ok: this MPI cannot grow a pool: {err}");
        }
        Err(err) => return Err(err),
    }
    pool.close()?;
    println!("all pool checks ok");
    Ok(())
}
