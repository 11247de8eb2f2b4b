//! Issue 35 item 4: a worker that sends its report and then dies before the root looks
//! for it. The root hands each worker one task (`submit`, one task per batch) and then
//! makes no pool call for a while; meanwhile the victim (the last rank) reports its task
//! and kills itself (SIGKILL, 30 ms after its task ends). When the root next looks, it
//! may learn of the failure first (its batch is then queued again) and find the report
//! after, or the other way round: either way each task finishes once, the busy count
//! stays true (no overflow, no spin in `close`), every result arrives, in order, and the
//! lost rank is named once. Under ULFM (`scripts/test.sh --mpi ulfm`) the job exits 0;
//! under Open MPI 4.1 and MPICH a dead rank ends the job with an error. On 3..5 ranks,
//! each job with a 60 s limit (a hang fails).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{in_rank, launch_self_within, note};

const NAME: &str = "a_report_sent_just_before_its_worker_died_counts_once";
const LIMIT: Duration = Duration::from_secs(60);
const DONE: &str = "lost-report: all results delivered";

fn rank_body() {
    let world = rspar::init().expect("init");
    let (rank, n) = (world.rank(), world.size());
    let victim = rank == n - 1;
    world.barrier().expect("barrier");
    let first = AtomicBool::new(true);
    let task = |x: u64| {
        if victim && first.swap(false, Ordering::Relaxed) {
            // The report goes out at once; the process dies 300 ms later.
            common::die_in(Duration::from_millis(300));
        }
        x * x
    };
    let built = rspar::Pool::builder(&world)
        .root_computes(false)
        .chunk(1)
        .build(task)
        .expect("pool");
    let Some(pool) = built else {
        return; // A worker: served until the root closed the pool.
    };
    // One task per worker, handed out by `submit` itself.
    let inputs: Vec<u64> = (1..n as u64).collect();
    let tasks: Vec<_> = inputs.iter().map(|&x| pool.submit(x)).collect();
    // No pool call. First MPI makes progress on the world (a receive from any rank on
    // a tag nobody sends, which times out) while the reports arrive: they are then in
    // MPI's queue of unexpected messages, delivered. Then the victim dies, and the root
    // learns of it on the world first (the same receive fails or times out), so that
    // the pool's next look meets the failure before the report.
    let nobody = |limit| {
        let got = world.tag(9).timeout(limit).receive::<u8>(rspar::Any);
        assert!(got.is_err(), "nobody sends on tag 9");
    };
    nobody(Duration::from_millis(150));
    std::thread::sleep(Duration::from_millis(600));
    nobody(Duration::from_millis(300));
    for (x, task) in inputs.iter().zip(tasks) {
        assert_eq!(task.wait().expect("a task"), x * x, "task {x}");
    }
    let more: Vec<u64> = (100..100 + 3 * n as u64).collect();
    let squares: Vec<u64> = more.iter().map(|x| x * x).collect();
    assert_eq!(pool.map(more.clone()).expect("map"), squares);
    let mut unordered: Vec<(usize, u64)> = pool
        .imap_unordered(more)
        .collect::<rspar::Result<_>>()
        .expect("imap_unordered");
    unordered.sort_unstable();
    assert_eq!(
        unordered,
        squares.into_iter().enumerate().collect::<Vec<_>>(),
        "each result once"
    );
    pool.close().expect("close");
    println!("{DONE} on {n} ranks");
}

#[test]
fn a_report_sent_just_before_its_worker_died_counts_once() {
    if in_rank(NAME) {
        rank_body();
        return;
    }
    for n in 3..=5 {
        for _ in 0..3 {
            let run = launch_self_within(NAME, n, &[], LIMIT);
            let context = format!("N={n}\n{}", run.report());
            assert!(run.elapsed < LIMIT, "the job hung: {context}");
            if common::fault_tolerant_launch() {
                assert_eq!(run.code, Some(0), "exit code: {context}");
                let done = format!("{DONE} on {n} ranks");
                assert_eq!(run.stdout.matches(&done).count(), 1, "{context}");
                let line = format!("rspar: pool: lost worker rank {};", n - 1);
                assert_eq!(run.stderr.matches(&line).count(), 1, "{context}");
                assert_eq!(
                    run.stderr.matches("rspar: pool: lost worker").count(),
                    1,
                    "{context}"
                );
            } else {
                assert!(run.code != Some(0), "a dead rank ends the job: {context}");
                assert!(!run.stdout.contains(DONE), "{context}");
            }
        }
    }
    if !common::fault_tolerant_launch() {
        note("tests/lost_report.rs: no ULFM in this configuration: checked that the dead worker ends the job (scripts/test.sh --mpi ulfm checks the pool survives)");
    }
}
