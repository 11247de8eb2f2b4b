//! Signals for the test driver (`testing::driver`): to one process of a job (the
//! launcher, a rank), and the launcher's parent-death signal; and to one process, for a
//! spawned pool worker that fails (its parent would wait for it), carrying the worker's
//! exit code, which the parent exits with.

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

/// The mark of an exit code in the value a spawned pool worker's SIGTERM carries to its
/// parent ([`terminate_with`]); the code is the low byte.
const CODE_MARK: usize = 0x7273_7000;

/// Send SIGTERM to process `pid` (a pool worker's parent on the same node, which MPI
/// does not end when the worker aborts), carrying `code`, the worker's exit code
/// (`sigqueue`): a parent that called [`exit_with_queued_code`] exits with it, any other
/// process ends as on a plain SIGTERM. Errors (it is gone) are ignored.
pub(crate) fn terminate_with(pid: u32, code: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 1 || pid == std::process::id() as libc::pid_t {
        return; // never init, every process, nor this one
    }
    let value = libc::sigval {
        sival_ptr: (CODE_MARK | (code & 0xff) as usize) as *mut libc::c_void,
    };
    // SAFETY: sigqueue(3) takes plain integers and a value it copies into the signal (an
    // integer carried in the pointer's place, never dereferenced); it touches no memory of
    // this process.
    unsafe {
        libc::sigqueue(pid, libc::SIGTERM, value);
    }
}

/// The SIGTERM action this process had before [`exit_with_queued_code`].
static PREVIOUS: std::sync::OnceLock<libc::sigaction> = std::sync::OnceLock::new();

/// From now on, a SIGTERM that a spawned pool worker sent with [`terminate_with`] ends
/// this process with the worker's exit code (`_exit`), so the job run directly ends with
/// the code the worker's failure documents (101 for a panic, 3 for the watchdog, ...)
/// rather than the shell's 143; any other SIGTERM acts as before (by default it ends the
/// process by the signal). For the process that spawns pool workers; once per process.
pub(crate) fn exit_with_queued_code() {
    if PREVIOUS.get().is_some() {
        return;
    }
    // SAFETY: an all-zero `sigaction` is a valid value (no handler, empty mask), and the
    // query only writes the current action into it.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action makes sigaction(2) only read the current one into `old`,
    // a valid, writable `sigaction`.
    if unsafe { libc::sigaction(libc::SIGTERM, std::ptr::null(), &mut old) } != 0 {
        return;
    }
    let _ = PREVIOUS.set(old);
    // SAFETY: as above, a valid value to fill in.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_sigterm;
    action.sa_sigaction = handler as *const () as libc::sighandler_t;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
    // SAFETY: `action` is a valid `sigaction` with an empty mask and a handler of the
    // three-argument form SA_SIGINFO asks for; `on_sigterm` is async-signal-safe (it reads
    // the signal's information and a set-once static, and calls only _exit, sigaction and
    // raise).
    unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
    }
}

/// The SIGTERM handler of [`exit_with_queued_code`].
extern "C" fn on_sigterm(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` to an SA_SIGINFO handler (checked for
    // null all the same); `si_value` is the union member sigqueue(3) filled in, read only
    // when `si_code` says the signal came from sigqueue.
    let queued = unsafe {
        (!info.is_null() && (*info).si_code == libc::SI_QUEUE)
            .then(|| (*info).si_value().sival_ptr as usize)
    };
    if let Some(value) = queued.filter(|v| v & !0xff == CODE_MARK) {
        // SAFETY: _exit(2) is async-signal-safe and ends the process.
        unsafe { libc::_exit((value & 0xff) as libc::c_int) };
    }
    // Any other SIGTERM: put the previous action back and raise it again; it is blocked
    // while this handler runs, and delivered with that action when the handler returns.
    // SAFETY: sigaction(2) and raise(3) are async-signal-safe; `previous` is the valid
    // action saved before this handler was installed (the default when none was saved).
    unsafe {
        match PREVIOUS.get() {
            Some(previous) => {
                libc::sigaction(signal, previous, std::ptr::null_mut());
            }
            None => {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        libc::raise(signal);
    }
}

/// The id of this process's parent (`getppid`): 1, or a subreaper's, once the parent
/// has died.
pub(crate) fn parent_pid() -> u32 {
    // SAFETY: `getppid` has no preconditions and touches no memory.
    unsafe { libc::getppid() as u32 }
}
