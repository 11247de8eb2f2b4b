//! Workers started at run time: a program run without a launcher (an MPI singleton)
//! spawns copies of itself (`MPI_Comm_spawn` of `current_exe` with the same arguments),
//! and a running pool grows the same way.
//!
//! **Who is who.** A spawned child runs `main` like any rank. `rspar::init()` in it
//! finds the parent (`MPI_Comm_get_parent`, and the variable [`SPAWNED_VAR`] the parent
//! set through the spawn's info) and returns as its world the merged communicator of
//! its spawn: the parent is rank 0, the children 1..=n. So a child never believes it is
//! the root, and `if world.rank() == 0` code stays on the parent. The parent's own world
//! stays what the launch gave it (one rank run directly).
//!
//! **Which pool a child serves.** Every process counts the pools it makes. A child is
//! told (in [`SPAWNED_VAR`]) the number of the pool it was spawned for; its earlier
//! `Pool::new` calls return `None` at once (that work was done without it), that one
//! serves, and the later ones serve the parent's later pools, as a launched rank does.
//! A child the parent released (a pool shrunk) is done: its later `Pool::new` calls
//! return `None` at once.
//!
//! **Lifetime.** The parent keeps each spawn's merged communicator here (not in a
//! `Communicator`, which would keep the `Env` alive) and disconnects from the children
//! just before `MPI_Finalize` (`Env`'s drop calls [`disconnect_all`]); a child's
//! `MPI_Finalize` waits for that (sleeping: no CPU measured), as MPI's disconnect is
//! collective.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::comm::Communicator;
use crate::error::{ErrorKind, Result};
use crate::ffi::{Handle, Spawned};

/// The variable the parent sets in its children's environment (the spawn's info key
/// `env`): the number of the pool they were spawned for, and the parent as `pid@node`
/// (`2:1234@vm`).
pub(crate) const SPAWNED_VAR: &str = "RSPAR_POOL_SPAWNED";

/// One spawn: the children one `MPI_Comm_spawn` started.
pub(crate) struct Group {
    spawned: Option<Spawned>,
    /// Parent rank 0, the children 1..=n.
    merged: Rc<Handle>,
    /// Children not released yet, by rank in `merged` minus one.
    active: Vec<bool>,
    /// The children's process ids, where this node's `/proc` shows them (`watch`).
    pids: Vec<u32>,
}

thread_local! {
    /// The parent's spawns (only the thread that initialised MPI touches them).
    static GROUPS: RefCell<Vec<Group>> = const { RefCell::new(Vec::new()) };
    /// Pools made so far by this process.
    static POOLS: Cell<usize> = const { Cell::new(0) };
    /// In a child: the pool it was spawned for.
    static CHILD: Cell<Option<usize>> = const { Cell::new(None) };
    /// In a child: released by its parent, serves no more pools.
    static RETIRED: Cell<bool> = const { Cell::new(false) };
    /// In a child: the ranks of its spawn (the parent 0) its next pool links, as the
    /// parent said at the last pool's end (`None`: all, as spawned).
    static ACTIVE: RefCell<Option<Vec<usize>>> = const { RefCell::new(None) };
}

/// Whether a launcher started this process (read before `MPI_Init`: Open MPI sets
/// `PMIX_RANK` in a singleton too).
static LAUNCHED: OnceLock<bool> = OnceLock::new();

/// In a spawned child: its parent as `pid@node` (set once, at `init`).
static PARENT: OnceLock<String> = OnceLock::new();

/// In a spawned child that aborts with exit code `code`: Open MPI 4.1 ends the child's
/// own spawn but not the parent (measured: an `MPI_Abort` on the parent's
/// inter-communicator did not either), which would wait for the child forever. So the
/// child sends its parent SIGTERM carrying `code` when both run on the same node (the
/// parent's pid travels with the pool number), and the parent exits with that code (it
/// set that up at its first spawn, `ffi::exit_with_queued_code`): a job run directly
/// ends with the code of its worker's failure, as a launched job does. The parent's end
/// then ends the other children (Open MPI's singleton daemon does). On another node
/// nothing: there the parent's launcher is in charge.
pub(crate) fn end_parent(code: i32) {
    let Some((pid, node)) = PARENT.get().and_then(|p| p.split_once('@')) else {
        return;
    };
    if node == mpi::environment::processor_name().unwrap_or_default() {
        if let Ok(pid) = pid.parse() {
            // This child's line saying why travels through MPI's daemon, which the
            // parent's end takes down: give it time to reach the terminal first
            // (measured with Open MPI 5: lost in 1 job of 20 after `abort_job`'s 50 ms).
            std::thread::sleep(FORWARD);
            crate::ffi::terminate_with(pid, code);
        }
    }
}

