"""The seed's program as Python peers of rspar's fib example (scripts/bench.sh).

    python3 fib_pool.py MODE N [INPUTS...]

MODE: `seq` (one process, a plain map), `mp` (multiprocessing.Pool(N).map), or
`mpi4py` (mpi4py.futures.MPIPoolExecutor(max_workers=N).map: workers spawned with
MPI_Comm_spawn, Open MPI only). Prints the results; exits 1 when one is wrong.
"""
import sys


def fib(n):
    # Computing the Fibonacci numbers in an inefficient way, to keep the CPU busy.
    return 1 if n <= 2 else fib(n - 1) + fib(n - 2)


def fib_fast(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def main():
    mode, workers = sys.argv[1], int(sys.argv[2])
    inputs = [int(x) for x in sys.argv[3:]] or [32, 31, 30, 29, 28, 27]
    if mode == "seq":
        results = list(map(fib, inputs))
    elif mode == "mp":
        from multiprocessing import Pool
        with Pool(workers) as pool:
            results = pool.map(fib, inputs)
    elif mode == "mpi4py":
        from mpi4py.futures import MPIPoolExecutor
        with MPIPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(fib, inputs))
    else:
        sys.exit(f"fib_pool.py: unknown mode {mode}")
    if results != [fib_fast(n) for n in inputs]:
        sys.exit(f"fib_pool.py: wrong results {results}")
    print(results)


if __name__ == "__main__":
    main()
