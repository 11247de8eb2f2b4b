//! The zero-copy buffer path, under mpirun at 1..5 ranks.

mod common;

use std::time::Duration;

use common::{spmd, SIZES};
use rspar::{Any, ErrorKind, Op};

#[derive(rspar::Plain, Clone, Copy, Debug, PartialEq, Default)]
struct Particle {
    position: [f64; 3],
    charge: i32,
    alive: u8,
}

/// A field before and after an array, with padding: Rust lays it out as `pos`, `q`, `a`
/// and 3 bytes of padding (32 bytes); MPI sends the 29 bytes of its fields.
#[derive(rspar::Plain, Clone, Copy, Debug, PartialEq, Default)]
struct P {
    a: u8,
    pos: [f64; 3],
    q: i32,
}

/// A tuple struct holding an array of derived structs.
#[derive(rspar::Plain, Clone, Copy, Debug, PartialEq, Default)]
struct Pair(u16, [P; 2]);

fn p(rank: usize, i: usize) -> P {
    P {
        a: (rank * 10 + i) as u8,
        pos: [rank as f64, i as f64, 0.25 * i as f64],
        q: -((rank * 1000 + i) as i32),
    }
}

fn vec3(rank: usize, i: usize) -> [f64; 3] {
    [rank as f64, i as f64, 0.5 * i as f64 - rank as f64]
}

fn block(rank: usize, i: usize) -> [[i32; 2]; 2] {
    let (r, i) = (rank as i32, i as i32);
    [[r, i], [-i, r * 100 + i]]
}

fn particle(rank: usize, i: usize) -> Particle {
    Particle {
        position: [rank as f64, i as f64, -1.0],
        charge: (rank * 1000 + i) as i32,
        alive: (i % 2) as u8,
    }
}

#[test]
fn slices_of_every_kind_go_round_the_ring() {
    spmd("slices_of_every_kind_go_round_the_ring", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        let f = |r: usize| {
            (0..1000)
                .map(|i| r as f64 + i as f64 / 7.0)
                .collect::<Vec<_>>()
        };
        let ints = |r: usize| (0..777).map(|i| i * r as i32 - 5).collect::<Vec<_>>();
        let mib = |r: usize| (0..1 << 20).map(|i| (i + r) as u8).collect::<Vec<_>>();
        let parts = |r: usize| (0..100).map(|i| particle(r, i)).collect::<Vec<_>>();

        // Large standard-mode sends block until received: even ranks send first, odd
        // ranks receive first, so no two neighbours wait on each other.
        let send_all = || -> rspar::Result<()> {
            world.send_buffer(&f(rank), right)?;
            world.send_buffer(&ints(rank), right)?;
            world.send_buffer(&mib(rank), right)?;
            world.send_buffer(&parts(rank), right)?;
            world.send_buffer::<f64>(&[], right)
        };
        let receive_all = || -> rspar::Result<()> {
            let mut got_f = vec![0.0; 1000];
            let status = world.with_status().receive_buffer_into(&mut got_f, left)?;
            assert_eq!((status.source, status.tag, status.bytes), (left, 0, 8000));
            assert_eq!(got_f, f(left));
            let mut got_i = vec![0i32; 777];
            world.receive_buffer_into(&mut got_i, left)?;
            assert_eq!(got_i, ints(left));
            let got_mib: Vec<u8> = world.receive_buffer(left)?;
            assert_eq!(got_mib, mib(left));
            let (got_p, status) = world.with_status().receive_buffer::<Particle>(Any)?;
            assert_eq!(status.source, left);
            assert_eq!(got_p, parts(left));
            let mut empty: [f64; 0] = [];
            assert_eq!(
                world
                    .with_status()
                    .receive_buffer_into(&mut empty, left)?
                    .bytes,
                0
            );
            Ok(())
        };
        if rank % 2 == 0 {
            send_all()?;
            receive_all()?;
        } else {
            receive_all()?;
            send_all()?;
        }
        Ok(())
    });
}

