//! A program started by the launcher of the other MPI (an Open MPI build under MPICH's
//! `mpiexec`, or an MPICH build under Open MPI's `mpirun`) runs as separate one-rank
//! worlds; rspar's `init` says so on every rank, in one line naming the launcher's
//! variable, the library and the launcher. (The pure decision is unit-tested in
//! `src/launch.rs`; every job of the harness checks the warning is absent.)

mod common;

use std::process::Command;

use common::{example, note, Flavor, MISMATCH_WARNING};

/// The other MPI's launcher, if installed: `RSPAR_OTHER_MPIRUN`, or the Debian names.
fn other_launcher(built: Flavor) -> Option<String> {
    if let Ok(program) = std::env::var("RSPAR_OTHER_MPIRUN") {
        return Some(program);
    }
    let names: &[&str] = match built {
        Flavor::OpenMpi => &["mpiexec.mpich", "mpiexec.hydra"],
        Flavor::Mpich => &["mpirun.openmpi", "orterun"],
        Flavor::Other => &[],
    };
    names
        .iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|name| name.to_string())
}

#[test]
fn the_other_mpis_launcher_gets_a_warning_naming_both() {
    let built = common::flavor();
    let Some(launcher) = other_launcher(built) else {
        note(&format!(
            "launcher mismatch test not run: built against {built:?} and no launcher of \
             the other MPI is installed (scripts/setup.sh --mpi mpich adds MPICH)"
        ));
        return;
    };
    let (variable, cause) = match built {
        Flavor::OpenMpi => (
            "PMI_SIZE=2",
            "built against Open MPI, launched by MPICH's mpiexec (hydra)",
        ),
        _ => (
            "OMPI_COMM_WORLD_SIZE=2",
            "built against MPICH, launched by Open MPI's mpirun",
        ),
    };
    let ring = example("ring");
    let out = Command::new("timeout")
        .args(["-k", "5", "60", &launcher])
        .args(["-n", "2"])
        .arg(&ring)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("start the other launcher");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let report = format!(
        "command: {launcher} -n 2 {}\nexit: {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        ring.display(),
        out.status.code()
    );
    // Each rank is a world of one: the ring goes round to itself, twice.
    assert!(out.status.success(), "{report}");
    assert_eq!(stdout.matches("I am rank 0 of 1").count(), 2, "{report}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(MISMATCH_WARNING))
        .collect();
    assert_eq!(warnings.len(), 2, "one warning per rank\n{report}");
    for line in warnings {
        assert!(line.contains(variable), "{report}");
        assert!(line.contains(cause), "{report}");
        assert!(line.contains("Choosing the MPI"), "{report}");
    }
}
