//! Collectives on both paths, communicators and balance, under mpirun at 1..5 ranks.
//! Semantics follow PyPar's own test suite: ring-pass of typed arrays and a nested
//! structure, broadcast/scatter/gather from roots 0 and N-1, reductions with every op.

mod common;

use std::collections::BTreeMap;

use common::{spmd, SIZES};
use num_complex::Complex64;
use rspar::{Any, Communicator, ErrorKind, Loc, Op};

type Nested = (String, (i32, i32, f64), BTreeMap<i32, String>, Vec<f64>);

fn nested(seed: usize) -> Nested {
    let mut map = BTreeMap::new();
    map.insert(8, "Monty".to_string());
    (
        "ABC".into(),
        (1, 2, 3.25 + seed as f64),
        map,
        vec![seed as f64; seed],
    )
}

fn roots(world: &Communicator) -> [usize; 2] {
    [0, world.size() - 1]
}

#[test]
fn pypar_ring_of_typed_arrays_and_structures() {
    spmd(
        "pypar_ring_of_typed_arrays_and_structures",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            let ints: Vec<i32> = (0..100).map(|i| i * rank as i32).collect();
            let longs: Vec<i64> = (0..100).map(|i| i64::MAX - i - rank as i64).collect();
            let floats: Vec<f64> = (0..100).map(|i| i as f64 / (rank + 1) as f64).collect();
            let complex: Vec<Complex64> = (0..50)
                .map(|i| Complex64::new(i as f64, -(rank as f64)))
                .collect();
            let got_i: Vec<i32> = world.sendrecv(&ints, right, left)?;
            assert_eq!(got_i, (0..100).map(|i| i * left as i32).collect::<Vec<_>>());
            let got_l: Vec<i64> = world.sendrecv(&longs, right, left)?;
            assert_eq!(got_l[99], i64::MAX - 99 - left as i64);
            let got_f: Vec<f64> = world.sendrecv(&floats, right, left)?;
            assert_eq!(got_f[7], 7.0 / (left + 1) as f64);
            let got_c: Vec<Complex64> = world.sendrecv(&complex, right, left)?;
            assert_eq!(got_c[3], Complex64::new(3.0, -(left as f64)));
            let got_n: Nested = world.sendrecv(&nested(rank), right, left)?;
            assert_eq!(got_n, nested(left));
            // The same arrays on the buffer path.
            let mut buf = vec![0i64; 100];
            if rank % 2 == 0 {
                world.send_buffer(&longs, right)?;
                world.receive_buffer_into(&mut buf, left)?;
            } else {
                world.receive_buffer_into(&mut buf, left)?;
                world.send_buffer(&longs, right)?;
            }
            assert_eq!(buf[0], i64::MAX - left as i64);
            Ok(())
        },
    );
}

#[test]
fn broadcast_scatter_gather_from_first_and_last_root() {
    spmd(
        "broadcast_scatter_gather_from_first_and_last_root",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            for root in roots(world) {
                let text = if rank == root {
                    "x".repeat(root + 3)
                } else {
                    String::new()
                };
                assert_eq!(world.broadcast(&text, root)?, "x".repeat(root + 3));
                let value = if rank == root {
                    nested(root)
                } else {
                    nested(99)
                };
                assert_eq!(world.broadcast(&value, root)?, nested(root));
                assert_eq!(world.broadcast(&Vec::<u8>::new(), root)?, Vec::<u8>::new());

                // Strings of different lengths per rank, out and back.
                let words: Vec<String> = (0..size).map(|i| "w".repeat(i * 7)).collect();
                let mine: String = world.scatter(if rank == root { &words } else { &[] }, root)?;
                assert_eq!(mine, "w".repeat(rank * 7));
                let back = world.gather(&mine, root)?;
                assert_eq!(back.is_some(), rank == root);
                if let Some(back) = back {
                    assert_eq!(back, words);
                }
                let arrays = world.gather(&vec![rank as f64; rank], root)?;
                if let Some(arrays) = arrays {
                    assert!(arrays.iter().enumerate().all(|(r, a)| a.len() == r));
                }
            }
            Ok(())
        },
    );
}

