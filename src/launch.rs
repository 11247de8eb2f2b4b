//! Launcher/library mismatch: a program built against one MPI and started by the other
//! MPI's launcher does not fail. Each rank starts alone (a "singleton" world of one rank),
//! so `mpiexec -n 4 ./prog` silently runs four separate one-rank jobs.
//!
//! Every launcher tells its ranks about the job in environment variables; MPI reads its
//! own launcher's and ignores the others'. So at `init`, a world of one rank while a
//! launcher's variable says the job has more ranks (or that this is rank 3) is a mismatch,
//! and rspar says so in one line on stderr. What the launchers set (observed with
//! `mpirun -n 2 env` and `mpiexec.mpich -n 2 env`):
//!
//! - Open MPI's `mpirun`: `OMPI_COMM_WORLD_SIZE`, `OMPI_COMM_WORLD_RANK`, and `PMIX_RANK`;
//! - MPICH's `mpiexec` (hydra): `PMI_SIZE`, `PMI_RANK` and `MPI_LOCALNRANKS` (ranks on
//!   this node); Slurm's `srun --mpi=pmi2` sets `PMI_SIZE`/`PMI_RANK` too;
//! - PMIx launchers (`srun --mpi=pmix`, Open MPI 5's `prterun`) set `PMIX_RANK` but no
//!   size: only their ranks above 0 can tell.
//!
//! [`mismatch`] is the decision, a pure function of the world size, the library and the
//! environment; [`check`] applies it to this process.

use std::fmt;

/// The MPI implementation family a program was built against (read from
/// `MPI_Get_library_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Library {
    /// Open MPI.
    OpenMpi,
    /// MPICH, or an MPI derived from it (Intel MPI, MVAPICH): they use hydra and PMI.
    Mpich,
    /// Something else.
    Other,
}

impl Library {
    /// The family named by an `MPI_Get_library_version` text (the `library` words of
    /// `src/flavours.txt`).
    pub(crate) fn from_version(text: &str) -> Library {
        match crate::flavour::family_of_library(text) {
            Some("openmpi") => Library::OpenMpi,
            Some("mpich") => Library::Mpich,
            _ => Library::Other,
        }
    }

    /// The family of the MPI this program runs on.
    pub(crate) fn current() -> Library {
        Library::from_version(&version())
    }

    fn name(self) -> &'static str {
        match self {
            Library::OpenMpi => "Open MPI",
            Library::Mpich => "MPICH",
            Library::Other => "this MPI",
        }
    }

    /// How to start a job of this library.
    fn launcher(self) -> &'static str {
        match self {
            Library::OpenMpi => "Open MPI's mpirun",
            Library::Mpich => "MPICH's mpiexec (mpiexec.mpich on Debian)",
            Library::Other => "the mpirun of the MPI it was built against",
        }
    }
}

/// `MPI_Get_library_version`'s text (callable before `MPI_Init`); empty if MPI gives none.
fn version() -> String {
    mpi::environment::library_version().unwrap_or_default()
}

/// True when this program runs on Open MPI 4 (its defaults and spawn keys differ from
/// Open MPI 5's).
pub(crate) fn open_mpi_4() -> bool {
    let version = version();
    Library::from_version(&version) == Library::OpenMpi && version.contains("Open MPI v4.")
}

/// True when a launcher's variable is in this process's environment.
pub(crate) fn launcher_variable_set() -> bool {
    VARIABLES.iter().any(|v| std::env::var_os(v.0).is_some())
}

/// What a variable tells: the job's size, or this process's rank in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Says {
    Size,
    Rank,
}

/// The launcher variables rspar reads: name, what it tells, whose launcher sets it.
const VARIABLES: &[(&str, Says, Library)] = &[
    ("OMPI_COMM_WORLD_SIZE", Says::Size, Library::OpenMpi),
    ("PMI_SIZE", Says::Size, Library::Mpich),
    ("MPI_LOCALNRANKS", Says::Size, Library::Mpich),
    ("OMPI_COMM_WORLD_RANK", Says::Rank, Library::OpenMpi),
    ("PMI_RANK", Says::Rank, Library::Mpich),
    ("PMIX_RANK", Says::Rank, Library::Other),
];

