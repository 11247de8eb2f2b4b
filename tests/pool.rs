//! The pool under mpirun at 1..5 ranks: streams, futures, cancellation, the in-flight
//! bound, time limits, failures, the root computing, several pools in one program, and
//! pools that grow (spawning, Open MPI) and shrink while they run.

mod common;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{flavor, spmd, Flavor, SIZES};
use rspar::{ErrorKind, Pool};

#[test]
fn map_keeps_input_order_and_every_rank_computes() {
    spmd(
        "map_keeps_input_order_and_every_rank_computes",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            // The node's processors (mpirun may bind this rank to one of them).
            let cores = std::fs::read_to_string("/proc/cpuinfo")
                .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
                .unwrap_or(1);
            let task = |x: u64| {
                std::thread::sleep(Duration::from_millis(2 * (x % 10)));
                (x * x, rank)
            };
            // By default the root computes when its node has no more ranks than cores
            // (here every rank is on one node); asked to, it computes at any size.
            for forced in [None, Some(true)] {
                let mut builder = Pool::builder(world);
                if let Some(yes) = forced {
                    builder = builder.root_computes(yes);
                }
                let Some(pool) = builder.build(task)? else {
                    continue;
                };
                let computes = forced.unwrap_or(size <= cores);
                assert_eq!(pool.root_computes(), computes);
                // Enough 2-18 ms tasks for every rank to get some.
                let inputs: Vec<u64> = (0..40).map(|i| (i * 7) % 10 + 10 * (i % 3)).collect();
                let results = pool.map(inputs.iter().copied())?;
                let squares: Vec<u64> = results.iter().map(|r| r.0).collect();
                assert_eq!(squares, inputs.iter().map(|x| x * x).collect::<Vec<_>>());
                let ranks: BTreeSet<usize> = results.iter().map(|r| r.1).collect();
                assert_eq!(ranks.contains(&0), computes, "{ranks:?}");
                if size == 2 && computes {
                    assert_eq!(ranks, BTreeSet::from([0, 1]), "both ranks compute");
                }
                let per_rank = pool.tasks_per_rank();
                assert_eq!(per_rank.len(), size);
                assert_eq!(per_rank.iter().sum::<usize>(), 40);
                assert_eq!(per_rank[0] > 0, computes, "{per_rank:?}");
                // Empty and single inputs.
                assert!(pool.map(Vec::new())?.is_empty());
                assert_eq!(pool.map([3])?[0].0, 9);
            }
            Ok(())
        },
    );
}

#[test]
fn imap_yields_in_order_as_soon_as_it_can() {
    spmd("imap_yields_in_order_as_soon_as_it_can", SIZES, |world| {
        // The last task is slow on a worker (or on the only rank): the root yields every
        // other result while it runs. (A task the root runs itself delays the root's
        // yields until it ends: the root computes between its hand-outs.)
        let (rank, size) = (world.rank(), world.size());
        let slow = |x: u64| x == 5 && (rank != 0 || size == 1);
        let pool = Pool::builder(world).chunk(1).build(|x: u64| {
            std::thread::sleep(Duration::from_millis(if slow(x) { 1500 } else { 1 }));
            (x, rank)
        })?;
        if let Some(pool) = pool {
            let start = Instant::now();
            let mut stream = pool.imap(0..6u64);
            let mut got = Vec::new();
            for result in stream.by_ref().take(5) {
                got.push(result?.0);
            }
            let early = start.elapsed();
            assert_eq!(got, vec![0, 1, 2, 3, 4]);
            let (last, ran_on) = stream.next().expect("the last result")?;
            assert_eq!(last, 5);
            assert!(stream.next().is_none());
            if ran_on != 0 || size == 1 {
                assert!(
                    early < Duration::from_millis(1000),
                    "5 results after {early:?}"
                );
                assert!(start.elapsed() >= Duration::from_millis(1500));
            }
        }
        Ok(())
    });
}