/// How long a failing child waits before it ends its parent (see [`end_parent`]).
const FORWARD: std::time::Duration = std::time::Duration::from_millis(250);

/// In a spawned child: its place in its world (set once, at `init`).
static CHILD_PLACE: OnceLock<(i32, i32)> = OnceLock::new();

/// Spawning failed once (this MPI cannot): said so on stderr, not tried again.
static CANNOT: AtomicBool = AtomicBool::new(false);

/// Note, before `MPI_Init`, whether a launcher started this process; run directly,
/// pick the transport for a job on one machine ([`local_transport`]).
pub(crate) fn note_launcher() {
    let launched = *LAUNCHED.get_or_init(|| {
        crate::launch::launcher_variable_set() || std::env::var_os("SLURM_STEP_NUM_TASKS").is_some()
    });
    if !launched {
        local_transport();
    }
}

/// The MCA variable that picks Open MPI's point-to-point messaging layer.
const PML: &str = "OMPI_MCA_pml";

/// Run directly, every process of the job is on this machine: the parent, and the
/// workers it spawns here (`map_by` `slot`). Open MPI's `ob1` layer (shared memory, TCP)
/// carries their messages; but unless told, `MPI_Init` first tries its other layers,
/// and Debian's `cm` loads and probes the PSM and PSM2 libraries (Intel and QLogic
/// networks), which cost a singleton about 0.2 s of its 0.33 s `MPI_Init` on a machine
/// without them, and every spawned worker again (measured with Open MPI 4.1: `hello`
/// run directly 0.33 s, 0.12 s with `ob1`; `fib 44..39` run directly, two processes,
/// 1.49 s, 1.18 s). So before `MPI_Init` a singleton of Open MPI asks for `ob1`, unless
/// the variable is set already (the user's choice wins). The children inherit the
/// variable from the parent's environment, so both ends speak the same layer.
fn local_transport() {
    if crate::launch::Library::current() == crate::launch::Library::OpenMpi
        && std::env::var_os(PML).is_none()
    {
        std::env::set_var(PML, "ob1");
    }
}

/// True when the program was started by a launcher (or MPI was up before rspar: a host
/// decides its processes).
fn launched() -> bool {
    *LAUNCHED.get().unwrap_or(&true)
}

/// In `init`, after `MPI_Init`: a spawned child's world (see the module doc), `None` in
/// any other process.
pub(crate) fn child_world() -> Result<Option<Handle>> {
    let Some((pool, parent)) = std::env::var(SPAWNED_VAR).ok().and_then(|v| {
        let (pool, parent) = v.split_once(':')?;
        Some((pool.parse::<usize>().ok()?, parent.to_string()))
    }) else {
        return Ok(None);
    };
    let Some(merged) = crate::ffi::parent_merged()? else {
        return Ok(None); // the variable leaked into a process nobody spawned
    };
    CHILD.with(|c| c.set(Some(pool)));
    use mpi::traits::Communicator as _;
    let _ = CHILD_PLACE.set((merged.rank(), merged.size()));
    let _ = PARENT.set(parent);
    Ok(Some(Handle::owned(merged)))
}

/// In a spawned child: its rank and size in the world `init` gave it (any thread may
/// ask: the panic hook runs on the panicking one).
pub(crate) fn child_place() -> Option<(i32, i32)> {
    CHILD_PLACE.get().copied()
}

/// A new pool's number in this process (every process counts alike).
pub(crate) fn next_pool() -> usize {
    POOLS.with(|p| {
        let n = p.get();
        p.set(n + 1);
        n
    })
}

/// In a spawned child: `Some(true)` when pool number `pool` is one it serves,
/// `Some(false)` when its `Pool::new` returns `None` at once; `None` in other processes.
pub(crate) fn child_serves(pool: usize) -> Option<bool> {
    let start = CHILD.with(Cell::get)?;
    Some(pool >= start && !RETIRED.with(Cell::get))
}

/// A child released by its parent serves no more pools.
pub(crate) fn retire() {
    RETIRED.with(|r| r.set(true));
}