/// A world of one rank in a job a launcher started with more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// The variable that tells, and its value.
    pub(crate) variable: &'static str,
    pub(crate) value: usize,
    /// What the variable tells, and whose launcher sets it.
    says: Says,
    set_by: Library,
    /// The library the program was built against.
    pub(crate) library: Library,
    /// The launcher that set the variable, as far as the variables tell.
    pub(crate) launcher: &'static str,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let says = match self.says {
            Says::Rank => format!("says this is rank {}", self.value),
            Says::Size => format!("says the job has {} ranks", self.value),
        };
        let foreign = self.library != Library::Other
            && self.set_by != self.library
            && self.set_by != Library::Other;
        let cause = if foreign {
            format!(
                "built against {}, launched by {}",
                self.library.name(),
                self.launcher
            )
        } else {
            format!(
                "the launcher ({}) and the MPI library ({}) do not match",
                self.launcher,
                self.library.name()
            )
        };
        write!(
            f,
            "rspar: warning: this world has 1 rank but {}={} {says}: {cause}, so every rank \
             runs alone; start it with {} or rebuild against the launcher's MPI \
             (README: \"Choosing the MPI\")",
            self.variable,
            self.value,
            self.library.launcher()
        )
    }
}

/// The decision: `Some` when a world of `world_size` ranks of `library` cannot be what
/// the launcher that set the variables `var` started.
///
/// Only a world of one rank is suspect. When a variable of the library's own launcher
/// says one rank (or rank 0), the job is a real one-rank job and variables other
/// launchers left in the environment (a job started from inside another) do not count.
pub(crate) fn mismatch(
    world_size: usize,
    library: Library,
    var: impl Fn(&str) -> Option<String>,
) -> Option<Mismatch> {
    if world_size != 1 {
        return None;
    }
    let read = |name: &str| var(name).and_then(|v| v.trim().parse::<usize>().ok());
    let own_says_one = VARIABLES.iter().any(|&(name, says, by)| {
        by == library
            && read(name).is_some_and(|v| match says {
                Says::Size => v == 1,
                Says::Rank => v == 0,
            })
    });
    if own_says_one {
        return None;
    }
    let (variable, says, by, value) = VARIABLES.iter().find_map(|&(name, says, by)| {
        let value = read(name)?;
        let more = match says {
            Says::Size => value > 1,
            Says::Rank => value > 0,
        };
        more.then_some((name, says, by, value))
    })?;
    let launcher = match by {
        Library::OpenMpi => "Open MPI's mpirun",
        Library::Mpich if var("MPI_LOCALNRANKS").is_some() || var("HYDI_CONTROL_FD").is_some() => {
            "MPICH's mpiexec (hydra)"
        }
        Library::Mpich => "a PMI launcher (MPICH's mpiexec, srun --mpi=pmi2)",
        Library::Other => "a PMIx launcher (srun --mpi=pmix, Open MPI's mpirun)",
    };
    Some(Mismatch {
        variable,
        value,
        says,
        set_by: by,
        library,
        launcher,
    })
}

