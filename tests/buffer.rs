//! The zero-copy buffer path, under mpirun at 1..5 ranks.

mod common;

use common::{spmd, SIZES};
use rspar::{Any, ErrorKind};

#[derive(rspar::Plain, Clone, Copy, Debug, PartialEq, Default)]
struct Particle {
    position: [f64; 3],
    charge: i32,
    alive: bool,
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
