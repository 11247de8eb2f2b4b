//! Collectives whose counts pass MPI's C `int` on one rank only, under mpirun at 1..5
//! ranks: every rank returns `Err` (or every rank succeeds), never one rank returning
//! while the others wait in the data's collective. The limit is lowered for the test
//! (`rspar::__private::limit_counts`, the same code path as `i32::MAX`), so no gigabytes
//! are needed; `tests/large.rs` has the real sizes.

mod common;

use common::{spmd, SIZES};
use rspar::ErrorKind;

/// The lowered limit, in bytes.
const LIMIT: u64 = 1000;

/// Every rank sends rank 0 a 600-byte value and the others a small one: rank 0's
/// receive total (at 2 ranks or more) passes the limit, nobody's send total does. Rank 0
/// alone can see it; every rank must stop.
#[test]
fn all_to_all_over_the_limit_on_one_rank_fails_everywhere() {
    spmd(
        "all_to_all_over_the_limit_on_one_rank_fails_everywhere",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            rspar::__private::limit_counts(LIMIT);
            let values: Vec<Vec<u8>> = (0..size)
                .map(|to| vec![rank as u8; if to == 0 { 600 } else { 1 }])
                .collect();
            let got = world.all_to_all(&values);
            if size == 1 {
                assert_eq!(got?, values);
            } else if rank == 0 {
                let err = got.unwrap_err();
                assert!(
                    matches!(err.kind(), ErrorKind::TooLarge { max: LIMIT, .. }),
                    "{err}"
                );
            } else {
                assert_eq!(got.unwrap_err().kind(), &ErrorKind::Peer { rank: 0 });
            }
            // The communicator goes on, at the real limit, with the same values.
            rspar::__private::limit_counts(i32::MAX as u64);
            let got = world.all_to_all(&values)?;
            for (from, value) in got.iter().enumerate() {
                assert_eq!(value, &vec![from as u8; if rank == 0 { 600 } else { 1 }]);
            }
            Ok(())
        },
    );
}