#[test]
fn all_gather_and_all_to_all() {
    spmd("all_gather_and_all_to_all", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let all = world.all_gather(&format!("r{rank}"))?;
        assert_eq!(all, (0..size).map(|r| format!("r{r}")).collect::<Vec<_>>());
        let out: Vec<Vec<usize>> = (0..size).map(|to| vec![rank; to]).collect();
        let got = world.all_to_all(&out)?;
        for (from, v) in got.iter().enumerate() {
            assert_eq!(v, &vec![from; rank]);
        }
        assert!(world.all_gather(&())?.len() == size);
        Ok(())
    });
}

#[test]
fn object_reductions_fold_in_rank_order() {
    spmd("object_reductions_fold_in_rank_order", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let me = format!("{rank},");
        let expected: String = (0..size).map(|r| format!("{r},")).collect();
        let concat = |a: String, b: String| a + &b;
        for root in roots(world) {
            let got = world.reduce(&me, concat, root)?;
            assert_eq!(got, (rank == root).then(|| expected.clone()));
        }
        assert_eq!(world.all_reduce(&me, concat)?, expected);
        let prefix: String = (0..=rank).map(|r| format!("{r},")).collect();
        assert_eq!(world.scan(&me, concat)?, prefix);
        let before = world.exscan(&me, concat)?;
        assert_eq!(
            before,
            (rank > 0).then(|| (0..rank).map(|r| format!("{r},")).collect::<String>())
        );
        let max = world.all_reduce(&(rank as f64 * 0.5), f64::max)?;
        assert_eq!(max, (size - 1) as f64 * 0.5);
        Ok(())
    });
}

#[test]
fn collective_errors_reach_every_rank_and_leave_it_usable() {
    spmd(
        "collective_errors_reach_every_rank_and_leave_it_usable",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let root = size - 1;
            let too_many: Vec<u8> = vec![0; size + 1];
            let err = world
                .scatter::<u8>(if rank == root { &too_many } else { &[] }, root)
                .unwrap_err();
            if rank == root {
                assert_eq!(
                    err.kind(),
                    &ErrorKind::Count {
                        expected: size,
                        got: size + 1
                    }
                );
            } else {
                assert_eq!(err.kind(), &ErrorKind::Peer { rank: root });
            }
            drop(err);
            let bad = vec![1u8; if rank == 0 { size + 2 } else { size }];
            let err = world.all_to_all(&bad).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::Count { .. } | ErrorKind::Peer { rank: 0 }
                ),
                "{err}"
            );
            drop(err);
            assert!(matches!(
                world.broadcast(&1u8, size).unwrap_err().kind(),
                ErrorKind::InvalidRank { .. }
            ));
            if size > 1 {
                // Not a multiple of the size: the root cannot cut equal blocks.
                let odd: Vec<u16> = vec![1; size + 1];
                let err = world
                    .scatter_buffer(if rank == 0 { &odd } else { &[] }, 0)
                    .unwrap_err();
                assert!(matches!(
                    err.kind(),
                    ErrorKind::Count { .. } | ErrorKind::Peer { rank: 0 }
                ));
            }
            // Still usable.
            assert_eq!(world.all_reduce(&1usize, |a, b| a + b)?, size);
            Ok(())
        },
    );
}

