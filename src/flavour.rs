//! The MPI configurations rspar knows (`openmpi`, `mpich`, `ulfm`), read from one table,
//! `src/flavours.txt`, which the scripts read too (`scripts/mpi-env.sh`). This file has
//! no `crate::` imports: `build.rs` compiles it as its own module, so the build, the
//! launcher check at `init` and the test launcher decide alike.
//!
//! - the build ([`Config::from_headers`]): the configuration whose `header` word is in
//!   `mpi.h` and whose `feature` line (if any) is in `mpi-ext.h`;
//! - a library ([`family_of_library`]): the family whose `library` words are in
//!   `MPI_Get_library_version`;
//! - a launcher ([`Config::accepts_launcher`], [`config_of_launcher`]): the
//!   configuration whose `launcher` words are in its `--version`.

/// The table, as the scripts read it too.
pub const TABLE: &str = include_str!("flavours.txt");

/// One configuration of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Its name: `openmpi`, `mpich`, `ulfm`.
    pub name: &'static str,
    /// Its family: `openmpi` or `mpich`.
    pub family: &'static str,
    /// Its name in messages.
    pub title: &'static str,
    library: Vec<&'static str>,
    launcher: Vec<&'static str>,
    header: Option<&'static str>,
    feature: Option<&'static str>,
    /// Its launcher's names, in order.
    pub runs: Vec<&'static str>,
    /// Flags every job of this configuration gets.
    pub flags: Vec<&'static str>,
    /// The variable (and value) its launch sets in every rank.
    pub enabled: Option<(&'static str, &'static str)>,
}

/// Every configuration, in the table's order.
pub fn all() -> Vec<Config> {
    let mut configs: Vec<Config> = Vec::new();
    for line in TABLE.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.splitn(2, char::is_whitespace);
        let name = words.next().unwrap_or_default();
        let rest = words.next().unwrap_or_default().trim_start();
        let mut words = rest.splitn(2, char::is_whitespace);
        let key = words.next().unwrap_or_default();
        let value = words.next().unwrap_or_default().trim();
        let index = match configs.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                configs.push(Config {
                    name,
                    family: name,
                    title: name,
                    library: Vec::new(),
                    launcher: Vec::new(),
                    header: None,
                    feature: None,
                    runs: Vec::new(),
                    flags: Vec::new(),
                    enabled: None,
                });
                configs.len() - 1
            }
        };
        let config = &mut configs[index];
        let alternatives = || value.split('|').map(str::trim).collect::<Vec<_>>();
        match key {
            "family" => config.family = value,
            "name" => config.title = value,
            "library" => config.library = alternatives(),
            "launcher" => config.launcher = alternatives(),
            "header" => config.header = Some(value),
            "feature" => config.feature = Some(value),
            "runs" => config.runs = alternatives(),
            "flags" => config.flags = value.split_whitespace().collect(),
            "enabled" => config.enabled = value.split_once('='),
            _ => {} // for the scripts only
        }
    }
    configs
}

/// The configuration called `name`.
pub fn named(name: &str) -> Option<Config> {
    all().into_iter().find(|c| c.name == name)
}

impl Config {
    /// The configuration of the MPI whose `mpi.h` reads `header` and whose `mpi-ext.h`
    /// (empty when there is none) reads `ext`: the most specific one (with a `feature`)
    /// first. (build.rs's: the crate itself reads the result, `RSPAR_MPI_CONFIG`.)
    #[allow(dead_code)]
    pub fn from_headers(header: &str, ext: &str) -> Option<Config> {
        let mut configs = all();
        configs.sort_by_key(|c| c.feature.is_none());
        configs.into_iter().find(|c| {
            c.header.is_some_and(|word| header.contains(word))
                && c.feature
                    .is_none_or(|line| ext.lines().any(|l| l.trim() == line))
        })
    }

    /// True when a launcher whose `--version` says `text` starts this configuration's
    /// jobs.
    pub fn accepts_launcher(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.launcher.iter().any(|word| text.contains(word))
    }
}

/// The family (`openmpi`, `mpich`) of the library whose `MPI_Get_library_version` is
/// `text`; `None` for another MPI.
pub fn family_of_library(text: &str) -> Option<&'static str> {
    all()
        .into_iter()
        .find(|c| c.library.iter().any(|word| text.contains(word)))
        .map(|c| c.family)
}

/// The configuration whose launcher says `text` for `--version` (the most specific one:
/// a configuration with a feature first); `None` for another MPI's.
pub fn config_of_launcher(text: &str) -> Option<Config> {
    let mut configs = all();
    configs.sort_by_key(|c| c.feature.is_none());
    configs.into_iter().find(|c| c.accepts_launcher(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_three_configurations() {
        let names: Vec<_> = all().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["openmpi", "mpich", "ulfm"]);
        let ulfm = named("ulfm").unwrap();
        assert_eq!(ulfm.family, "openmpi");
        assert_eq!(ulfm.flags, ["--with-ft", "ulfm"]);
        assert_eq!(ulfm.enabled, Some(("OMPI_MCA_mpi_ft_enable", "1")));
    }

    #[test]
    fn headers_pick_the_most_specific_configuration() {
        let ompi = "#define OPEN_MPI 1\n";
        let ext = "#define OMPI_HAVE_MPI_EXT_FTMPI 1\n";
        assert_eq!(Config::from_headers(ompi, ext).unwrap().name, "ulfm");
        assert_eq!(Config::from_headers(ompi, "").unwrap().name, "openmpi");
        let mpich = "#define MPICH_VERSION \"4.0\"\n";
        assert_eq!(Config::from_headers(mpich, "").unwrap().name, "mpich");
        assert_eq!(Config::from_headers("nothing", ""), None);
    }

    #[test]
    fn launchers_and_libraries_by_their_words() {
        let four = "mpirun (open mpi) 4.1.4";
        let five = "mpirun (Open MPI) 5.0.11";
        assert_eq!(config_of_launcher(four).unwrap().name, "openmpi");
        assert_eq!(config_of_launcher(five).unwrap().name, "ulfm");
        assert!(named("openmpi").unwrap().accepts_launcher(five));
        assert!(!named("ulfm").unwrap().accepts_launcher(four));
        let hydra = "HYDRA build details:\n    Version: 4.0";
        assert_eq!(config_of_launcher(hydra).unwrap().name, "mpich");
        assert_eq!(
            family_of_library("Open MPI v5.0.11, package"),
            Some("openmpi")
        );
        assert_eq!(family_of_library("MVAPICH2 Version 2.3"), Some("mpich"));
        assert_eq!(
            family_of_library("Intel(R) MPI Library 2021"),
            Some("mpich")
        );
        assert_eq!(family_of_library("Spectrum"), None);
    }
}
