//! A tour of the pool, each step checked: submit and wait, map, imap, imap_unordered, a
//! time limit, a cancel, a failure. The same program runs under `mpirun -n N` and run
//! directly (a world of one rank): every rank runs `main`, and `Pool::new` returns the
//! pool on the root while the other ranks serve tasks in it until the root is done.
//!
//!     mpirun -n 3 target/release/examples/pool_tour

use std::time::Duration;

use clap::Parser;
use rspar::{ErrorKind, Pool};

/// Submit, map, imap, imap_unordered, a time limit, a cancel and a failure, each checked;
/// prints `all pool checks ok` last. Growing and shrinking come with spawned workers
/// (not yet built).
#[derive(Parser)]
#[command(version, about)]
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

    println!("growing and shrinking the pool come with spawned workers (not yet built)");
    pool.close()?;
    println!("all pool checks ok");
    Ok(())
}
