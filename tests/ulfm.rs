//! A rank that dies (SIGKILL, from itself): under ULFM (`scripts/test.sh --mpi ulfm`:
//! Open MPI 5, launched with `--with-ft ulfm`) the survivors get `ProcessFailed` naming
//! it from point-to-point calls and collectives, shrink the communicator and go on, and
//! the job exits 0; under every other configuration the job ends at once (no hang).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{launch_self, note, SIZES};
use rspar::ErrorKind;

fn is_failure(err: &rspar::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::ProcessFailed { .. } | ErrorKind::Revoked
    )
}

/// The body: the last rank dies after a barrier; every survivor then finds out from a
/// receive from it (`ProcessFailed` naming it) and from a barrier, shrinks the world,
/// and the survivors' world works: a sum over it and a ring of messages.
fn victim_dies(world: &rspar::Communicator) -> rspar::Result<()> {
    let n = world.size();
    let victim = n - 1;
    world.barrier()?;
    if world.rank() == victim {
        common::die();
    }
    if !world.fault_tolerant() {
        // Never returns on a run without ULFM: the runtime ends the job.
        let _ = world.receive::<u64>(victim);
        panic!("a receive from a dead rank returned without ULFM");
    }
    match world.receive::<u64>(victim) {
        Err(e) => match e.kind() {
            ErrorKind::ProcessFailed { ranks } => {
                assert_eq!(ranks, &[victim], "{e}");
            }
            other => panic!("expected ProcessFailed, got {other:?}"),
        },
        Ok(v) => panic!("received {v} from a dead rank"),
    }
    assert_eq!(world.failed_ranks(), vec![victim]);
    let barrier = world.barrier();
    assert!(
        barrier.as_ref().is_err_and(is_failure),
        "barrier with a dead rank: {barrier:?}"
    );
    let survivors = world.shrink()?;
    assert_eq!(survivors.size(), n - 1);
    assert_eq!(survivors.rank(), world.rank());
    let sum = survivors.all_reduce(&(survivors.rank() as u64), |a, b| a + b)?;
    assert_eq!(sum, ((n - 1) * (n - 2) / 2) as u64);
    let m = survivors.size();
    let me = survivors.rank();
    if m > 1 {
        survivors.send(&me, (me + 1) % m)?;
        let got: usize = survivors.receive((me + m - 1) % m)?;
        assert_eq!(got, (me + m - 1) % m);
    }
    survivors.barrier()?;
    println!("ulfm: survivor {me} of {m} went on");
    Ok(())
}

#[test]
fn survivors_get_process_failed_and_shrink() {
    const NAME: &str = "survivors_get_process_failed_and_shrink";
    if common::in_rank(NAME) {
        let world = rspar::init().expect("init");
        victim_dies(&world).expect("survivor");
        drop(world);
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(b"ulfm: rank done\n");
        return;
    }
    let ft = common::fault_tolerant_launch();
    for &n in SIZES.iter().filter(|&&n| n >= 2) {
        let run = launch_self(NAME, n, &[]);
        if ft {
            run.assert_success();
            let went_on = run.stdout.matches("went on").count();
            assert_eq!(went_on, n - 1, "every survivor goes on\n{}", run.report());
            for r in 0..n - 1 {
                let line = format!("ulfm: survivor {r} of {} went on", n - 1);
                assert!(run.stdout.contains(&line), "{line}\n{}", run.report());
            }
        } else {
            // (mpirun may pass on the killed rank's status, 137, which `timed_out` also
            // reads as coreutils' kill: the time tells.)
            assert!(
                run.code != Some(0),
                "without ULFM a dead rank must end the job with an error\n{}",
                run.report()
            );
            assert!(
                run.elapsed < Duration::from_secs(60),
                "the job took {:?} to end\n{}",
                run.elapsed,
                run.report()
            );
            assert!(!run.stdout.contains("went on"), "{}", run.report());
        }
    }
    if !ft {
        note("tests/ulfm.rs: no ULFM in this configuration: checked that a dead rank ends the job (scripts/test.sh --mpi ulfm checks the survivors)");
    }
}

/// Without fault tolerance, shrink, revoke and agree say why they cannot work.
#[test]
fn recovery_calls_say_when_fault_tolerance_is_off() {
    const NAME: &str = "recovery_calls_say_when_fault_tolerance_is_off";
    common::spmd(NAME, &[1, 2], |world| {
        if world.fault_tolerant() {
            assert!(world.agree(true)?);
            assert!(!world.agree(world.rank() != 0)?);
            world.shrink()?.barrier()?;
            assert!(world.failed_ranks().is_empty());
            return Ok(());
        }
        for outcome in [
            world.shrink().map(|_| ()),
            world.revoke(),
            world.agree(true).map(|_| ()),
        ] {
            let err = outcome.expect_err("no fault tolerance");
            assert!(
                matches!(err.kind(), ErrorKind::FaultTolerance { .. }),
                "{err}"
            );
        }
        Ok(())
    });
}

