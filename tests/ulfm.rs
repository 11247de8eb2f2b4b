//! A rank that dies (SIGKILL, from itself): under ULFM (`scripts/test.sh --mpi ulfm`:
//! Open MPI 5, launched with `--with-ft ulfm`) the survivors get `ProcessFailed` naming
//! it from point-to-point calls and collectives, shrink the communicator and go on, and
//! the job exits 0; under every other configuration the job ends at once (no hang).

mod common;

use std::time::Duration;

use common::{launch_self, note, SIZES};
use rspar::ErrorKind;

/// The launcher runs jobs with ULFM on (the `ulfm` configuration's `--with-ft ulfm`).
fn fault_tolerant_launch() -> bool {
    rspar::__private::test::Launcher::get().is_ok_and(|l| l.flags.contains(&"--with-ft"))
}

/// End this process as a crash would: SIGKILL, no unwinding, no MPI call.
fn die() -> ! {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

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
        die();
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
    let ft = fault_tolerant_launch();
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