#[test]
fn buffer_collectives_with_every_op() {
    spmd("buffer_collectives_with_every_op", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let r = rank as f64;
        for root in roots(world) {
            let mut data = vec![0.0f64; 1000];
            if rank == root {
                data.iter_mut()
                    .enumerate()
                    .for_each(|(i, x)| *x = i as f64 + root as f64);
            }
            world.broadcast_buffer(&mut data, root)?;
            assert_eq!(data[999], 999.0 + root as f64);

            let all: Vec<i32> = (0..3 * size as i32).collect();
            let mine = world.scatter_buffer(if rank == root { &all } else { &[] }, root)?;
            assert_eq!(
                mine,
                vec![3 * rank as i32, 3 * rank as i32 + 1, 3 * rank as i32 + 2]
            );
            let back = world.gather_buffer(&mine, root)?;
            assert_eq!(back, (rank == root).then(|| all.clone()));

            let mut sum = [0.0f64; 2];
            world.reduce_buffer(&[r, 1.0], &mut sum, Op::Sum, root)?;
            if rank == root {
                assert_eq!(sum, [(0..size).sum::<usize>() as f64, size as f64]);
            }
        }
        let varied = world.all_gather_buffer(&vec![rank as u16; rank])?;
        assert_eq!(varied.len(), (0..size).sum::<usize>());

        let all_of = |send: &[f64], op: Op| -> rspar::Result<Vec<f64>> {
            let mut out = vec![0.0; send.len()];
            world.all_reduce_buffer(send, &mut out, op)?;
            Ok(out)
        };
        assert_eq!(
            all_of(&[r + 1.0], Op::Product)?[0],
            (1..=size).product::<usize>() as f64
        );
        assert_eq!(all_of(&[r], Op::Max)?[0], (size - 1) as f64);
        assert_eq!(all_of(&[r], Op::Min)?[0], 0.0);
        // Truth values as integers (0 false, anything else true; results 0 or 1):
        // `bool` is not `Plain`, since not every byte is a valid `bool`.
        let truth = |values: [bool; 3]| values.map(u8::from);
        let mut b = [0u8; 3];
        let (first, odd) = (rank == 0, rank % 2 == 1);
        world.all_reduce_buffer(&truth([true, first, odd]), &mut b, Op::LogicalAnd)?;
        assert_eq!(b, truth([true, size == 1, false]));
        world.all_reduce_buffer(&truth([false, first, odd]), &mut b, Op::LogicalOr)?;
        assert_eq!(b, truth([false, true, size > 1]));
        world.all_reduce_buffer(&truth([true, false, true]), &mut b, Op::LogicalXor)?;
        assert_eq!(b, truth([size % 2 == 1, false, size % 2 == 1]));
        let bit = 1u32 << rank;
        let mut u = [0u32];
        world.all_reduce_buffer(&[bit], &mut u, Op::BitOr)?;
        assert_eq!(u[0], (1u32 << size) - 1);
        world.all_reduce_buffer(&[bit | 1 << 20], &mut u, Op::BitAnd)?;
        assert_eq!(u[0], if size == 1 { 1 | 1 << 20 } else { 1 << 20 });
        world.all_reduce_buffer(&[bit], &mut u, Op::BitXor)?;
        assert_eq!(u[0], (1u32 << size) - 1);

        let mut upto = [0i64];
        world.scan_buffer(&[rank as i64 + 1], &mut upto, Op::Sum)?;
        assert_eq!(upto[0] as usize, (rank + 1) * (rank + 2) / 2);
        let mut before = [-1i64];
        world.exscan_buffer(&[1], &mut before, Op::Sum)?;
        if rank > 0 {
            assert_eq!(before[0] as usize, rank);
        }
        // MAXLOC / MINLOC: the lowest rank wins ties.
        let values = [r, -r, 7.0];
        let max = world.all_reduce_loc_buffer(&values, Loc::Max)?;
        assert_eq!(max, vec![((size - 1) as f64, size - 1), (0.0, 0), (7.0, 0)]);
        let min = world.all_reduce_loc_buffer(&values, Loc::Min)?;
        assert_eq!(
            min,
            vec![(0.0, 0), (-((size - 1) as f64), size - 1), (7.0, 0)]
        );
        // A mismatched receive buffer is this rank's error, and the others finish.
        let mut short = [0.0f64; 1];
        let err = world
            .all_reduce_buffer(&[1.0, 2.0], &mut short, Op::Sum)
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::BufferLength { send: 2, recv: 1 });
        assert_eq!(short, [0.0]);
        // Likewise a root's short buffer in a reduce: only the root gets the error, and
        // the next reduce still sums correctly.
        let root = size - 1;
        let mut short: [f64; 1] = [0.0];
        let got = world.reduce_buffer(&[1.0, 2.0], &mut short, Op::Sum, root);
        if rank == root {
            assert!(matches!(
                got.unwrap_err().kind(),
                ErrorKind::BufferLength { send: 2, recv: 1 }
            ));
            assert_eq!(short, [0.0]);
        } else {
            got?;
        }
        let mut sum = [0.0f64; 2];
        world.reduce_buffer(&[1.0, r], &mut sum, Op::Sum, root)?;
        if rank == root {
            assert_eq!(sum, [size as f64, (size * (size - 1) / 2) as f64]);
        }
        Ok(())
    });
}

