//! The runtime behind `#[rspar::test]` (reached through the hidden `rspar::__private::test`;
//! not part of the API). A test function runs twice over:
//!
//! - the **driver** (the normal `cargo test` process, [`run`] without rank mode in the
//!   environment) launches this test binary under the MPI launcher ([`Launcher`]) once
//!   per rank count, filtered to the one test with `--exact`, each launch with a time
//!   limit ([`driver`]), and panics with a report when a job fails ([`report`]);
//! - the **rank** (the same binary inside that job: [`TEST_VARIABLE`] names the test)
//!   starts MPI, runs the body with the world and ends the process with its outcome
//!   ([`rank`]).

pub mod driver;
pub mod launcher;
mod rank;
mod report;

use std::time::Duration;

pub use launcher::{Flavor, Launcher};

/// Set for the ranks of a test job: the libtest name of the test they run.
pub const TEST_VARIABLE: &str = "RSPAR_TEST";
/// Set for the ranks of a test job: how many ranks the driver launched.
pub const RANKS_VARIABLE: &str = "RSPAR_TEST_RANKS";

/// The line a rank writes on stderr when its body passed.
pub(crate) const PASSED_MARK: &str = "rspar::test: passed:";
/// The start of the line a rank writes on stderr when its body failed.
pub(crate) const FAILED_MARK: &str = "rspar::test: failed:";

/// What a test body's return value says: `()` passes, `Ok(())` passes, `Err(e)` fails
/// with `e`'s `Debug` text (as `main` returning `Err` prints it).
pub trait Outcome {
    /// `Ok`, or the failure's message.
    fn outcome(self) -> Result<(), String>;
}

impl Outcome for () {
    fn outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Debug> Outcome for Result<(), E> {
    fn outcome(self) -> Result<(), String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

/// The libtest name of the test `name` in the module `module` (`module_path!()`: the
/// crate's name first, which libtest leaves out).
pub fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_string(),
    }
}

/// The rank-side watchdog limit for a test limit: a little below it, so the watchdog
/// names who waited for what before the driver kills the job.
fn watchdog_limit(timeout: Duration) -> Duration {
    timeout
        .saturating_sub(Duration::from_secs(2))
        .max(timeout * 4 / 5)
}

/// Run the test `name` of module `module`: as the driver, launch it at each of `ranks`
/// with the limit `timeout` and panic with the report of the first failing job; as a
/// rank (inside such a job), run `body` and exit.
pub fn run(
    module: &str,
    name: &str,
    ranks: &[usize],
    timeout: Duration,
    body: impl FnOnce(&crate::Communicator) -> Result<(), String>,
) {
    let test = test_name(module, name);
    if std::env::var(TEST_VARIABLE).is_ok_and(|v| v == test) {
        let expected = std::env::var(RANKS_VARIABLE)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        rank::run(&test, expected, body);
    }
    let launcher = Launcher::get().unwrap_or_else(|why| panic!("rspar::test: {test}: {why}"));
    let exe = driver::current_exe();
    // A limit the user set for the watchdog stands; else one a little below the test's.
    let watchdog = match std::env::var_os(crate::watch::VARIABLE) {
        Some(_) => None,
        None => Some(watchdog_limit(timeout)),
    };
    for &n in ranks {
        let cmd = driver::rank_command(launcher, &exe, &test, n, watchdog);
        let job = driver::run(cmd, timeout);
        if let Err(report) = report::verdict(&test, n, timeout, &job) {
            panic!("{report}");
        }
        // Captured by libtest like any test output; shown with --nocapture.
        println!(
            "rspar::test: {test} passed on {n} ranks ({:.1} s)",
            job.elapsed.as_secs_f64()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_test_as_libtest_does() {
        assert_eq!(test_name("ring", "goes_round"), "goes_round");
        assert_eq!(test_name("mycrate::tests::mpi", "t"), "tests::mpi::t");
    }

    #[test]
    fn the_watchdog_fires_first() {
        assert_eq!(
            watchdog_limit(Duration::from_secs(5)),
            Duration::from_secs(4)
        );
        assert_eq!(
            watchdog_limit(Duration::from_secs(60)),
            Duration::from_secs(58)
        );
        assert_eq!(
            watchdog_limit(Duration::from_secs(1)),
            Duration::from_millis(800)
        );
    }
}
