//! Signals for the test driver (`testing::driver`): to one process of a job (the
//! launcher, a rank), and the launcher's parent-death signal; and to one process, for a
//! spawned pool worker that fails (its parent would wait for it).

use std::process::Command;

/// Send `signal` (`libc::SIGTERM`, `libc::SIGKILL`) to process `pid`. Never to init,
/// every process, a group, or this process; errors (it is gone) are ignored.
pub(crate) fn signal_process(pid: u32, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 1 || pid == std::process::id() as libc::pid_t {
        return;
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of this process; a
    // positive pid above 1 addresses that one process.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Make the process `cmd` starts get `signal` when this thread ends (the Linux
/// parent-death signal; the driver's thread waits for its launcher, so in practice when
/// the driver dies, SIGKILLed or at Ctrl-C), or, when the parent is already gone by the
/// time the child runs, not start at all.
pub(crate) fn signal_when_parent_dies(cmd: &mut Command, signal: i32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `getpid` has no preconditions and touches no memory.
    let parent = unsafe { libc::getpid() };
    let hook = move || {
        // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid are async-signal-safe system calls
        // on integers only (allowed between fork and exec); they touch no memory.
        let (set, now) = unsafe {
            (
                libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0),
                libc::getppid(),
            )
        };
        if set != 0 || now != parent {
            return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    };
    // SAFETY: the hook runs in the child between fork and exec and only makes the two
    // async-signal-safe calls above (no allocation: the error is an OS code).
    unsafe {
        cmd.pre_exec(hook);
    }
}

/// Send SIGTERM to process `pid` (a pool worker's parent on the same node, which MPI
/// does not end when the worker aborts). Errors (it is gone) are ignored.
pub(crate) fn terminate(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 1 || pid == std::process::id() as libc::pid_t {
        return; // never init, every process, nor this one
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of this process.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// The id of this process's parent (`getppid`): 1, or a subreaper's, once the parent
/// has died.
pub(crate) fn parent_pid() -> u32 {
    // SAFETY: `getppid` has no preconditions and touches no memory.
    unsafe { libc::getppid() as u32 }
}
