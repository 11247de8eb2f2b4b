//! The rank side of a multi-rank test: inside the job the driver launched, start MPI, run
//! the test's body with the world, and end the process with the body's outcome, so a
//! failing rank ends the whole job and no rank waits for it.

use std::io::Write;
use std::sync::Mutex;

use super::{FAILED_MARK, PASSED_MARK};

/// The place of the last panic on this process (the hook records it; `catch_unwind`
/// only gets the message).
static PLACE: Mutex<Option<String>> = Mutex::new(None);

/// Run `body` as rank of a job of `expected` ranks; never returns.
pub(crate) fn run(
    name: &str,
    expected: usize,
    body: impl FnOnce(&crate::Communicator) -> Result<(), String>,
) -> ! {
    end_with_launcher();
    // A panic is caught here and reported with the rank, then the job is aborted: rspar's
    // own panic hook (which aborts at once) is not wanted.
    let world = match crate::Init::new().abort_on_panic(false).init() {
        Ok(world) => world,
        Err(err) => {
            // Without MPI there is no rank to name; the driver sees the line.
            say(&format!(
                "{FAILED_MARK} rank ? of {expected}: rspar::init failed: {err}"
            ));
            std::process::exit(crate::ERROR_EXIT_CODE);
        }
    };
    let (rank, size) = (world.rank(), world.size());
    if size != expected {
        fail(
            rank,
            size,
            &format!(
                "the launcher started {expected} ranks but this world has {size}: the \
                 launcher and the MPI library differ (set RSPAR_MPIRUN to the launcher of \
                 the MPI this test binary links)"
            ),
            crate::ERROR_EXIT_CODE,
        );
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(place) = info.location() {
            let text = format!("{}:{}:{}", place.file(), place.line(), place.column());
            *PLACE.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
        }
        previous(info);
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&world)));
    match outcome {
        Ok(Ok(())) => {
            drop(world); // MPI_Finalize, which waits for the other ranks
            say(&format!("{PASSED_MARK} rank {rank} of {size}: {name}"));
            // Leave before libtest reports: a `#[should_panic]` test whose body passed
            // would be reported as a failure by the rank's libtest. The driver decides.
            std::process::exit(0);
        }
        Ok(Err(message)) => fail(
            rank,
            size,
            &format!("returned Err: {message}"),
            crate::ERROR_EXIT_CODE,
        ),
        Err(payload) => {
            let message = crate::env::payload_text(payload.as_ref());
            let place = PLACE
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .map(|p| format!(" at {p}"))
                .unwrap_or_default();
            fail(
                rank,
                size,
                &format!("panicked{place}: {message}"),
                crate::PANIC_EXIT_CODE,
            )
        }
    }
}

/// A rank outlives its launcher when the launcher is killed at once (SIGKILL to the
/// test's process group, say), and Open MPI 4.1 puts each rank in a process group of its
/// own: so a thread (not calling MPI) watches the rank's parent and ends the rank when
/// it is gone, wherever the rank is (under `MPI_Init`, in the body, in finalize).
fn end_with_launcher() {
    let launcher = crate::ffi::parent_pid();
    let watch = move || loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if crate::ffi::parent_pid() != launcher {
            say(&format!(
                "{FAILED_MARK} its launcher (pid {launcher}) is gone; ending rank (pid {})",
                std::process::id()
            ));
            crate::ffi::exit_now(crate::ERROR_EXIT_CODE);
        }
    };
    let _ = std::thread::Builder::new()
        .name("rspar-test-launcher-watch".into())
        .spawn(watch);
}

/// Report this rank's failure in one line and end the job.
fn fail(rank: usize, size: usize, what: &str, code: i32) -> ! {
    // One line for the driver to find: the message's own lines follow, indented.
    let what = what.replace('\n', "\n    ");
    say(&format!("{FAILED_MARK} rank {rank} of {size} {what}"));
    crate::env::abort_job(code)
}

/// One write per message, so the launcher forwards it whole.
fn say(text: &str) {
    let _ = std::io::stdout().flush();
    let line = format!("{text}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