/// How many workers to spawn for a new pool of `base` processes (launched ranks): run
/// directly, enough for `ranks` (default: one process per core) unless `spawn` is
/// `Some(false)`; under a launcher only with `spawn` `Some(true)`, up to `ranks`.
pub(crate) fn wanted(base: usize, ranks: Option<usize>, spawn: Option<bool>) -> usize {
    let direct = base == 1 && !launched() && CHILD.with(Cell::get).is_none();
    let target = ranks.unwrap_or_else(crate::ffi::cpus_online);
    match spawn {
        Some(false) => 0,
        Some(true) => target.saturating_sub(base),
        None if direct => target.saturating_sub(base),
        None => 0,
    }
}

/// The children still active from earlier spawns, as `(group, ranks)`.
pub(crate) fn active_groups() -> Vec<(usize, Vec<usize>)> {
    GROUPS.with(|g| {
        g.borrow()
            .iter()
            .enumerate()
            .map(|(i, group)| {
                let ranks = (1..=group.active.len())
                    .filter(|r| group.active[r - 1])
                    .collect::<Vec<_>>();
                (i, ranks)
            })
            .filter(|(_, ranks)| !ranks.is_empty())
            .collect()
    })
}

/// The communicator a pool uses for the children `ranks` of group `group`: the root
/// and them (a collective of theirs only: released children are gone), made alike by
/// each child's [`child_pool_comm`].
pub(crate) fn pool_comm(
    group: usize,
    ranks: &[usize],
    like: &Communicator,
) -> Result<Communicator> {
    let merged = GROUPS.with(|g| Rc::clone(&g.borrow()[group].merged));
    let members: Vec<usize> = std::iter::once(0).chain(ranks.iter().copied()).collect();
    Communicator::subset_of(&merged, &members, Rc::clone(like.env()))
}

/// In a child, the communicator of its next pool on `world` (its spawn's merged
/// communicator): the parent and the children of its spawn still serving.
pub(crate) fn child_pool_comm(world: &Communicator) -> Result<Communicator> {
    let members = ACTIVE.with(|a| a.borrow().clone());
    let members = members.unwrap_or_else(|| (0..world.size()).collect());
    Communicator::subset_of(world.raw(), &members, Rc::clone(world.env()))
}

/// In a child, after a pool: the ranks of its spawn that serve on (from the parent).
pub(crate) fn note_active(ranks: Vec<usize>) {
    let members = std::iter::once(0).chain(ranks).collect();
    ACTIVE.with(|a| *a.borrow_mut() = Some(members));
}

/// The children of group `group` still serving, by rank in its merged communicator.
pub(crate) fn active(group: usize) -> Vec<usize> {
    GROUPS.with(|g| {
        let groups = g.borrow();
        let active = &groups[group].active;
        (1..=active.len()).filter(|r| active[r - 1]).collect()
    })
}

/// Mark child `rank` of group `group` released.
pub(crate) fn released(group: usize, rank: usize) {
    GROUPS.with(|g| {
        if let Some(slot) = g.borrow_mut()[group].active.get_mut(rank - 1) {
            *slot = false;
        }
    });
}

/// Spawn `count` children of this program for pool number `pool`: the group's number.
/// `Err(Spawn)` when this MPI cannot (then never tried again in this process).
pub(crate) fn spawn(count: usize, pool: usize, like: &Communicator) -> Result<usize> {
    if CANNOT.load(Ordering::Relaxed) {
        return Err(ErrorKind::Spawn {
            reason: "this MPI could not spawn earlier in this program".into(),
        }
        .into());
    }
    let program = std::env::current_exe().map_err(|e| ErrorKind::Spawn {
        reason: format!("cannot find this program's executable: {e}"),
    })?;
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let node = mpi::environment::processor_name().unwrap_or_default();
    let env = format!("{SPAWNED_VAR}={pool}:{}@{node}", std::process::id());
    // Open MPI 4.1 refuses a singleton's spawn without a mapping that allows more
    // processes than its one slot ("not enough slots"). The children's variables go in
    // the key `env`, which Open MPI 5 calls `PMIX_ENVAR` (it takes `env` too, but prints
    // a notice that it is deprecated at every spawn).
    let env_key = match crate::launch::Library::current() {
        crate::launch::Library::OpenMpi if !crate::launch::open_mpi_4() => "PMIX_ENVAR",
        _ => "env",
    };
    let keys = [("map_by", "slot:OVERSUBSCRIBE"), (env_key, env.as_str())];
    let (spawned, merged) = match crate::ffi::spawn(&program, &args, count, &keys) {
        Ok(done) => done,
        Err(err) => {
            CANNOT.store(true, Ordering::Relaxed);
            let text = match err.kind() {
                ErrorKind::Mpi { message, .. } => message.clone(),
                _ => err.to_string(),
            };
            return Err(ErrorKind::Spawn {
                reason: first_line(&text),
            }
            .into());
        }
    };
    let merged = Rc::new(Handle::owned(merged));
    // A child that aborts ends this process with its exit code (`end_parent`).
    crate::ffi::exit_with_queued_code();
    // The children's `init` makes their world from the merged communicator: the same
    // collectives here, on a communicator dropped at once.
    drop(Communicator::shared(
        Rc::clone(&merged),
        Rc::clone(like.env()),
    )?);
    Ok(GROUPS.with(|g| {
        let mut groups = g.borrow_mut();
        let known: Vec<u32> = groups.iter().flat_map(|g| g.pids.iter().copied()).collect();
        let pids = children_with(&env[SPAWNED_VAR.len() + 1..])
            .into_iter()
            .filter(|pid| !known.contains(pid))
            .collect();
        groups.push(Group {
            spawned: Some(spawned),
            merged,
            active: vec![true; count],
            pids,
        });
        groups.len() - 1
    }))
}

