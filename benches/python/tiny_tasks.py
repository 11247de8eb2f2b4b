"""The tiny-task rate of Python's pools, the peers of rspar's examples/farm_rate.rs
(scripts/bench.sh): the same task (x * 3, for x in range(TASKS)) through
multiprocessing.Pool(N).map or mpi4py.futures.MPIPoolExecutor(max_workers=N).map, each
with a tuned chunk size.

    python3 tiny_tasks.py MODE N TASKS ROUNDS

MODE: `mp` or `mpi4py` (Open MPI only: its workers are spawned with MPI_Comm_spawn).
The pool is started before any timing, as rspar's farm_rate times `map` only. Tuning:
one map with each candidate chunk size (Python's own default, len / (4 * N), and 1,000,
10,000 and 100,000), untimed for the result; the fastest is kept, and ROUNDS maps with
it are timed. Prints `tasks_per_s,RATE` (the median) and `chunk,CHUNK`; exits 1 when a
result is wrong.
"""
import statistics
import sys
import time


def task(x):
    return x * 3


def timed_map(pool_map, tasks, chunk):
    start = time.perf_counter()
    out = list(pool_map(task, range(tasks), chunksize=chunk))
    secs = time.perf_counter() - start
    if out != [x * 3 for x in range(tasks)]:
        sys.exit("tiny_tasks.py: wrong results")
    return tasks / secs


def measure(pool_map, workers, tasks, rounds):
    default = max(1, -(-tasks // (4 * workers)))
    candidates = sorted({c for c in (default, 1000, 10000, 100000) if c <= tasks} or {tasks})
    chunk = max(candidates, key=lambda c: timed_map(pool_map, tasks, c))
    rate = statistics.median(timed_map(pool_map, tasks, chunk) for _ in range(rounds))
    print(f"tasks_per_s,{rate:.0f}")
    print(f"chunk,{chunk}")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    mode, workers, tasks, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if mode == "mp":
        from multiprocessing import Pool
        with Pool(workers) as pool:
            measure(pool.map, workers, tasks, rounds)
    elif mode == "mpi4py":
        from mpi4py.futures import MPIPoolExecutor
        with MPIPoolExecutor(max_workers=workers) as pool:
            pool.submit(task, 0).result()  # the workers are up before any timing
            measure(pool.map, workers, tasks, rounds)
    else:
        sys.exit(f"tiny_tasks.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
