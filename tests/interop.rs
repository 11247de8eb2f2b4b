//! rspar in one job with other MPI code (issue 26): the MPMD example with its C peer
//! (1+1 and 1+2 ranks, and a panicking Rust rank), the C program that embeds rspar (1
//! and 2 ranks), and a process whose MPI was initialised by rsmpi before `rspar::init`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use common::{Flavor, TIMEOUT};
use rspar::ErrorKind;

/// The target directory of this build (`<target>/<profile>/deps/<test>` -> `<target>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

/// True for a release build of the tests (the examples and libraries match it).
fn release() -> bool {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors().nth(2).and_then(|p| p.file_name()) == Some("release".as_ref())
}

/// The MPI compiler wrapper of the MPI these tests were built against: `MPICC` (which
/// scripts/mpi-env.sh exports), else the Debian name for the launcher's MPI.
fn mpicc() -> String {
    match std::env::var("MPICC") {
        Ok(cc) if !cc.is_empty() => cc,
        _ => match common::flavor() {
            Flavor::Mpich => "mpicc.mpich".into(),
            Flavor::OpenMpi => "mpicc.openmpi".into(),
            Flavor::Other => "mpicc".into(),
        },
    }
}

/// Compile `sources` (and `extra` arguments) with mpicc into `<target>/c/<name>`, unless
/// the binary is newer than every source. One compile at a time.
fn compile_c(name: &str, sources: &[&Path], extra: &[&str]) -> PathBuf {
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|p| p.into_inner());
    let dir = target_dir().join("c");
    std::fs::create_dir_all(&dir).expect("create <target>/c");
    let out = dir.join(name);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = modified(&out).is_some_and(|built| {
        sources
            .iter()
            .all(|s| modified(s).is_some_and(|changed| changed <= built))
    });
    if !fresh {
        let cc = mpicc();
        let status = Command::new(&cc)
            .args(["-O2", "-Wall", "-o"])
            .arg(&out)
            .args(sources)
            .args(extra)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cc}: {e} (set MPICC to your MPI's mpicc)"));
        assert!(status.success(), "{cc} failed to build {name}");
    }
    out
}

fn source(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The C peer of the MPMD example.
fn mpmd_peer() -> &'static Path {
    static PEER: OnceLock<PathBuf> = OnceLock::new();
    PEER.get_or_init(|| compile_c("mpmd_peer", &[&source("examples/c/mpmd_peer.c")], &[]))
}

/// `mpirun -n 1 mpmd ARGS : -n peers mpmd_peer`.
fn mpmd(peers: usize, args: &[&str]) -> common::Run {
    let rust = common::example("mpmd");
    common::mpirun_apps(&[(1, &rust, args), (peers, mpmd_peer(), &[])], &[], TIMEOUT)
}

#[test]
fn mpmd_example_talks_to_c_ranks() {
    for peers in [1, 2] {
        let run = mpmd(peers, &[]);
        run.assert_success();
        assert_eq!(
            run.stdout.lines().filter(|l| *l == "mpmd ok").count(),
            1,
            "rank 0 must print 'mpmd ok' once\n{}",
            run.report()
        );
    }
}

#[test]
fn a_panic_on_the_rust_rank_ends_the_c_ranks_too() {
    let run = mpmd(2, &["--panic"]);
    assert!(!run.timed_out, "the job hung\n{}", run.report());
    assert!(run.code.is_some_and(|c| c != 0), "{}", run.report());
    assert!(
        run.stderr.contains("rspar: rank 0 of 3 panicked"),
        "the rank is not named\n{}",
        run.report()
    );
}

/// The C program that embeds rspar, linked with the `rspar-embed` static library of
/// this build's profile.
fn embed() -> &'static Path {
    static EMBED: OnceLock<PathBuf> = OnceLock::new();
    EMBED.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "rspar-embed"]);
        if release() {
            build.arg("--release");
        }
        let status = build.status().expect("cannot run cargo");
        assert!(status.success(), "building rspar-embed failed");
        let profile = if release() { "release" } else { "debug" };
        let lib = target_dir().join(profile).join("librspar_embed.a");
        let libs = ["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl"];
        let main = source("examples/embed/main.c");
        compile_c(&format!("embed-{profile}"), &[&main, &lib], &libs)
    })
}

#[test]
fn a_c_program_runs_rspar_on_its_communicator() {
    for n in [1, 2] {
        let run = common::mpirun(n, embed(), &[]);
        run.assert_success();
        assert!(
            run.stdout.lines().any(|l| l == "embed ok"),
            "{}",
            run.report()
        );
    }
}