#[test]
fn wrong_length_is_an_error_and_the_communicator_goes_on() {
    spmd(
        "wrong_length_is_an_error_and_the_communicator_goes_on",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            world.send_buffer(&[rank as u32; 10], right)?;
            // A longer slice: the message is kept (and then held by rspar, which refuses
            // every longer slice the same way).
            for wrong in [11, 12, 10_000] {
                let mut too = vec![0u32; wrong];
                let err = world.receive_buffer_into(&mut too, left).unwrap_err();
                assert_eq!(
                    err.kind(),
                    &ErrorKind::ShortMessage {
                        capacity: wrong,
                        got: 10
                    }
                );
            }
            let mut exact = [0u32; 10];
            world.receive_buffer_into(&mut exact, left)?;
            assert_eq!(exact, [left as u32; 10]);
            // A shorter slice: MPI_ERR_TRUNCATE, reported, not an abort. Fresh from MPI,
            // MPI does not say how long the message was, nor promise its start in the
            // slice (Open MPI writes it there).
            world.send_buffer(&[rank as u32; 10], right)?;
            let mut short = [0u32; 9];
            let err = world.receive_buffer_into(&mut short, left).unwrap_err();
            let got = if size > 1 { None } else { Some(10) };
            assert_eq!(err.kind(), &ErrorKind::Overflow { capacity: 9, got });
            if got.is_some() || open_mpi() {
                assert_eq!(short, [left as u32; 9]);
            }
            // A held message (refused by a longer slice) into a shorter one, and into none.
            for capacity in [9, 0] {
                world.send_buffer(&[rank as u32 + 1; 10], right)?;
                let err = world
                    .receive_buffer_into(&mut [0u32; 11], left)
                    .unwrap_err();
                assert!(matches!(err.kind(), ErrorKind::ShortMessage { .. }));
                let mut short = vec![0u32; capacity];
                let err = world.receive_buffer_into(&mut short, left).unwrap_err();
                let got = Some(10);
                assert_eq!(err.kind(), &ErrorKind::Overflow { capacity, got });
                assert_eq!(short, vec![left as u32 + 1; capacity]);
            }
            // A whole number of elements is required of a Vec receive too: from another
            // rank the message is consumed (Decode), as on every MPI path; from this rank
            // the buffer's type is known (TypeMismatch), and it is kept.
            world.send_buffer(&[1u8, 2, 3], right)?;
            world.send_buffer(&[4u8, 5, 6], right)?;
            let err = world.receive_buffer::<u64>(left).unwrap_err();
            if left == rank {
                assert!(
                    matches!(err.kind(), ErrorKind::TypeMismatch { .. }),
                    "{err}"
                );
                assert_eq!(world.receive_buffer::<u8>(left)?, [1, 2, 3]);
            } else {
                assert!(matches!(err.kind(), ErrorKind::Decode { .. }), "{err}");
            }
            assert_eq!(world.receive_buffer::<u8>(left)?, [4, 5, 6]);
            Ok(())
        },
    );
}

#[test]
fn tagged_buffers_and_object_mismatch() {
    spmd("tagged_buffers_and_object_mismatch", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        world.tag(5).send_buffer(&[2.5f32; 4], right)?;
        world.tag(6).send(&"object", right)?;
        let got: Vec<f32> = world.tag(5).receive_buffer(left)?;
        assert_eq!(got, [2.5; 4]);
        let text: String = world.tag(6).receive(left)?;
        assert_eq!(text, "object");
        Ok(())
    });
}

/// The receives a wrong-length slice may meet: a plain receive (a direct `MPI_Recv`), a
/// timed receive (a matched probe first), and a message sent to self (held by rspar).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Path {
    Plain,
    Timed,
    ToSelf,
}