#[test]
fn split_communicators_run_collectives_side_by_side() {
    spmd(
        "split_communicators_run_collectives_side_by_side",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let parity = world
                .split(Some((rank % 2) as u32), rank as i32)?
                .expect("member");
            let expected_size = (size + 1 - rank % 2) / 2;
            assert_eq!(parity.size(), expected_size);
            assert_eq!(parity.rank(), rank / 2);
            let members = parity.all_gather(&rank)?;
            assert!(members.iter().all(|r| r % 2 == rank % 2));
            let total = parity.all_reduce(&rank, |a, b| a + b)?;
            assert_eq!(total, members.iter().sum::<usize>());
            // Reverse order by key.
            let reversed = world.split(Some(0), -(rank as i32))?.unwrap();
            assert_eq!(reversed.rank(), size - 1 - rank);
            // Ranks that opt out get no communicator.
            let none = world.split((rank != 0).then_some(1), 0)?;
            assert_eq!(none.is_none(), rank == 0);
            // Point-to-point on a duplicate never meets the world's messages.
            let dup = world.duplicate()?;
            dup.send(&"dup", rank)?;
            world.send(&"world", rank)?;
            assert_eq!(world.receive::<String>(Any)?, "world");
            assert_eq!(dup.receive::<String>(Any)?, "dup");
            Ok(())
        },
    );
}

#[test]
fn balance_covers_the_work_on_every_rank() {
    spmd("balance_covers_the_work_on_every_rank", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        for n in [0, 1, size - 1, size, 1000, 1001] {
            let mine = rspar::balance(n, size, rank);
            let lens = world.all_gather(&(mine.start, mine.end))?;
            assert_eq!(lens[0].0, 0);
            assert_eq!(lens[size - 1].1, n);
            assert!(lens.windows(2).all(|w| w[0].1 == w[1].0));
        }
        Ok(())
    });
}