/// The one line a pool says on stderr when it cannot spawn (once per process).
pub(crate) fn say_cannot(err: &crate::Error, processes: usize) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        crate::env::say(&format!(
            "rspar: the pool runs on {processes} process(es): {err}"
        ));
    }
}

/// MPI's message in one short line. MPICH's runs over several lines (its error stack,
/// with every argument of the call): the last line says what failed.
fn first_line(text: &str) -> String {
    let last = match text.split_once("error stack:") {
        Some((_, stack)) => stack
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(""),
        None => text,
    };
    // `MPID_Comm_spawn_multiple(86): Error in spawn call` -> the function and the text.
    let last = match last.split_once("): ") {
        Some((place, what)) => format!("{}: {what}", place.split('(').next().unwrap_or(place)),
        None => last.to_string(),
    };
    let hint = match crate::launch::Library::current() {
        crate::launch::Library::Mpich => {
            " (MPICH built with the ucx device cannot spawn; launch with mpiexec -n N instead)"
        }
        _ => "",
    };
    let mut line: String = last.split_whitespace().collect::<Vec<_>>().join(" ");
    line.truncate(200);
    format!("MPI_Comm_spawn failed: {line}{hint}")
}

/// Before `MPI_Finalize` (from `Env`'s drop): disconnect from every spawned child, and
/// in a child from the parent.
pub(crate) fn disconnect_all() {
    if CHILD.with(Cell::get).is_some() {
        let _ = crate::ffi::disconnect_parent();
    }
    let groups = GROUPS.with(|g| std::mem::take(&mut *g.borrow_mut()));
    for mut group in groups {
        drop(group.merged);
        if let Some(spawned) = group.spawned.take() {
            let _ = spawned.disconnect();
        }
    }
}

/// The processes of this node whose environment has `SPAWNED_VAR` set to `value` (the
/// pool number and this process's pid: a spawn's children). Empty where `/proc` does
/// not show them (another system, another node).
fn children_with(value: &str) -> Vec<u32> {
    let wanted = format!("{SPAWNED_VAR}={value}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == wanted.as_bytes()))
        })
        .collect()
}

/// Without fault tolerance, a spawned child that dies (killed, crashed) would leave the
/// parent waiting for it forever: Open MPI 4.1 ends neither the singleton parent nor
/// its spawn (measured: a worker killed with SIGKILL, the parent hung). So the pool's
/// root looks at its children while it waits (at most every 100 ms) and ends the job,
/// saying which one died. Only the children `/proc` showed at spawn time are watched.
pub(crate) fn watch() {
    thread_local! {
        static LAST: Cell<Option<std::time::Instant>> = const { Cell::new(None) };
    }
    let due = LAST.with(|last| {
        let now = std::time::Instant::now();
        let due = last
            .get()
            .is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_millis(100));
        if due {
            last.set(Some(now));
        }
        due
    });
    if !due || crate::fault::enabled() {
        return;
    }
    let dead = GROUPS.with(|g| {
        g.borrow()
            .iter()
            .flat_map(|group| group.pids.iter().copied())
            .find(|&pid| !alive(pid))
    });
    if let Some(pid) = dead {
        crate::env::say(&format!(
            "rspar: pool: a spawned worker (pid {pid}) died; ending the job"
        ));
        crate::env::abort_job(crate::env::ERROR_EXIT_CODE);
    }
}

/// Whether process `pid` runs (exists and is not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name's closing parenthesis.
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X') | None)
    })
}
