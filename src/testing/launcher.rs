//! The MPI launcher for multi-rank tests: which program (`RSPAR_MPIRUN`, else the
//! launcher of the MPI this binary is linked against), whose it is, and the flags and
//! variables a small machine and root need. `#[rspar::test]` and rspar's own test
//! harness (`tests/common`) both use it, so the choice lives in one place.

use std::process::Command;
use std::sync::OnceLock;

/// Which MPI a launcher or library belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Open MPI (`mpirun`).
    OpenMpi,
    /// MPICH and its derivatives (hydra's `mpiexec`).
    Mpich,
    /// Another MPI: only what every launcher does is expected.
    Other,
}

impl Flavor {
    /// The MPI's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::OpenMpi => "Open MPI",
            Flavor::Mpich => "MPICH",
            Flavor::Other => "another MPI",
        }
    }

    /// The MPI this binary is linked against (`MPI_Get_library_version`, which MPI
    /// allows before `MPI_Init`; the `library` words of `src/flavours.txt`).
    pub fn linked() -> Flavor {
        let library = mpi::environment::library_version().unwrap_or_default();
        Flavor::of_family(crate::flavour::family_of_library(&library))
    }

    fn of_family(family: Option<&str>) -> Flavor {
        match family {
            Some("openmpi") => Flavor::OpenMpi,
            Some("mpich") => Flavor::Mpich,
            _ => Flavor::Other,
        }
    }
}

/// The configuration of `src/flavours.txt` this binary was built against (build.rs:
/// `openmpi`, `mpich`, `ulfm`; empty for another MPI).
pub fn built_config() -> &'static str {
    env!("RSPAR_MPI_CONFIG")
}

/// The launcher jobs run under.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The program (`mpirun.openmpi`, `mpiexec.mpich`, ... or `RSPAR_MPIRUN`).
    pub program: String,
    /// Whose launcher it is (from its `--version`).
    pub flavor: Flavor,
    /// Open MPI's major version (0 when unknown or not Open MPI).
    pub major: u32,
    /// The configuration's launcher flags (`src/flavours.txt`: `--with-ft ulfm` for
    /// `ulfm`), given to every job.
    pub flags: Vec<&'static str>,
}

/// The environment variable that names the launcher, overriding the choice.
pub const MPIRUN_VARIABLE: &str = "RSPAR_MPIRUN";

impl Launcher {
    /// The launcher for this binary, found once: `RSPAR_MPIRUN`, else the first on the
    /// `PATH` of the linked MPI's usual names. `Err` says what is wrong: no launcher, or
    /// one of another MPI than the one linked (its ranks would each be a world of one).
    pub fn get() -> Result<&'static Launcher, String> {
        static LAUNCHER: OnceLock<Result<Launcher, String>> = OnceLock::new();
        LAUNCHER.get_or_init(find).as_ref().map_err(Clone::clone)
    }

    /// A command that runs `n` ranks of `program` (arguments follow): the launcher, its
    /// flags (oversubscription; `tag` adds each output line's rank) and the run-as-root
    /// variables.
    pub fn command(&self, n: usize, tag: bool, program: &std::path::Path) -> Command {
        let mut cmd = Command::new(&self.program);
        match self.flavor {
            Flavor::OpenMpi => {
                cmd.arg("--oversubscribe");
                if tag {
                    cmd.arg("--tag-output");
                }
            }
            Flavor::Mpich if tag => {
                cmd.arg("-prepend-rank");
            }
            _ => {}
        }
        cmd.args(&self.flags);
        cmd.arg("-n").arg(n.to_string()).arg(program);
        // Open MPI refuses root without these (4.x: OMPI_, 5.x: PRTE_) and more ranks than
        // cores without oversubscription; the variables mean nothing to other MPIs.
        cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .env("PRTE_ALLOW_RUN_AS_ROOT", "1")
            .env("PRTE_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        // What rspar's `init` would set itself, set from the start: a test rank runs
        // threads (the harness's) before `init`, which then leaves the environment alone.
        cmd.envs(rank_variables());
        cmd
    }
}

