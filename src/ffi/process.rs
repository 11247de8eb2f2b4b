//! Signals to a process group, for the test driver's time limit (`testing::driver`): a
//! launcher and the ranks it started share the group the driver made for them; and to
//! one process, for a spawned pool worker that fails (its parent would wait for it).

/// Send `signal` (`libc::SIGTERM`, `libc::SIGKILL`) to every process of the group
/// `group` (the launcher's pid: the driver started it as the leader of a new group).
/// Errors (the group is gone) are ignored.
pub(crate) fn signal_group(group: u32, signal: i32) {
    let Ok(group) = libc::pid_t::try_from(group) else {
        return;
    };
    if group <= 1 {
        return; // never the caller's own group (0) nor every process (-1)
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of this process; a
    // negative pid addresses the process group, which is the launcher's own (above 1).
    unsafe {
        libc::kill(-group, signal);
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
