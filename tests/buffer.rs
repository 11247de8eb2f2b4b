//! The zero-copy buffer path, under mpirun at 1..5 ranks.

mod common;

use common::{spmd, SIZES};
use rspar::{Any, ErrorKind, Op};

#[derive(rspar::Plain, Clone, Copy, Debug, PartialEq, Default)]
struct Particle {
    position: [f64; 3],
    charge: i32,
    alive: bool,
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
        alive: i % 2 == 0,
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
            let status = world.receive_buffer(&mut got_f, left)?;
            assert_eq!((status.source, status.tag, status.bytes), (left, 0, 8000));
            assert_eq!(got_f, f(left));
            let mut got_i = vec![0i32; 777];
            world.receive_buffer(&mut got_i, left)?;
            assert_eq!(got_i, ints(left));
            let got_mib: Vec<u8> = world.receive_vec(left)?;
            assert_eq!(got_mib, mib(left));
            let (got_p, status) = world.receive_vec_with_status::<Particle>(Any)?;
            assert_eq!(status.source, left);
            assert_eq!(got_p, parts(left));
            let mut empty: [f64; 0] = [];
            assert_eq!(world.receive_buffer(&mut empty, left)?.bytes, 0);
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
fn wrong_length_is_truncated_error_and_keeps_the_message() {
    spmd(
        "wrong_length_is_truncated_error_and_keeps_the_message",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            world.send_buffer(&[rank as u32; 10], right)?;
            // A longer slice: the message is kept (and then held by rspar, so any other
            // length is refused with it kept too).
            for wrong in [11, 9, 0, 12] {
                let mut too = vec![0u32; wrong];
                let err = world.receive_buffer(&mut too, left).unwrap_err();
                assert_eq!(
                    err.kind(),
                    &ErrorKind::Truncated {
                        expected: wrong,
                        got: 10
                    }
                );
            }
            let mut exact = [0u32; 10];
            world.receive_buffer(&mut exact, left)?;
            assert_eq!(exact, [left as u32; 10]);
            // A shorter slice fresh from MPI: MPI_ERR_TRUNCATE, reported, not an abort.
            world.send_buffer(&[rank as u32; 10], right)?;
            let mut short = [0u32; 9];
            let err = world.receive_buffer(&mut short, left).unwrap_err();
            if size > 1 {
                assert_eq!(err.kind(), &ErrorKind::Overflow { capacity: 9 });
            } else {
                // Sent to self: held by rspar, so kept.
                assert!(matches!(err.kind(), ErrorKind::Truncated { got: 10, .. }));
                world.receive_buffer(&mut exact, left)?;
            }
            // A whole number of elements is required of a Vec receive too.
            world.send_buffer(&[1u8, 2, 3], right)?;
            assert!(world.receive_vec::<u64>(left).is_err());
            assert_eq!(world.receive_vec::<u8>(left)?, [1, 2, 3]);
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
        let got: Vec<f32> = world.tag(5).receive_vec(left)?;
        assert_eq!(got, [2.5; 4]);
        let text: String = world.tag(6).receive(left)?;
        assert_eq!(text, "object");
        Ok(())
    });
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
                let status = world.receive_buffer(&mut got, left)?;
                assert_eq!(status.bytes, n * 24);
                assert_eq!(got, vecs(left, n));
                let (got, status) = world.receive_vec_with_status::<[[i32; 2]; 2]>(left)?;
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
        let err = world.receive_buffer(&mut long, left).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::Truncated {
                expected: 6,
                got: 5
            }
        );
        let mut exact = vec![[0.0; 3]; 5];
        world.receive_buffer(&mut exact, left)?;
        assert_eq!(exact, vecs(left, 5));
        // Four numbers are not a whole number of [f64; 3]: refused and kept.
        world.send_buffer(&[1.0f64, 2.0, 3.0, 4.0], right)?;
        assert!(world.receive_vec::<[f64; 3]>(left).is_err());
        assert_eq!(world.receive_vec::<f64>(left)?, [1.0, 2.0, 3.0, 4.0]);
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
        let status = world.receive_buffer(&mut got, left)?;
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
        assert_eq!(world.receive_vec::<Pair>(left)?, pairs(left));
        assert_eq!(
            world.receive_vec::<[P; 2]>(left)?,
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
