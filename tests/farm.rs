//! The task farm (thin calls of the pool) under mpirun at 1..5 ranks (more ranks than
//! tasks included).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{spmd, SIZES};
use rspar::farm::{self, Farm};
use rspar::ErrorKind;

#[test]
fn results_come_back_in_input_order_whatever_the_task_costs() {
    spmd(
        "results_come_back_in_input_order_whatever_the_task_costs",
        SIZES,
        |world| {
            // Costs shuffled: some tasks take 10x longer than others.
            let inputs: Vec<u64> = if world.rank() == 0 {
                vec![7, 1, 9, 3, 0, 8, 2, 6, 4, 5, 9, 0]
            } else {
                vec![]
            };
            let rank = world.rank();
            let results = farm::map(world, inputs.clone(), |x: u64| {
                std::thread::sleep(Duration::from_millis(2 * x));
                (x * x, rank)
            })?;
            match results {
                Some(results) => {
                    let squares: Vec<u64> = results.iter().map(|r| r.0).collect();
                    assert_eq!(squares, inputs.iter().map(|x| x * x).collect::<Vec<_>>());
                    assert!(results.iter().all(|r| r.1 < world.size()));
                }
                None => assert_ne!(world.rank(), 0),
            }
            Ok(())
        },
    );
}

#[test]
fn empty_single_and_fewer_tasks_than_ranks() {
    spmd("empty_single_and_fewer_tasks_than_ranks", SIZES, |world| {
        let root = world.rank() == 0;
        let none: Option<Vec<String>> = farm::map(world, Vec::<u8>::new(), |x| x.to_string())?;
        assert_eq!(none, root.then(Vec::new));
        let one = farm::map(world, if root { vec![41u32] } else { vec![] }, |x| x + 1)?;
        assert_eq!(one, root.then(|| vec![42]));
        let two = farm::map(
            world,
            if root {
                vec!["a".to_string(), "bc".into()]
            } else {
                vec![]
            },
            |s| s.len(),
        )?;
        assert_eq!(two, root.then(|| vec![1, 2]));
        Ok(())
    });
}

#[test]
fn many_tiny_tasks_are_batched() {
    spmd("many_tiny_tasks_are_batched", SIZES, |world| {
        let n = 200_000u64;
        let inputs: Vec<u64> = if world.rank() == 0 {
            (0..n).collect()
        } else {
            vec![]
        };
        if let Some(out) = farm::map(world, inputs, |x| x * 3)? {
            assert_eq!(out.len() as u64, n);
            assert!(out.iter().enumerate().all(|(i, &y)| y == 3 * i as u64));
        }
        // A chosen chunk size gives the same answer.
        let inputs: Vec<u64> = if world.rank() == 0 {
            (0..1000).collect()
        } else {
            vec![]
        };
        let out = Farm::new().chunk(7).map(world, inputs, |x| x + 1)?;
        if let Some(out) = out {
            assert_eq!(out, (1..=1000).collect::<Vec<u64>>());
        }
        Ok(())
    });
}

#[test]
fn failing_tasks_are_reported_and_the_farm_ends_cleanly() {
    spmd(
        "failing_tasks_are_reported_and_the_farm_ends_cleanly",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let inputs: Vec<i32> = if rank == 0 { (0..20).collect() } else { vec![] };
            // A panic in task 13.
            let result = farm::map(world, inputs.clone(), |x| {
                if x == 13 {
                    panic!("unlucky {x}");
                }
                x
            });
            match result {
                Err(err) => match err.kind() {
                    ErrorKind::TaskFailed {
                        index,
                        rank: ran_on,
                        message,
                    } => {
                        assert_eq!(rank, 0);
                        assert_eq!(*index, 13);
                        assert!(*ran_on < size);
                        assert!(
                            message.contains("unlucky 13") && message.contains("farm.rs"),
                            "{message}"
                        );
                    }
                    other => panic!("expected TaskFailed, got {other:?}"),
                },
                Ok(out) => assert!(rank != 0 && out.is_none()),
            }
            // An Err in task 4.
            let result = farm::try_map(world, inputs, |x| {
                if x == 4 {
                    Err(format!("bad input {x}"))
                } else {
                    Ok(x)
                }
            });
            if rank == 0 {
                let err = result.unwrap_err();
                assert!(
                    matches!(err.kind(), ErrorKind::TaskFailed { index: 4, message, .. } if message == "bad input 4"),
                    "{err}"
                );
            } else {
                assert!(result?.is_none());
            }
            // Everyone left the farm: ordinary communication still works.
            assert_eq!(world.all_reduce(&1usize, |a, b| a + b)?, size);
            Ok(())
        },
    );
}

static FAILED_ONCE: AtomicBool = AtomicBool::new(false);

#[test]
fn retries_run_a_failed_task_again() {
    spmd("retries_run_a_failed_task_again", SIZES, |world| {
        let size = world.size();
        let inputs: Vec<u32> = if world.rank() == 0 {
            (0..10).collect()
        } else {
            vec![]
        };
        // Task 5 fails the first time it runs on each process: enough retries for every
        // worker to see it once lets it succeed.
        let flaky = |x: u32| {
            if x == 5 && !FAILED_ONCE.swap(true, Ordering::SeqCst) {
                return Err("flaky");
            }
            Ok(x * 10)
        };
        let out = Farm::new().retries(size).try_map(world, inputs, flaky)?;
        if let Some(out) = out {
            assert_eq!(out, (0..10).map(|x| x * 10).collect::<Vec<_>>());
        }
        Ok(())
    });
}

#[test]
fn farms_on_split_communicators() {
    spmd("farms_on_split_communicators", SIZES, |world| {
        let rank = world.rank();
        let half = world
            .split(Some((rank % 2) as u32), rank as i32)?
            .expect("member");
        let base = 1000 * (rank % 2) as u64;
        let inputs: Vec<u64> = if half.rank() == 0 {
            (0..25).map(|i| base + i).collect()
        } else {
            vec![]
        };
        if let Some(out) = farm::map(&half, inputs, |x| x + 1)? {
            assert_eq!(out, (0..25).map(|i| base + i + 1).collect::<Vec<_>>());
        }
        Ok(())
    });
}