/// Apply [`mismatch`] to this process (MPI is up): the warning line, if any.
pub(crate) fn check(world_size: usize) -> Option<String> {
    if world_size != 1 {
        return None;
    }
    let present = |name: &str| std::env::var(name).ok();
    // Cheap first: most one-rank programs run with no launcher at all.
    if !launcher_variable_set() {
        return None;
    }
    mismatch(world_size, Library::current(), present).map(|m| m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    const HYDRA_RANK_1: &[(&str, &str)] = &[
        ("PMI_SIZE", "2"),
        ("PMI_RANK", "1"),
        ("MPI_LOCALNRANKS", "2"),
        ("HYDI_CONTROL_FD", "7"),
    ];
    const ORTE_RANK_0: &[(&str, &str)] = &[
        ("OMPI_COMM_WORLD_SIZE", "2"),
        ("OMPI_COMM_WORLD_RANK", "0"),
        ("PMIX_RANK", "0"),
    ];

    #[test]
    fn library_names() {
        let open = "Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, repo rev: v4.1.4";
        assert_eq!(Library::from_version(open), Library::OpenMpi);
        let mpich = "MPICH Version:\t4.0.2\nMPICH Release date:\tThu Apr  7 2022";
        assert_eq!(Library::from_version(mpich), Library::Mpich);
        let intel = "Intel(R) MPI Library 2021.10 for Linux* OS";
        assert_eq!(Library::from_version(intel), Library::Mpich);
        assert_eq!(Library::from_version(""), Library::Other);
    }

    #[test]
    fn open_mpi_program_under_hydra() {
        let m = mismatch(1, Library::OpenMpi, env(HYDRA_RANK_1)).unwrap();
        assert_eq!((m.variable, m.value), ("PMI_SIZE", 2));
        let line = m.to_string();
        assert!(
            line.contains("built against Open MPI, launched by MPICH's mpiexec (hydra)"),
            "{line}"
        );
        assert!(
            line.contains("PMI_SIZE=2 says the job has 2 ranks"),
            "{line}"
        );
        assert!(line.contains("start it with Open MPI's mpirun"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn mpich_program_under_open_mpi() {
        let m = mismatch(1, Library::Mpich, env(ORTE_RANK_0)).unwrap();
        assert_eq!((m.variable, m.value), ("OMPI_COMM_WORLD_SIZE", 2));
        let line = m.to_string();
        assert!(
            line.contains("built against MPICH, launched by Open MPI's mpirun"),
            "{line}"
        );
        assert!(line.contains("start it with MPICH's mpiexec"), "{line}");
    }

    #[test]
    fn a_matching_launcher_or_a_real_world_is_quiet() {
        // A real job of two ranks.
        assert_eq!(mismatch(2, Library::OpenMpi, env(ORTE_RANK_0)), None);
        assert_eq!(mismatch(2, Library::Mpich, env(HYDRA_RANK_1)), None);
        // No launcher at all, and one-rank jobs of either launcher.
        assert_eq!(mismatch(1, Library::OpenMpi, env(&[])), None);
        let one_orte = [("OMPI_COMM_WORLD_SIZE", "1"), ("OMPI_COMM_WORLD_RANK", "0")];
        assert_eq!(mismatch(1, Library::OpenMpi, env(&one_orte)), None);
        let one_hydra = [
            ("PMI_SIZE", "1"),
            ("PMI_RANK", "0"),
            ("MPI_LOCALNRANKS", "1"),
        ];
        assert_eq!(mismatch(1, Library::Mpich, env(&one_hydra)), None);
    }

    #[test]
    fn variables_left_by_an_outer_job_do_not_count() {
        // `mpirun -n 1` started from inside a rank of a two-rank hydra job.
        let mut nested = HYDRA_RANK_1.to_vec();
        nested.extend([("OMPI_COMM_WORLD_SIZE", "1"), ("OMPI_COMM_WORLD_RANK", "0")]);
        assert_eq!(mismatch(1, Library::OpenMpi, env(&nested)), None);
    }

    #[test]
    fn rank_variables_tell_when_no_size_does() {
        // A PMIx launcher's rank 3, with an MPI that does not speak PMIx.
        let m = mismatch(1, Library::Mpich, env(&[("PMIX_RANK", "3")])).unwrap();
        assert_eq!((m.variable, m.value), ("PMIX_RANK", 3));
        let line = m.to_string();
        assert!(line.contains("PMIX_RANK=3 says this is rank 3"), "{line}");
        assert!(line.contains("do not match"), "{line}");
        // Its rank 0 cannot tell.
        assert_eq!(
            mismatch(1, Library::Mpich, env(&[("PMIX_RANK", "0")])),
            None
        );
    }

    #[test]
    fn the_own_launcher_saying_more_is_still_reported() {
        // An MPICH program whose PMI says 4 ranks but MPI made a world of one (an MPI
        // built for another process manager).
        let m = mismatch(1, Library::Mpich, env(&[("PMI_SIZE", "4")])).unwrap();
        let line = m.to_string();
        assert!(line.contains("PMI_SIZE=4"), "{line}");
        assert!(line.contains("do not match"), "{line}");
    }

    #[test]
    fn garbage_values_are_ignored() {
        let odd = [("OMPI_COMM_WORLD_SIZE", "many"), ("PMI_SIZE", "")];
        assert_eq!(mismatch(1, Library::Mpich, env(&odd)), None);
    }
}