#[test]
fn wrong_lengths_behave_the_same_on_every_path() {
    spmd(
        "wrong_lengths_behave_the_same_on_every_path",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let wait = Duration::from_secs(60);
            for (tag, path) in [(11, Path::Plain), (12, Path::Timed), (13, Path::ToSelf)] {
                let (to, from) = match path {
                    Path::ToSelf => (rank, rank),
                    _ => ((rank + 1) % size, (rank + size - 1) % size),
                };
                let view = match path {
                    Path::Timed => world.tag(tag).timeout(wait),
                    _ => world.tag(tag),
                };
                let (me, peer) = (rank as u32, from as u32);
                // Longer than the slice: received, its start in the slice (where MPI
                // cut it, if MPI wrote it), the rest lost.
                view.send_buffer(&[me; 10], to)?;
                view.send_buffer(&[me + 100; 3], to)?;
                let mut short = [u32::MAX; 9];
                let err = view.receive_buffer_into(&mut short, from).unwrap_err();
                // Only MPI_Recv cuts a message without saying how long it was.
                let got = (path != Path::Plain || from == rank).then_some(10);
                let overflow = ErrorKind::Overflow { capacity: 9, got };
                assert_eq!(err.kind(), &overflow, "{path:?}");
                if got.is_some() || open_mpi() {
                    assert_eq!(short, [peer; 9], "{path:?}");
                }
                let mut next = [0u32; 3];
                view.receive_buffer_into(&mut next, from)?;
                assert_eq!(next, [peer + 100; 3], "{path:?}: the long message is gone");
                // Shorter than the slice: nothing received, the message stays queued (also
                // after a second refusal), and a receive with its length gets it.
                view.send_buffer(&[me + 200; 4], to)?;
                view.send_buffer(&[me + 300; 2], to)?;
                for _ in 0..2 {
                    let mut long = [0u32; 6];
                    let err = view.receive_buffer_into(&mut long, from).unwrap_err();
                    let short = ErrorKind::ShortMessage {
                        capacity: 6,
                        got: 4,
                    };
                    assert_eq!(err.kind(), &short, "{path:?}");
                }
                let mut exact = [0u32; 4];
                view.receive_buffer_into(&mut exact, from)?;
                assert_eq!(exact, [peer + 200; 4], "{path:?}");
                let mut exact = [0u32; 2];
                view.receive_buffer_into(&mut exact, from)?;
                assert_eq!(exact, [peer + 300; 2], "{path:?}");
            }
            // A message a timed receive refused stays matched in MPI; a shorter slice then
            // receives it like any other longer message.
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            let view = world.tag(14);
            view.send_buffer(&[rank as u32; 5], right)?;
            view.send_buffer(&[7u32], right)?;
            let mut long = [0u32; 8];
            let err = view.timeout(wait).receive_buffer_into(&mut long, left);
            let short = ErrorKind::ShortMessage {
                capacity: 8,
                got: 5,
            };
            assert_eq!(err.unwrap_err().kind(), &short);
            let mut short = [0u32; 2];
            let err = view.receive_buffer_into(&mut short, left).unwrap_err();
            let overflow = ErrorKind::Overflow {
                capacity: 2,
                got: Some(5),
            };
            assert_eq!(err.kind(), &overflow);
            assert_eq!(short, [left as u32; 2]);
            assert_eq!(view.receive_buffer::<u32>(left)?, [7]);
            Ok(())
        },
    );
}

/// Whether the MPI is Open MPI, which writes the start of a message it cuts
/// (`MPI_ERR_TRUNCATE`) into the buffer; MPI does not promise it, and MPICH 4.0 does not.
fn open_mpi() -> bool {
    rspar::mpi::environment::library_version().is_ok_and(|v| v.contains("Open MPI"))
}

