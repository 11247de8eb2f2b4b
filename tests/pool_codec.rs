//! Issue 35 items 1 and 2: a pool value that cannot travel fails its own task, and no
//! other. An output that bincode cannot read back (a field skipped when `None`), an
//! input whose `Serialize` fails, an input that encodes but cannot be decoded: each
//! such task's wait gives `TaskFailed` naming it, every other result is kept, the
//! worker is freed, and `close` (and `Drop`) end, with workers released. Under mpirun
//! at 1..4 ranks (on one rank the root computes everything and never encodes, so every
//! task succeeds there); every launch has the common time limit, so a hang fails.

mod common;

use common::spmd;
use rspar::{ErrorKind, Pool};
use serde::{Deserialize, Serialize};

const SIZES: &[usize] = &[1, 2, 3, 4];

/// A value bincode cannot read back when `extra` is `None`: the field is skipped when
/// written but expected when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Lossy {
    #[serde(skip_serializing_if = "Option::is_none")]
    extra: Option<u64>,
    value: u64,
}

/// An input whose `Serialize` fails for the value 2.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Picky(u64);

impl Serialize for Picky {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 2 {
            return Err(serde::ser::Error::custom("Picky refuses 2"));
        }
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Picky {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(Picky)
    }
}

/// Check that `outcome` is the failure of task `index` for a value that could not
/// travel (`what`: "encoded" or "decoded").
fn failed_to_travel<T: std::fmt::Debug>(outcome: rspar::Result<T>, index: usize, what: &str) {
    let err = outcome.expect_err("the task's value cannot travel");
    match err.kind() {
        ErrorKind::TaskFailed {
            index: failed,
            message,
            ..
        } => {
            assert_eq!(*failed, index, "{err}");
            assert!(message.contains(&format!("cannot be {what}")), "{err}");
        }
        other => panic!("expected TaskFailed for task {index}, got {other:?}"),
    }
}

#[test]
fn an_output_that_cannot_be_decoded_fails_its_task_only() {
    spmd(
        "an_output_that_cannot_be_decoded_fails_its_task_only",
        SIZES,
        |world| {
            let lossy = |x: u64| Lossy {
                extra: (x % 2 == 1).then_some(x),
                value: x * 10,
            };
            // The case: map fails (task 0's output is lost), and close ends.
            let pool = Pool::builder(world).root_computes(false).build(lossy)?;
            if let Some(pool) = pool {
                match pool.map(0..4u64) {
                    Ok(values) => {
                        assert_eq!(world.size(), 1, "only the root encodes nothing");
                        assert_eq!(values, (0..4).map(lossy).collect::<Vec<_>>());
                    }
                    Err(err) => failed_to_travel::<()>(Err(err), 0, "decoded"),
                }
                pool.close()?;
            }
            // Each task on its own: the odd ones' values arrive, the even ones fail.
            let pool = Pool::builder(world)
                .root_computes(false)
                .chunk(2)
                .build(lossy)?;
            if let Some(pool) = pool {
                let tasks: Vec<_> = (0..6u64).map(|x| pool.submit(x)).collect();
                for (x, task) in (0..6u64).zip(tasks) {
                    let outcome = task.wait();
                    if x % 2 == 1 || world.size() == 1 {
                        assert_eq!(outcome?, lossy(x));
                    } else {
                        failed_to_travel(outcome, x as usize, "decoded");
                    }
                }
                // The pool still works, and every worker was freed.
                let odd: Vec<u64> = (0..8u64).map(|i| 2 * i + 1).collect();
                assert_eq!(
                    pool.map(odd.clone())?,
                    odd.into_iter().map(lossy).collect::<Vec<_>>()
                );
            }
            // Dropped without close: Drop ends too.
            Ok(())
        },
    );
}

#[test]
fn an_input_that_cannot_be_encoded_fails_its_task_only() {
    spmd(
        "an_input_that_cannot_be_encoded_fails_its_task_only",
        SIZES,
        |world| {
            for retries in [0, 1] {
                let pool = Pool::builder(world)
                    .root_computes(false)
                    .chunk(4)
                    .retries(retries)
                    .build(|x: Picky| x.0 * 3)?;
                let Some(pool) = pool else {
                    continue;
                };
                let tasks: Vec<_> = (0..4u64).map(|x| pool.submit(Picky(x))).collect();
                for (x, task) in (0..4u64).zip(tasks) {
                    let outcome = task.wait();
                    if x != 2 || world.size() == 1 {
                        assert_eq!(outcome?, x * 3, "task {x}");
                    } else {
                        failed_to_travel(outcome, 2, "encoded");
                    }
                }
                // A stream reports the first failure, in input order.
                match pool.map((0..6).map(Picky)) {
                    Ok(values) => {
                        assert_eq!(world.size(), 1);
                        assert_eq!(values, (0..6).map(|x| x * 3).collect::<Vec<_>>());
                    }
                    Err(err) => failed_to_travel::<()>(Err(err), 2, "encoded"),
                }
                let fine: Vec<u64> = pool.map([0, 1, 3, 4, 5].map(Picky))?;
                assert_eq!(fine, vec![0, 3, 9, 12, 15]);
                pool.close()?;
            }
            Ok(())
        },
    );
}

#[test]
fn an_input_that_cannot_be_decoded_fails_its_task_only() {
    spmd(
        "an_input_that_cannot_be_decoded_fails_its_task_only",
        SIZES,
        |world| {
            let pool = Pool::builder(world)
                .root_computes(false)
                .chunk(3)
                .build(|x: Lossy| x.value + 1)?;
            if let Some(pool) = pool {
                let inputs: Vec<Lossy> = (0..6u64)
                    .map(|x| Lossy {
                        extra: (x != 4).then_some(x),
                        value: x,
                    })
                    .collect();
                let tasks: Vec<_> = inputs.iter().map(|x| pool.submit(x.clone())).collect();
                for (x, task) in (0..6u64).zip(tasks) {
                    let outcome = task.wait();
                    if x != 4 || world.size() == 1 {
                        assert_eq!(outcome?, x + 1, "task {x}");
                    } else {
                        failed_to_travel(outcome, 4, "decoded");
                    }
                }
                pool.close()?;
            }
            Ok(())
        },
    );
}