/// rsmpi initialised MPI; rspar adopts it, frees its communicators, and leaves
/// `MPI_Finalize` to rsmpi's universe, dropped last.
#[test]
fn rspar_adopts_mpi_that_rsmpi_initialised() {
    common::spmd_process("rspar_adopts_mpi_that_rsmpi_initialised", &[1, 3], || {
        let universe = rspar::mpi::initialize().expect("rsmpi initialises MPI");
        let world = rspar::init().expect("rspar adopts the host's MPI");
        assert_eq!(world.threading(), rspar::Threading::Single);
        let again = rspar::init().expect_err("a second init while the first lives");
        assert_eq!(again.kind(), &ErrorKind::AlreadyInitialized);
        drop(again); // an rspar error alive when the last communicator drops aborts
        let total = world.all_reduce(&world.rank(), |a, b| a + b).unwrap();
        assert_eq!(total, world.size() * (world.size() - 1) / 2);
        drop(world);
        // Adopted again after the first is gone, as a library called twice would be.
        let world = rspar::init().expect("adopt again");
        world.barrier().unwrap();
        drop(world);
        assert!(rspar::mpi::environment::is_initialized());
        assert!(
            !rspar::mpi::environment::is_finalized(),
            "rspar finalized MPI"
        );
        let asked = rspar::Init::new()
            .threading(rspar::Threading::Multiple)
            .init();
        if let Err(err) = asked {
            assert!(matches!(err.kind(), ErrorKind::Threading { .. }), "{err}");
        }
        drop(universe);
        assert!(rspar::mpi::environment::is_finalized());
    });
}

/// The host finalizes first: rspar's communicators (and a message held in one) are
/// dropped after MPI_Finalize without any MPI call, and the process exits 0.
#[test]
fn the_host_may_finalize_before_rspar_drops() {
    common::spmd_process("the_host_may_finalize_before_rspar_drops", &[2], || {
        use rspar::mpi::traits::Communicator as _;
        let universe = rspar::mpi::initialize().expect("rsmpi initialises MPI");
        let world = rspar::Init::new()
            .wrap(universe.world().duplicate())
            .expect("wrap an rsmpi communicator");
        let copy = world.duplicate().unwrap();
        let view = world.interop();
        view.send_buffer(&[world.rank() as u32; 3], (world.rank() + 1) % world.size())
            .unwrap();
        let got: Vec<u32> = view.receive_buffer(rspar::Any).unwrap();
        assert_eq!(got.len(), 3);
        copy.barrier().unwrap();
        drop(universe); // MPI_Finalize, with rspar's communicators alive
        drop(copy);
        drop(world);
    });
}

/// mpi4py (its binary wheel, which loads the system's MPI) in a virtual environment under
/// the target directory, and the environment that points it at this build's MPI; `Err`
/// with the reason where it cannot be had (no venv module, no registry).
type Python = Result<(PathBuf, Vec<(String, String)>), String>;

fn mpi4py() -> &'static Python {
    static MPI4PY: OnceLock<Python> = OnceLock::new();
    MPI4PY.get_or_init(|| {
        let venv = target_dir().join("mpi4py");
        let python = venv.join("bin/python3");
        let run = |mut cmd: Command, what: &str| -> Result<(), String> {
            cmd.stdin(std::process::Stdio::null());
            let job = rspar::__private::test::driver::run(cmd, std::time::Duration::from_secs(300));
            if job.success() {
                Ok(())
            } else {
                Err(format!("{what} failed: {}{}", job.stdout, job.stderr))
            }
        };
        if !python.exists() {
            let mut venv_cmd = Command::new("python3");
            venv_cmd.args(["-m", "venv"]).arg(&venv);
            run(venv_cmd, "python3 -m venv")?;
        }
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--only-binary", ":all:", "mpi4py"]);
        run(pip, "pip install mpi4py")?;
        let mut env = Vec::new();
        if common::flavor() == Flavor::Mpich {
            // The wheel loads MPICH's ABI as libmpi.so.12; Debian names it libmpich.so.12.
            let libdir = Command::new("pkg-config")
                .args(["--variable=libdir", "mpich"])
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|d| !d.is_empty())
                .ok_or("pkg-config knows no mpich")?;
            let shim = target_dir().join("mpi4py-lib");
            std::fs::create_dir_all(&shim).map_err(|e| e.to_string())?;
            let link = shim.join("libmpi.so.12");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(Path::new(&libdir).join("libmpich.so.12"), &link)
                .map_err(|e| e.to_string())?;
            env.push(("MPI4PY_MPIABI".into(), "mpich".into()));
            env.push(("LD_LIBRARY_PATH".into(), shim.display().to_string()));
        }
        Ok((python, env))
    })
}

/// The MPMD example with Python ranks (mpi4py) for peers: the same calls as the C peer,
/// `mpmd ok` at 1+1 and 1+2. Skipped, with a line saying why, where mpi4py cannot be
/// installed.
#[test]
fn mpmd_example_talks_to_python_ranks_with_mpi4py() {
    let (python, env) = match mpi4py() {
        Ok(found) => found,
        Err(why) => {
            common::note(&format!("SKIPPED: the mpi4py peer: {why}"));
            return;
        }
    };
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let rust = common::example("mpmd");
    let script = source("examples/python/mpmd_peer.py");
    let script = script.to_str().expect("a UTF-8 path");
    for peers in [1, 2] {
        let run = common::mpirun_apps(
            &[(1, &rust, &[]), (peers, python, &[script])],
            &env,
            TIMEOUT,
        );
        run.assert_success();
        assert_eq!(
            run.stdout.lines().filter(|l| *l == "mpmd ok").count(),
            1,
            "rank 0 must print 'mpmd ok' once\n{}",
            run.report()
        );
    }
}