#[test]
fn arrays_go_round_the_ring() {
    spmd("arrays_go_round_the_ring", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        let lengths = [0, 1, 7, 300];
        let vecs = |r: usize, n: usize| (0..n).map(|i| vec3(r, i)).collect::<Vec<_>>();
        let blocks = |r: usize, n: usize| (0..n).map(|i| block(r, i)).collect::<Vec<_>>();
        let send_all = || -> rspar::Result<()> {
            for n in lengths {
                world.send_buffer(&vecs(rank, n), right)?;
                world.send_buffer(&blocks(rank, n), right)?;
            }
            Ok(())
        };
        let receive_all = || -> rspar::Result<()> {
            for n in lengths {
                let mut got = vec![[0.0f64; 3]; n];
                let status = world.with_status().receive_buffer_into(&mut got, left)?;
                assert_eq!(status.bytes, n * 24);
                assert_eq!(got, vecs(left, n));
                let (got, status) = world.with_status().receive_buffer::<[[i32; 2]; 2]>(left)?;
                assert_eq!(status.bytes, n * 16);
                assert_eq!(got, blocks(left, n));
            }
            Ok(())
        };
        if rank % 2 == 0 {
            send_all()?;
            receive_all()?;
        } else {
            receive_all()?;
            send_all()?;
        }
        // Lengths are counted in arrays, not in their numbers.
        world.send_buffer(&vecs(rank, 5), right)?;
        let mut long = vec![[0.0; 3]; 6];
        let err = world.receive_buffer_into(&mut long, left).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::ShortMessage {
                capacity: 6,
                got: 5
            }
        );
        let mut exact = vec![[0.0; 3]; 5];
        world.receive_buffer_into(&mut exact, left)?;
        assert_eq!(exact, vecs(left, 5));
        // Four numbers are not a whole number of [f64; 3]: from another rank Decode, and
        // consumed (as on every MPI path: tests/order.rs); from this rank the buffer's
        // type is known (TypeMismatch), and it is kept.
        world.send_buffer(&[1.0f64, 2.0, 3.0, 4.0], right)?;
        world.send_buffer(&[5.0f64, 6.0, 7.0], right)?;
        let err = world.receive_buffer::<[f64; 3]>(left).unwrap_err();
        if left == rank {
            assert!(
                matches!(err.kind(), ErrorKind::TypeMismatch { .. }),
                "{err}"
            );
            assert_eq!(world.receive_buffer::<f64>(left)?, [1.0, 2.0, 3.0, 4.0]);
            assert_eq!(world.receive_buffer::<f64>(left)?, [5.0, 6.0, 7.0]);
        } else {
            assert!(matches!(err.kind(), ErrorKind::Decode { .. }), "{err}");
            assert_eq!(world.receive_buffer::<[f64; 3]>(left)?, [[5.0, 6.0, 7.0]]);
        }
        Ok(())
    });
}