/// The fib run (issue 24 item 4), `scripts/run-example.sh --mpi ulfm fib -n 4 --
/// 44 43 ... 35` without the script: rank 2 is killed with SIGKILL from outside while it
/// computes. Under ULFM the root prints every result and names rank 2, and the job
/// exits 0; otherwise the job ends at once with an error.
#[test]
fn fib_survives_rank_2_killed_from_outside() {
    const INPUTS: [&str; 10] = ["44", "43", "42", "41", "40", "39", "38", "37", "36", "35"];
    const RESULTS: &str = "[701408733, 433494437, 267914296, 165580141, 102334155, \
                           63245986, 39088169, 24157817, 14930352, 9227465]";
    let mut job = common::spawn_program(4, &common::example("fib"), &INPUTS, &[]);
    let (stdout, stderr) = (
        collect(job.child.stdout.take()),
        collect(job.child.stderr.take()),
    );
    let start = std::time::Instant::now();
    let mpirun = job.child.id();
    let report = |why: &str| {
        format!(
            "{why}\ncommand: {}\n--- stdout\n{}\n--- stderr\n{}",
            job.command,
            stdout.lock().unwrap(),
            stderr.lock().unwrap()
        )
    };
    // Rank 2 has passed MPI_Init and computes once it has used 0.3 s of CPU more than
    // rank 0 (which only hands out tasks): kill it then (a rank that dies inside
    // MPI_Init hangs Open MPI 5's start-up).
    let mut killed = None;
    let status = loop {
        if let Some(status) = job.child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(90) {
            break None;
        }
        if killed.is_none() {
            let ranks = ranks_of(mpirun);
            if let (Some(&(root, _)), Some(&(victim, _))) = (
                ranks.iter().find(|&&(_, r)| r == 0),
                ranks.iter().find(|&&(_, r)| r == 2),
            ) {
                if cpu_seconds(victim) >= cpu_seconds(root) + 0.3 {
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &victim.to_string()])
                        .status();
                    killed = Some(victim);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let Some(status) = status else {
        let _ = job.child.kill();
        let _ = job.child.wait();
        panic!("{}", report("the job hung (90 s)"));
    };
    // Let the readers take the last output.
    std::thread::sleep(Duration::from_millis(200));
    let context = report(&format!("exit {status}; killed rank 2 (pid {killed:?})"));
    assert!(
        killed.is_some(),
        "rank 2 was never seen computing: {context}"
    );
    if common::fault_tolerant_launch() {
        assert!(status.success(), "{context}");
        let out = stdout.lock().unwrap().clone();
        assert!(out.lines().any(|l| l == RESULTS), "{context}");
        let err = stderr.lock().unwrap().clone();
        assert!(
            err.contains("rspar: pool: lost worker rank 2;"),
            "{context}"
        );
    } else {
        assert!(
            !status.success(),
            "without ULFM the job must end with an error: {context}"
        );
        assert!(!stdout.lock().unwrap().contains(RESULTS), "{context}");
        note("tests/ulfm.rs: fib with rank 2 killed: no ULFM here, checked the job ends with an error (scripts/test.sh --mpi ulfm checks it completes)");
    }
}

/// A pipe's text, collected by a thread as it comes.
fn collect(pipe: Option<impl std::io::Read + Send + 'static>) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let mut pipe = pipe.expect("piped");
    let all = Arc::clone(&text);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(k @ 1..) = pipe.read(&mut buf) {
            all.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..k]));
        }
    });
    text
}

/// The ranks launched under the launcher `mpirun` (descendants of it whose environment
/// names a rank: Open MPI's `OMPI_COMM_WORLD_RANK`, MPICH's `PMI_RANK`), as (pid, rank).
fn ranks_of(mpirun: u32) -> Vec<(u32, usize)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut ranks = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == mpirun || !descends_from(pid, mpirun) {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let rank = environ.split(|&b| b == 0).find_map(|var| {
            let var = std::str::from_utf8(var).ok()?;
            let value = var
                .strip_prefix("OMPI_COMM_WORLD_RANK=")
                .or_else(|| var.strip_prefix("PMI_RANK="))?;
            value.parse().ok()
        });
        if let Some(rank) = rank {
            ranks.push((pid, rank));
        }
    }
    ranks
}

/// Fields of `/proc/PID/stat` after the command name.
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    rest.split_whitespace().map(str::to_string).collect()
}

fn descends_from(mut pid: u32, ancestor: u32) -> bool {
    for _ in 0..16 {
        let Some(parent) = stat_fields(pid).get(1).and_then(|p| p.parse::<u32>().ok()) else {
            return false;
        };
        if parent == ancestor {
            return true;
        }
        if parent <= 1 {
            return false;
        }
        pid = parent;
    }
    false
}

/// User and system CPU time of `pid` so far, in seconds (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let fields = stat_fields(pid);
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|t| t.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}