#[test]
fn imap_unordered_gives_finishing_order_with_indices() {
    spmd(
        "imap_unordered_gives_finishing_order_with_indices",
        SIZES,
        |world| {
            let size = world.size();
            if let Some(pool) = Pool::new(world, |x: u64| {
                std::thread::sleep(Duration::from_millis(if x == 100 { 600 } else { 5 }));
                x + 1
            })? {
                let inputs: Vec<u64> = (0..20).map(|i| if i == 0 { 100 } else { i }).collect();
                let got: Vec<(usize, u64)> = pool
                    .imap_unordered(inputs.clone())
                    .collect::<rspar::Result<_>>()?;
                let indices: BTreeSet<usize> = got.iter().map(|g| g.0).collect();
                assert_eq!(indices, (0..20).collect());
                for &(index, value) in &got {
                    assert_eq!(value, inputs[index] + 1);
                }
                if size >= 2 {
                    // The slow first task finishes last when others run beside it.
                    assert_ne!(got[0].0, 0, "{got:?}");
                    assert_eq!(got.last().unwrap().0, 0, "{got:?}");
                }
            }
            Ok(())
        },
    );
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn submit_wait_check_timeout_and_cancel() {
    spmd("submit_wait_check_timeout_and_cancel", SIZES, |world| {
        let size = world.size();
        let pool = Pool::new(world, |ms: u64| {
            RUNS.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(ms));
            ms * 2
        })?;
        if let Some(pool) = pool {
            // One slow task per worker: submit hands each to an idle worker at once.
            let slow: Vec<_> = (1..size).map(|_| pool.submit(400)).collect();
            // These wait in the root's queue: nothing runs until the root waits.
            let queued = pool.submit(1);
            let doomed = pool.submit(7);
            assert_eq!(doomed.index(), size);
            assert!(doomed.cancel(), "a queued task can be cancelled");
            assert!(!doomed.cancel(), "only once");
            let err = doomed.wait().unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::Cancelled { index } if *index == size),
                "{err}"
            );
            if let Some(first) = slow.first() {
                // A worker runs it: the root does not, so the wait times out.
                assert!(!first.wait_timeout(Duration::from_millis(50))?);
                assert!(!first.cancel(), "a running task cannot be cancelled");
            }
            assert_eq!(queued.wait()?, 2);
            let mut done = false;
            let start = Instant::now();
            while !done {
                done = slow
                    .iter()
                    .map(|t| t.is_done())
                    .collect::<rspar::Result<Vec<_>>>()?
                    .iter()
                    .all(|d| *d);
                assert!(start.elapsed() < Duration::from_secs(30));
            }
            for task in slow {
                assert_eq!(task.wait()?, 800);
            }
            let late = pool.submit(3);
            assert!(late.wait_timeout(Duration::from_secs(20))?);
            assert_eq!(late.wait()?, 6);
        }
        // Every rank counts its runs: the cancelled task never ran anywhere.
        let runs = world.all_reduce(&RUNS.load(Ordering::SeqCst), |a, b| a + b)?;
        assert_eq!(runs, (size - 1) + 1 + 1);
        Ok(())
    });
}

#[test]
fn tasks_are_futures_under_any_executor() {
    spmd("tasks_are_futures_under_any_executor", SIZES, |world| {
        if let Some(pool) = Pool::new(world, |x: u32| x * 10)? {
            let (a, b) = (pool.submit(1), pool.submit(2));
            let sum =
                futures::executor::block_on(async { Ok::<_, rspar::Error>(a.await? + b.await?) })?;
            assert_eq!(sum, 30);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a tokio runtime");
            let tasks: Vec<_> = (0..10).map(|x| pool.submit(x)).collect();
            let got = runtime.block_on(async {
                let mut got = Vec::new();
                for task in tasks {
                    got.push(task.await?);
                }
                Ok::<_, rspar::Error>(got)
            })?;
            assert_eq!(got, (0..10).map(|x| x * 10).collect::<Vec<_>>());
        }
        Ok(())
    });
}

#[test]
fn streams_pull_their_input_lazily_within_the_bound() {
    spmd(
        "streams_pull_their_input_lazily_within_the_bound",
        SIZES,
        |world| {
            let pool = Pool::builder(world).in_flight(100).build(|x: u64| x + 1)?;
            if let Some(pool) = pool {
                let pulled = Cell::new(0usize);
                let inputs = (0..1_000_000u64).inspect(|_| pulled.set(pulled.get() + 1));
                let mut stream = pool.imap(inputs);
                assert_eq!(stream.next().transpose()?, Some(1));
                assert!(
                    pulled.get() <= 101,
                    "pulled {} inputs for one result",
                    pulled.get()
                );
                let next: Vec<u64> = stream.by_ref().take(999).collect::<rspar::Result<_>>()?;
                assert_eq!(next, (2..=1000).collect::<Vec<_>>());
                assert!(pulled.get() <= 1100, "pulled {}", pulled.get());
                drop(stream); // the rest is cancelled
                let pulled = Cell::new(0usize);
                let inputs = (0..1_000_000u64).inspect(|_| pulled.set(pulled.get() + 1));
                let mut stream = pool.imap_unordered(inputs);
                let (index, value) = stream.next().expect("a result")?;
                assert_eq!(value, index as u64 + 1);
                assert!(pulled.get() <= 101, "pulled {}", pulled.get());
                drop(stream);
                // The pool goes on.
                assert_eq!(pool.map(0..5u64)?, vec![1, 2, 3, 4, 5]);
                // A whole stream through the bound.
                let total: u64 = pool.imap(0..100_000u64).map(|r| r.unwrap()).sum();
                assert_eq!(total, (1..=100_000u64).sum());
            }
            Ok(())
        },
    );
}