#[test]
fn arrays_in_buffer_collectives() {
    spmd("arrays_in_buffer_collectives", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let root = size / 2;
        let vecs = |r: usize, n: usize| (0..n).map(|i| vec3(r, i)).collect::<Vec<_>>();
        let blocks = |r: usize, n: usize| (0..n).map(|i| block(r, i)).collect::<Vec<_>>();

        let mut grid = if rank == root {
            vecs(root, 5)
        } else {
            vec![[0.0; 3]; 5]
        };
        world.broadcast_buffer(&mut grid, root)?;
        assert_eq!(grid, vecs(root, 5));
        let mut cells = if rank == root {
            blocks(root, 3)
        } else {
            vec![[[0; 2]; 2]; 3]
        };
        world.broadcast_buffer(&mut cells, root)?;
        assert_eq!(cells, blocks(root, 3));

        // Reductions are element-wise over the numbers of the arrays.
        let r = rank as f64;
        let mut sum = [[0.0; 3]; 2];
        world.all_reduce_buffer(&[[r, 1.0, -r], [2.0, r * r, 0.5]], &mut sum, Op::Sum)?;
        let ranks: f64 = (0..size).map(|r| r as f64).sum();
        let squares: f64 = (0..size).map(|r| (r * r) as f64).sum();
        let n = size as f64;
        assert_eq!(sum, [[ranks, n, -ranks], [2.0 * n, squares, 0.5 * n]]);
        let mut total = [[[0i32; 2]; 2]];
        world.all_reduce_buffer(&[block(rank, 1)], &mut total, Op::Sum)?;
        let (ranks, n) = (ranks as i32, size as i32);
        assert_eq!(total, [[[ranks, n], [-n, 100 * ranks + n]]]);
        let mut max = [[[0i32; 2]; 2]];
        world.all_reduce_buffer(&[block(rank, 1)], &mut max, Op::Max)?;
        assert_eq!(max, [block(size - 1, 1)]);
        let mut upto = [[0i32; 2]; 2];
        world.scan_buffer(&block(rank, 1), &mut upto, Op::Sum)?;
        let below = (0..=rank as i32).sum::<i32>();
        let k = rank as i32 + 1;
        assert_eq!(upto, [[below, k], [-k, 100 * below + k]]);
        let mut on_root = [[0.0; 3]; 1];
        world.reduce_buffer(&[vec3(rank, 2)], &mut on_root, Op::Min, root)?;
        if rank == root {
            assert_eq!(on_root, [[0.0, 2.0, 1.0 - (size - 1) as f64]]);
        }

        // Gathers: rank r gives r + 1 arrays (or r blocks, so some give none).
        let gathered = world.gather_buffer(&vecs(rank, rank + 1), root)?;
        let expected: Vec<_> = (0..size).flat_map(|r| vecs(r, r + 1)).collect();
        assert_eq!(gathered, (rank == root).then(|| expected.clone()));
        let all = world.all_gather_buffer(&blocks(rank, rank))?;
        let expected: Vec<_> = (0..size).flat_map(|r| blocks(r, r)).collect();
        assert_eq!(all, expected);

        // Scatter: two arrays per rank.
        let source = vecs(root, 2 * size);
        let mine = world.scatter_buffer(if rank == root { &source } else { &[] }, root)?;
        assert_eq!(mine, source[2 * rank..2 * rank + 2]);
        Ok(())
    });
}

#[test]
fn derived_struct_with_array_and_padding() {
    spmd("derived_struct_with_array_and_padding", SIZES, |world| {
        let (rank, size) = (world.rank(), world.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        assert_eq!(std::mem::size_of::<P>(), 32);
        let ps = |r: usize| (0..9).map(|i| p(r, i)).collect::<Vec<_>>();
        let pairs = |r: usize| {
            (0..4)
                .map(|i| Pair(i as u16 + 7, [p(r, i), p(r + 1, i)]))
                .collect::<Vec<_>>()
        };
        world.send_buffer(&ps(rank), right)?;
        world.send_buffer(&pairs(rank), right)?;
        world.send_buffer(&[[p(rank, 1), p(rank, 2)]; 3], right)?;

        let mut got = vec![P::default(); 9];
        let status = world.with_status().receive_buffer_into(&mut got, left)?;
        // MPI sends the fields, not the padding (fresh from MPI; held messages to
        // oneself count the Rust size).
        if size > 1 {
            assert_eq!(status.bytes, 9 * 29);
        }
        // Field by field: a wrong stride would shift every value after the first.
        for (i, value) in got.iter().enumerate() {
            assert_eq!(value.a, (left * 10 + i) as u8);
            assert_eq!(value.pos, [left as f64, i as f64, 0.25 * i as f64]);
            assert_eq!(value.q, -((left * 1000 + i) as i32));
        }
        assert_eq!(world.receive_buffer::<Pair>(left)?, pairs(left));
        assert_eq!(
            world.receive_buffer::<[P; 2]>(left)?,
            [[p(left, 1), p(left, 2)]; 3]
        );

        // Through rsmpi's collectives too.
        let all = world.all_gather_buffer(&ps(rank)[..rank + 1])?;
        let expected: Vec<P> = (0..size).flat_map(|r| ps(r)[..r + 1].to_vec()).collect();
        assert_eq!(all, expected);
        let mut shared = if rank == 0 {
            pairs(0)
        } else {
            vec![Pair::default(); 4]
        };
        world.broadcast_buffer(&mut shared, 0)?;
        assert_eq!(shared, pairs(0));
        Ok(())
    });
}
