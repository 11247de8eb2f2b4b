//! Issue 24 item 5: pool workers killed (SIGKILL, by themselves, once MPI runs) at
//! chosen and at random moments, on 3..6 ranks: before their first task, in the middle
//! of a task, between two tasks, two workers at once. Under ULFM (`scripts/test.sh
//! --mpi ulfm`) the root gets every result exactly once and in order, names each lost
//! rank once on stderr, and the job exits 0; under Open MPI 4.1 and MPICH the same jobs
//! end at once with an error (a dead rank ends the job). No job may hang: each has a
//! 60 s limit.
//!
//! The job (rank mode of this binary) reads its plan from `RSPAR_LOST_PLAN`: `MODE
//! DELAY_MS VICTIM[,VICTIM]`. `before`: each victim kills itself `DELAY_MS` after the
//! barrier before the pool is built (the root waits 1.5 s before its first task);
//! `during`: at `DELAY_MS` into its first task; `between`: `DELAY_MS` after its first
//! task ends, while the root holds every worker idle for 600 ms. The root runs three
//! rounds over the pool (`root_computes(false)`, one task per batch): one task per
//! worker, so each gets exactly one; then `map` of 3 tasks per rank; then
//! `imap_unordered`, whose results must be each input's once.
//!
//! `scripts/stress-ulfm.sh` repeats the random case many times (`RSPAR_LOST_RUNS`,
//! `RSPAR_LOST_SEED`).

mod common;

use std::time::Duration;

use common::{launch_self_within, note, Run};

const PLAN_VAR: &str = "RSPAR_LOST_PLAN";
/// How long each task takes.
const TASK: Duration = Duration::from_millis(80);
/// The limit of each job: a job that needs it has hung.
const LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Before,
    During,
    Between,
}

/// Where and when the victims die.
#[derive(Clone, Debug)]
struct Plan {
    mode: Mode,
    delay_ms: u64,
    victims: Vec<usize>,
}

impl Plan {
    fn text(&self) -> String {
        let mode = match self.mode {
            Mode::Before => "before",
            Mode::During => "during",
            Mode::Between => "between",
        };
        let victims: Vec<String> = self.victims.iter().map(usize::to_string).collect();
        format!("{mode} {} {}", self.delay_ms, victims.join(","))
    }

    fn parse(text: &str) -> Plan {
        let words: Vec<&str> = text.split_whitespace().collect();
        let mode = match words[0] {
            "before" => Mode::Before,
            "during" => Mode::During,
            "between" => Mode::Between,
            other => panic!("{PLAN_VAR}: unknown mode {other}"),
        };
        Plan {
            mode,
            delay_ms: words[1].parse().expect("delay"),
            victims: words[2].split(',').map(|v| v.parse().unwrap()).collect(),
        }
    }
}

/// The task: its input squared, after `TASK`.
fn square(x: u64) -> u64 {
    std::thread::sleep(TASK);
    x * x
}

/// One rank of the job.
fn rank_body() {
    let plan = Plan::parse(&std::env::var(PLAN_VAR).expect(PLAN_VAR));
    let world = rspar::init().expect("init");
    let (rank, n) = (world.rank(), world.size());
    let victim = plan.victims.contains(&rank);
    let delay = Duration::from_millis(plan.delay_ms);
    world.barrier().expect("barrier");
    if victim && plan.mode == Mode::Before {
        common::die_in(delay);
    }
    let first = std::sync::atomic::AtomicBool::new(true);
    let task = |x: u64| {
        let first_task = first.swap(false, std::sync::atomic::Ordering::Relaxed);
        if victim && first_task && plan.mode == Mode::During {
            common::die_in(delay);
        }
        let y = square(x);
        if victim && first_task && plan.mode == Mode::Between {
            common::die_in(delay);
        }
        y
    };
    let built = rspar::Pool::builder(&world)
        .root_computes(false)
        .chunk(1)
        .build(task)
        .expect("pool");
    let Some(pool) = built else {
        // A worker: served until the root closed the pool.
        return;
    };
    if plan.mode == Mode::Before {
        std::thread::sleep(Duration::from_millis(1500));
    }
    let rounds: [Vec<u64>; 3] = [
        (0..n as u64 - 1).collect(),
        (100..100 + 3 * n as u64).collect(),
        (1000..1000 + 2 * n as u64).collect(),
    ];
    let one_each = pool.map(rounds[0].clone()).expect("round 1");
    assert_eq!(one_each, square_all(&rounds[0]), "round 1");
    if plan.mode == Mode::Between {
        // Every worker is idle now, between its first task and its next.
        std::thread::sleep(Duration::from_millis(600));
    }
    let mapped = pool.map(rounds[1].clone()).expect("round 2");
    assert_eq!(
        mapped,
        square_all(&rounds[1]),
        "round 2: every result, in order"
    );
    let mut unordered: Vec<(usize, u64)> = pool
        .imap_unordered(rounds[2].clone())
        .collect::<rspar::Result<_>>()
        .expect("round 3");
    unordered.sort_unstable();
    let indexed: Vec<(usize, u64)> = square_all(&rounds[2]).into_iter().enumerate().collect();
    assert_eq!(unordered, indexed, "round 3: each result once");
    drop(pool);
    println!("lost-worker: all results delivered on {n} ranks");
}

