//! The tiny-task rate (`x * 3` tasks, a million of them) against real peers: a C
//! master-worker with rspar's batching (`benches/c/farm.c`), Python's
//! `multiprocessing.Pool.map` and mpi4py's `MPIPoolExecutor.map` with a tuned chunk size
//! (`benches/python/tiny_tasks.py`); on one rank (no messages at all) and on two, with
//! the share of the tasks the worker ran (the rest the root ran itself).

use super::measures::{versus, Row};
use super::obs::Obs;

/// rspar against each peer, pair by pair.
pub fn rows(obs: &[Obs]) -> Vec<Row> {
    let rate = |who| (who, "tasks_per_s", 0);
    [
        versus(obs, "farm_tasks_per_s", rate("rspar"), rate("c")),
        versus(
            obs,
            "farm_tasks_per_s_n1",
            ("rspar", "tasks_per_s_n1", 0),
            ("c", "tasks_per_s_n1", 0),
        ),
        versus(
            obs,
            "farm_remote_share",
            ("rspar", "remote_share", 0),
            ("c", "remote_share", 0),
        ),
        versus(
            obs,
            "tiny_tasks_vs_multiprocessing",
            rate("rspar"),
            rate("multiprocessing"),
        ),
        versus(
            obs,
            "tiny_tasks_vs_mpi4py_futures",
            rate("rspar"),
            rate("mpi4py"),
        ),
        // `submit` (a handle per task) against `map` in the same launch.
        versus(
            obs,
            "pool_submit_tasks_per_s",
            rate("rspar_submit"),
            rate("rspar"),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}
