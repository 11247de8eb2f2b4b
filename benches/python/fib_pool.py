"""The seed's program as Python peers of rspar's fib example (scripts/bench.sh).

    python3 fib_pool.py MODE N [INPUTS...]
    python3 fib_pool.py calibrate SECONDS
    python3 fib_pool.py rescale FACTOR INPUTS...

MODE: `seq` (one process, a plain map), `mp` (multiprocessing.Pool(N).map), or
`mpi4py` (mpi4py.futures.MPIPoolExecutor(max_workers=N).map: workers spawned with
MPI_Comm_spawn, Open MPI only). Prints the results; exits 1 when one is wrong.

`calibrate SECONDS` prints inputs (largest first) whose plain map takes about SECONDS in
this interpreter: the peers' job as long as rspar's serial run, so that start-up weighs
alike on both sides. CPython is about 50 times slower per call than rspar's fib, so the
same inputs would give a job a fiftieth as long. It times fib(25) (the best of five),
predicts each input's time from its number of calls, takes the largest six consecutive
inputs (rspar's job's shape) that fit, then tops the list up with the input that brings
the predicted time nearest SECONDS, while one does. `rescale FACTOR INPUTS...` picks
inputs the same way for FACTOR times the calls of INPUTS, without timing anything: a
second pick after the job's own wall time turned out off by 1 / FACTOR.
"""
import sys
import time


def fib(n):
    # Computing the Fibonacci numbers in an inefficient way, to keep the CPU busy.
    return 1 if n <= 2 else fib(n - 1) + fib(n - 2)


def fib_fast(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def calls(n):
    """How many calls fib(n) makes."""
    a, b = 1, 1  # calls(1), calls(2)
    for _ in range(n - 2):
        a, b = b, a + b + 1
    return b if n >= 2 else 1


def pick(target):
    """Inputs whose calls add up to about `target`: rspar's shape (six consecutive
    inputs, the largest that fit), topped up while an input brings the sum nearer."""
    top = 20
    while sum(calls(n) for n in range(top + 1, top - 5, -1)) <= target and top < 50:
        top += 1
    inputs = list(range(top, top - 6, -1))
    left = target - sum(calls(n) for n in inputs)
    for n in range(top, 10, -1):
        while abs(left - calls(n)) < abs(left):
            inputs.append(n)
            left -= calls(n)
    return sorted(inputs, reverse=True)


def calibrate(seconds):
    """Inputs whose plain map takes about `seconds` here."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        fib(25)
        best = min(best, time.perf_counter() - start)
    return pick(seconds / (best / calls(25)))


def main():
    if sys.argv[1] == "calibrate":
        print(" ".join(map(str, calibrate(float(sys.argv[2])))))
        return
    if sys.argv[1] == "rescale":
        total = sum(calls(int(n)) for n in sys.argv[3:])
        print(" ".join(map(str, pick(float(sys.argv[2]) * total))))
        return
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