#[test]
fn a_map_with_a_time_limit() {
    spmd("a_map_with_a_time_limit", SIZES, |world| {
        if let Some(pool) = Pool::new(world, |ms: u64| {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        })? {
            let start = Instant::now();
            let err = pool
                .map_timeout(vec![50u64; 200], Duration::from_millis(300))
                .unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::PoolTimeout { done, .. } if *done < 200),
                "{err}"
            );
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{:?}",
                start.elapsed()
            );
            // Within the limit, and afterwards the pool is as before.
            assert_eq!(
                pool.map_timeout([1u64, 2, 3], Duration::from_secs(30))?,
                vec![1, 2, 3]
            );
        }
        Ok(())
    });
}

static FAILED_ONCE: AtomicBool = AtomicBool::new(false);

#[test]
fn failures_name_the_task_and_rank_and_retries_help() {
    spmd(
        "failures_name_the_task_and_rank_and_retries_help",
        SIZES,
        |world| {
            let size = world.size();
            let pool = Pool::try_new(world, |x: i32| match x {
                4 => Err(format!("bad input {x}")),
                13 => panic!("unlucky {x}"),
                _ => Ok(x),
            })?;
            if let Some(pool) = pool {
                let err = pool.map(0..20).unwrap_err();
                assert!(
                    matches!(err.kind(), ErrorKind::TaskFailed { index: 4, rank, message }
                        if *rank < size && message == "bad input 4"),
                    "{err}"
                );
                let err = pool.map(5..20).unwrap_err();
                match err.kind() {
                    ErrorKind::TaskFailed {
                        index,
                        rank,
                        message,
                    } => {
                        assert_eq!(*index, 8);
                        assert!(*rank < size);
                        assert!(
                            message.contains("unlucky 13") && message.contains("pool.rs"),
                            "{message}"
                        );
                    }
                    other => panic!("expected TaskFailed, got {other:?}"),
                }
                let first = pool.submit(1);
                let bad = pool.submit(4);
                assert!(matches!(
                    bad.wait().unwrap_err().kind(),
                    ErrorKind::TaskFailed { index: 1, .. }
                ));
                assert_eq!(first.wait()?, 1);
                assert_eq!(pool.map([1, 2, 3])?, vec![1, 2, 3]);
            }
            // Task 5 fails the first time it runs in each process: enough retries for
            // every rank to see it once let it succeed.
            let pool = Pool::builder(world).retries(size).try_build(|x: u32| {
                if x == 5 && !FAILED_ONCE.swap(true, Ordering::SeqCst) {
                    return Err("flaky");
                }
                Ok(x * 10)
            })?;
            if let Some(pool) = pool {
                assert_eq!(
                    pool.map(0..10)?,
                    (0..10).map(|x| x * 10).collect::<Vec<_>>()
                );
            }
            assert_eq!(world.all_reduce(&1usize, |a, b| a + b)?, size);
            Ok(())
        },
    );
}

#[derive(serde::Serialize, serde::Deserialize)]
enum Job {
    Square(u64),
    Greet(String),
}