/// `barrier` runs where rspar's other collectives run, never on the user's communicator:
/// a nonblocking barrier of the user's own on `raw()`, posted by rank 0 before rspar's
/// barrier, is still incomplete after it, until the other ranks post theirs (after a
/// message from rank 0). When rspar's barrier ran on `raw()`, it completed rank 0's.
#[test]
fn barrier_never_matches_a_barrier_on_the_users_communicator() {
    spmd(
        "barrier_never_matches_a_barrier_on_the_users_communicator",
        SIZES,
        |world| {
            use rspar::mpi::traits::CommunicatorCollectives as _;
            let size = world.size();
            if world.rank() == 0 {
                let mut own = world.raw().immediate_barrier();
                world.barrier()?;
                for _ in 0..20 {
                    match own.test() {
                        Ok(_) => {
                            assert_eq!(size, 1, "rspar's barrier completed the user's own");
                            return Ok(());
                        }
                        Err(again) => own = again,
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                for rank in 1..size {
                    world.send(&"go", rank)?;
                }
                own.wait();
            } else {
                world.barrier()?;
                assert_eq!(world.receive::<String>(0)?, "go");
                world.raw().immediate_barrier().wait();
            }
            Ok(())
        },
    );
}

/// Collectives on empty byte buffers: an empty `Vec<u8>`'s pointer is 1, Open MPI's
/// `MPI_IN_PLACE`, and MPI once read it so (an invalid argument that ended the job).
#[test]
fn empty_byte_buffers_in_every_buffer_collective() {
    spmd(
        "empty_byte_buffers_in_every_buffer_collective",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let none: Vec<u8> = Vec::new();
            let mut nothing: Vec<u8> = Vec::new();
            world.broadcast_buffer(&mut nothing, 0)?;
            world.all_reduce_buffer(&none, &mut nothing, Op::Sum)?;
            world.reduce_buffer(&none, &mut nothing, Op::Max, 0)?;
            let gathered = world.gather_buffer(&none, 0)?;
            assert_eq!(gathered.map(|g| g.len()), (rank == 0).then_some(0));
            assert!(world.all_gather_buffer(&none)?.is_empty());
            let mine = world.scatter_buffer(if rank == 0 { &none[..] } else { &[] }, 0)?;
            assert!(mine.is_empty());
            // Only the root's bytes: everyone else gives none.
            let mine = vec![7u8; if rank == 0 { 3 } else { 0 }];
            let all = world.all_gather_buffer(&mine)?;
            assert_eq!(all, [7, 7, 7]);
            assert_eq!(world.all_gather(&mine.len())?.len(), size);
            Ok(())
        },
    );
}

/// `gather_buffer_into` and `scatter_buffer_into` fill the caller's buffers, from roots 0
/// and N-1; a root buffer of the wrong length is `Err(Count)` on the root alone (the
/// other ranks' calls complete, the root's buffer is not written) and the communicator
/// goes on.
#[test]
fn gather_and_scatter_into_the_callers_buffers() {
    spmd(
        "gather_and_scatter_into_the_callers_buffers",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            for root in roots(world) {
                let mine = [rank as u32 * 10, rank as u32 * 10 + 1];
                let mut all = vec![0u32; if rank == root { 2 * size } else { 0 }];
                world.gather_buffer_into(&mine, &mut all, root)?;
                if rank == root {
                    let want: Vec<u32> = (0..size as u32)
                        .flat_map(|r| [r * 10, r * 10 + 1])
                        .collect();
                    assert_eq!(all, want);
                }
                let data: Vec<f64> = (0..3 * size).map(|i| i as f64).collect();
                let mut got = [0.0f64; 3];
                world.scatter_buffer_into(
                    if rank == root { &data } else { &[] },
                    &mut got,
                    root,
                )?;
                assert_eq!(
                    got,
                    [
                        3.0 * rank as f64,
                        3.0 * rank as f64 + 1.0,
                        3.0 * rank as f64 + 2.0
                    ]
                );

                // One element short at the root.
                let mut short = vec![7u32; if rank == root { 2 * size - 1 } else { 0 }];
                let gathered = world.gather_buffer_into(&mine, &mut short, root);
                let mut got = [9.0f64; 3];
                let cut = &data[..if rank == root { 3 * size - 1 } else { 0 }];
                let scattered = world.scatter_buffer_into(cut, &mut got, root);
                if rank == root {
                    for (err, expected, got) in [
                        (gathered.unwrap_err(), 2 * size, 2 * size - 1),
                        (scattered.unwrap_err(), 3 * size, 3 * size - 1),
                    ] {
                        assert_eq!(err.kind(), &ErrorKind::Count { expected, got });
                        assert!(
                            err.to_string()
                                .contains(&format!("expected {expected}, got {got}")),
                            "{err}"
                        );
                    }
                    assert!(
                        short.iter().all(|&x| x == 7),
                        "the root's buffer was written"
                    );
                } else {
                    gathered?;
                    scattered?;
                }
            }
            let back: usize = world.sendrecv(&rank, (rank + 1) % size, (rank + size - 1) % size)?;
            assert_eq!(back, (rank + size - 1) % size);
            Ok(())
        },
    );
}
