//! The MPI environment of the scripts (`scripts/mpi-env.sh`'s `rspar_use_mpi`: the build's
//! MPI, the target directory, the launcher and its flags), asked of bash once rather than
//! kept here a second time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The project's root (this crate is `xtask/` in it).
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// What `rspar_use_mpi CONFIG` set up.
#[derive(Debug)]
pub struct Mpi {
    /// The launcher and its flags (`MPIRUN`).
    pub mpirun: Vec<String>,
    /// The whole environment after it (build variables, `CARGO_TARGET_DIR`, ...).
    vars: Vec<(String, String)>,
}

/// Prints `MPIRUN`, an empty field, then the environment, NUL-separated.
const SCRIPT: &str = r#"set -e
. scripts/mpi-env.sh
rspar_use_mpi "$1" >&2
printf '%s\0' "${MPIRUN[@]}" ''
env -0"#;

impl Mpi {
    /// `rspar_use_mpi config`; when that fails (no such MPI installed yet),
    /// `scripts/setup.sh --mpi config` and again.
    pub fn setup(config: &str) -> Result<Mpi, String> {
        if let Ok(mpi) = Self::ask(config, false) {
            return Ok(mpi);
        }
        let status = Command::new("bash")
            .args(["scripts/setup.sh", "--mpi", config])
            .current_dir(root())
            .status()
            .map_err(|e| format!("cannot run scripts/setup.sh: {e}"))?;
        if !status.success() {
            return Err(format!("scripts/setup.sh --mpi {config} failed ({status})"));
        }
        Self::ask(config, true)
    }

    fn ask(config: &str, show_errors: bool) -> Result<Mpi, String> {
        let out = Command::new("bash")
            .args(["-c", SCRIPT, "mpi-env", config])
            .current_dir(root())
            .stderr(if show_errors {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .output()
            .map_err(|e| format!("cannot run bash: {e}"))?;
        if !out.status.success() {
            return Err(format!("rspar_use_mpi {config} failed"));
        }
        parse(&String::from_utf8_lossy(&out.stdout))
    }

    /// `program` with this environment (and nothing of the caller's), run in the root.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(self.vars.iter().cloned())
            .current_dir(root());
        cmd
    }

    /// A variable of this environment.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The target directory of this configuration's build.
    pub fn target_dir(&self) -> PathBuf {
        root().join(self.var("CARGO_TARGET_DIR").unwrap_or("target"))
    }
}

/// The launcher words, then `NAME=value` pairs: what [`SCRIPT`] prints.
fn parse(text: &str) -> Result<Mpi, String> {
    let mut fields = text.split('\0');
    let mpirun: Vec<String> = fields
        .by_ref()
        .take_while(|f| !f.is_empty())
        .map(String::from)
        .collect();
    if mpirun.is_empty() {
        return Err("scripts/mpi-env.sh set no MPIRUN".into());
    }
    let vars = fields
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Ok(Mpi { mpirun, vars })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_launcher_then_the_environment() {
        let text = "mpirun\0--oversubscribe\0\0A=1\0PATH=/a:/b\0MULTI=x\ny=z\0";
        let mpi = parse(text).unwrap();
        assert_eq!(mpi.mpirun, ["mpirun", "--oversubscribe"]);
        assert_eq!(mpi.var("PATH"), Some("/a:/b"));
        assert_eq!(mpi.var("B"), None);
        assert_eq!(
            mpi.vars,
            [
                ("A".to_string(), "1".to_string()),
                ("PATH".into(), "/a:/b".into()),
                ("MULTI".into(), "x\ny=z".into())
            ]
        );
        assert!(parse("\0A=1\0").is_err());
    }
}