#[test]
fn several_functions_one_pool_after_another_or_an_enum() {
    spmd(
        "several_functions_one_pool_after_another_or_an_enum",
        SIZES,
        |world| {
            if let Some(pool) = Pool::new(world, |x: u64| x * x)? {
                assert_eq!(pool.map(1..4)?, vec![1, 4, 9]);
                pool.close()?;
            }
            if let Some(pool) = Pool::new(world, |s: String| s.len())? {
                assert_eq!(pool.map(["a".to_string(), "bcd".into()])?, vec![1, 3]);
            }
            let pool = Pool::new(world, |job: Job| match job {
                Job::Square(x) => (x * x).to_string(),
                Job::Greet(name) => format!("hello {name}"),
            })?;
            if let Some(pool) = pool {
                let out = pool.map([Job::Square(7), Job::Greet("pool".into())])?;
                assert_eq!(out, vec!["49".to_string(), "hello pool".into()]);
            }
            // A pool on some ranks only, and on a split communicator.
            if let Some(pool) = Pool::builder(world).ranks(2).build(|x: u8| x + 1)? {
                assert_eq!(pool.ranks(), world.size().min(2));
                assert_eq!(pool.map([1, 2])?, vec![2, 3]);
            }
            let rank = world.rank();
            let half = world
                .split(Some((rank % 2) as u32), rank as i32)?
                .expect("member");
            let base = 1000 * (rank % 2) as u64;
            if let Some(pool) = Pool::new(&half, move |x: u64| x + base)? {
                assert_eq!(
                    pool.map(0..25u64)?,
                    (0..25).map(|i| base + i).collect::<Vec<_>>()
                );
            }
            Ok(())
        },
    );
}

#[test]
fn a_panic_on_the_roots_compute_thread_fails_only_its_task() {
    spmd(
        "a_panic_on_the_roots_compute_thread_fails_only_its_task",
        SIZES,
        |world| {
            let rank = world.rank();
            // 5 ms tasks: the root runs them on its compute thread (with workers).
            let pool = Pool::builder(world).root_computes(true).build(|x: u64| {
                std::thread::sleep(Duration::from_millis(5));
                if rank == 0 && x >= 1000 {
                    panic!("root task {x}");
                }
                x
            })?;
            if let Some(pool) = pool {
                let err = pool.map(1000..1040u64).unwrap_err();
                match err.kind() {
                    ErrorKind::TaskFailed {
                        rank: 0, message, ..
                    } => assert!(message.contains("root task"), "{message}"),
                    other => panic!("expected TaskFailed on rank 0, got {other:?}"),
                }
                assert_eq!(pool.map(0..10u64)?, (0..10).collect::<Vec<_>>());
            }
            Ok(())
        },
    );
}

#[test]
fn pools_grow_and_shrink_while_running() {
    spmd("pools_grow_and_shrink_while_running", SIZES, |world| {
        let launched = world.size();
        let Some(pool) = Pool::new(world, |ms: u64| {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            ms
        })?
        else {
            return Ok(());
        };
        assert_eq!(pool.ranks(), launched);
        // Shrink to the root alone while every worker holds a batch: nothing is lost.
        let tasks: Vec<_> = (0..4 * launched as u64)
            .map(|i| pool.submit(5 + i % 3))
            .collect();
        pool.shrink(launched - 1)?;
        assert_eq!(pool.ranks(), 1);
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.wait()?, 5 + i as u64 % 3);
        }
        let released = pool.tasks_per_rank();
        assert_eq!(pool.map(vec![1; 20])?, vec![1; 20]);
        let after = pool.tasks_per_rank();
        assert_eq!(&after[1..], &released[1..], "a released rank ran tasks");
        assert_eq!(after[0], released[0] + 20);
        // Impossible requests are typed errors, and change nothing.
        for wrong in [pool.shrink(1), pool.resize(0)] {
            assert!(
                matches!(
                    wrong.as_ref().map_err(|e| e.kind()),
                    Err(ErrorKind::PoolSize { .. })
                ),
                "{wrong:?}"
            );
        }
        assert_eq!(pool.ranks(), 1);
        // Grow by spawning (Open MPI); MPICH says it cannot.
        match pool.grow(2) {
            Ok(()) => {
                assert_eq!(flavor(), Flavor::OpenMpi);
                assert_eq!(pool.ranks(), 3);
                assert_eq!(pool.map(vec![2; 60])?, vec![2; 60]);
                let counts = pool.tasks_per_rank();
                assert_eq!(counts.len(), launched + 2);
                assert!(counts[launched..].iter().all(|&n| n > 0), "{counts:?}");
                pool.resize(2)?;
                assert_eq!(pool.ranks(), 2);
                assert_eq!(pool.map([3, 1])?, [3, 1]);
            }
            Err(err) => {
                assert!(matches!(err.kind(), ErrorKind::Spawn { .. }), "{err}");
                assert_ne!(flavor(), Flavor::OpenMpi, "{err}");
                assert_eq!(pool.ranks(), 1);
            }
        }
        pool.close()
    });
}