fn square_all(inputs: &[u64]) -> Vec<u64> {
    inputs.iter().map(|&x| x * x).collect()
}

/// Run `plan` on `n` ranks and check how the job ended.
fn check(n: usize, plan: &Plan) {
    const NAME: &str = "worker_killed_at_chosen_moments";
    let text = plan.text();
    let run = launch_self_within(NAME, n, &[(PLAN_VAR, &text)], LIMIT);
    let context = format!("N={n} plan '{text}'\n{}", run.report());
    assert!(run.elapsed < LIMIT, "the job hung: {context}");
    if common::fault_tolerant_launch() {
        survived(&run, n, plan, &context);
    } else {
        assert!(
            run.code != Some(0),
            "without ULFM a dead rank ends the job with an error: {context}"
        );
        assert!(!run.stdout.contains("all results delivered"), "{context}");
    }
}

/// Under ULFM: exit 0, every result (the root checked them), each victim named once.
fn survived(run: &Run, n: usize, plan: &Plan, context: &str) {
    assert_eq!(run.code, Some(0), "exit code: {context}");
    let done = format!("lost-worker: all results delivered on {n} ranks");
    assert_eq!(run.stdout.matches(&done).count(), 1, "{context}");
    for victim in &plan.victims {
        let line = format!("rspar: pool: lost worker rank {victim};");
        assert_eq!(
            run.stderr.matches(&line).count(),
            1,
            "'{line}' once: {context}"
        );
    }
    assert_eq!(
        run.stderr.matches("rspar: pool: lost worker rank").count(),
        plan.victims.len(),
        "only the victims are lost: {context}"
    );
}

#[test]
fn worker_killed_at_chosen_moments() {
    if common::in_rank("worker_killed_at_chosen_moments") {
        rank_body();
        return;
    }
    for n in 3..=6 {
        let last = n - 1;
        let plans = [
            Plan {
                mode: Mode::Before,
                delay_ms: 500,
                victims: vec![last],
            },
            Plan {
                mode: Mode::During,
                delay_ms: 40,
                victims: vec![1],
            },
            Plan {
                mode: Mode::Between,
                delay_ms: 200,
                victims: vec![n / 2],
            },
            Plan {
                mode: Mode::During,
                delay_ms: 20,
                victims: vec![1, last],
            },
        ];
        for plan in &plans {
            check(n, plan);
        }
    }
    if !common::fault_tolerant_launch() {
        note("tests/lost_worker.rs: no ULFM in this configuration: checked that each killed worker ends the job at once (scripts/test.sh --mpi ulfm checks the pool survives)");
    }
}

/// Random victims, moments and sizes: `RSPAR_LOST_RUNS` jobs (default 3), seeded by
/// `RSPAR_LOST_SEED` (default: the clock; printed, to repeat a failing run).
#[test]
fn workers_killed_at_random_moments() {
    let runs: usize = std::env::var("RSPAR_LOST_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("RSPAR_LOST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    note(&format!(
        "tests/lost_worker.rs: {runs} random runs, RSPAR_LOST_SEED={seed}"
    ));
    for i in 0..runs {
        let n = rng.usize(3..=6);
        let mut workers: Vec<usize> = (1..n).collect();
        rng.shuffle(&mut workers);
        let victims = workers[..rng.usize(1..=2.min(n - 1))].to_vec();
        let plan = match rng.u8(0..3) {
            0 => Plan {
                mode: Mode::Before,
                delay_ms: rng.u64(300..700),
                victims,
            },
            1 => Plan {
                mode: Mode::During,
                delay_ms: rng.u64(0..TASK.as_millis() as u64),
                victims,
            },
            _ => Plan {
                mode: Mode::Between,
                delay_ms: rng.u64(0..400),
                victims,
            },
        };
        eprintln!("random run {i}: N={n} plan '{}'", plan.text());
        check(n, &plan);
    }
}