/// The MPI variables rspar's `init` would set before `MPI_Init` (Open MPI 4's single
/// copy off), for a launch to set in the ranks' environment from the start: a rank that
/// runs threads before `init` (a test harness) leaves its environment alone.
pub fn rank_variables() -> Vec<(&'static str, &'static str)> {
    crate::init::launch_variables()
}

/// The first of `names` in the build's MPI `bin` directory (build.rs), then on the
/// `PATH`.
fn first_launcher(names: &[&str]) -> Option<String> {
    let own = option_env!("RSPAR_MPI_BIN").filter(|dir| !dir.is_empty());
    if let Some(dir) = own {
        let dir = std::path::Path::new(dir);
        if let Some(found) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
            return Some(found.display().to_string());
        }
    }
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .find(|name| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .map(|name| name.to_string())
}

fn find() -> Result<Launcher, String> {
    let linked = Flavor::linked();
    // What the build found (src/flavours.txt); a build against another MPI: the linked
    // family's usual names.
    let config = crate::flavour::named(built_config());
    let program = match std::env::var(MPIRUN_VARIABLE) {
        Ok(program) if !program.is_empty() => program,
        _ => {
            let names: Vec<&str> = match &config {
                Some(config) => config.runs.clone(),
                None => vec!["mpiexec", "mpirun"],
            };
            first_launcher(&names).ok_or_else(|| {
                format!(
                    "no MPI launcher found: none of {} is on the PATH ({} MPI); install the \
                     MPI's launcher or set {MPIRUN_VARIABLE}",
                    names.join(", "),
                    linked.name()
                )
            })?
        }
    };
    let version = Command::new(&program)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run the MPI launcher '{program}': {e}"))?;
    let text = String::from_utf8_lossy(&version.stdout).to_lowercase()
        + &String::from_utf8_lossy(&version.stderr).to_lowercase();
    let theirs = crate::flavour::config_of_launcher(&text);
    let flavor = Flavor::of_family(theirs.as_ref().map(|c| c.family));
    let major = if flavor == Flavor::OpenMpi {
        open_mpi_major(&text)
    } else {
        0
    };
    if let (Some(ours), Some(theirs)) = (&config, &theirs) {
        if !ours.accepts_launcher(&text) {
            return Err(format!(
                "this binary is built against {} but the launcher '{program}' is {}'s: its \
                 ranks would not make one world as this build needs; set {MPIRUN_VARIABLE} \
                 to {}'s launcher (scripts/test.sh --mpi {})",
                ours.title, theirs.title, ours.title, ours.name
            ));
        }
    } else if flavor != Flavor::Other && linked != Flavor::Other && flavor != linked {
        return Err(format!(
            "this binary is linked against {} but the launcher '{program}' is {}'s: every \
             rank would run alone in a world of one; set {MPIRUN_VARIABLE} to {}'s launcher",
            linked.name(),
            flavor.name(),
            linked.name()
        ));
    }
    Ok(Launcher {
        program,
        flavor,
        major,
        flags: config.map(|c| c.flags).unwrap_or_default(),
    })
}

/// The major version in `mpirun (Open MPI) 4.1.4` or `mpirun.openmpi (OpenRTE) 4.1.4`.
fn open_mpi_major(text: &str) -> u32 {
    let first = text.lines().next().unwrap_or("");
    first
        .split_whitespace()
        .filter_map(|word| word.split('.').next()?.parse().ok())
        .next()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::open_mpi_major;

    #[test]
    fn reads_the_major_version() {
        assert_eq!(
            open_mpi_major("mpirun.openmpi (openrte) 4.1.4\n\nreport bugs"),
            4
        );
        assert_eq!(open_mpi_major("mpirun (open mpi) 5.0.3"), 5);
        assert_eq!(open_mpi_major("nothing"), 0);
    }
}
