//! Many ranks on a small machine: the ring, the collectives tour and the task farm at 32
//! and 64 ranks (oversubscribed: far more ranks than cores), each within a time bound.

mod common;

use common::{assert_ring_went_round, example, mpirun_with};
use std::time::Duration;

/// The bound for one job: generous for 64 ranks on 2 cores (a debug build takes
/// 1-10 s), tight enough that a stall is a failure, not a stuck CI.
const BOUND: Duration = Duration::from_secs(90);

const SIZES: [usize; 2] = [32, 64];

#[test]
fn ring_goes_round_32_and_64_ranks() {
    for n in SIZES {
        let run = mpirun_with(n, &example("ring"), &[], &[], BOUND);
        assert_ring_went_round(&run, n);
    }
}

#[test]
fn collectives_tour_passes_at_32_and_64_ranks() {
    for n in SIZES {
        let root = (n / 2 + 1).to_string();
        let run = mpirun_with(n, &example("collectives"), &["--root", &root], &[], BOUND);
        run.assert_success();
        let last = format!("all collectives ok on {n} ranks");
        assert!(
            run.stdout.lines().any(|l| l == last),
            "missing '{last}'\n{}",
            run.report()
        );
    }
}

fn fib(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

#[test]
fn farm_shares_work_among_31_and_63_workers() {
    // Three tasks per worker, of mixed sizes: every worker gets work, answers come back
    // in input order.
    for n in SIZES {
        let inputs: Vec<u64> = (0..3 * n as u64).map(|i| 10 + i % 15).collect();
        let args: Vec<String> = inputs.iter().map(u64::to_string).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = mpirun_with(n, &example("fib"), &args, &[], BOUND);
        run.assert_success();
        let expect = format!("{:?}", inputs.iter().map(|&i| fib(i)).collect::<Vec<_>>());
        assert_eq!(run.stdout.trim_end(), expect, "{}", run.report());
    }
}
