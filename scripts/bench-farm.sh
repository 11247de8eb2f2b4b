#!/usr/bin/env bash
# Farm performance on this machine: fib 38..33 speedup (n=2 and n=3 against n=1, runs
# alternated so drift cancels, medians) and the tiny-task dispatch rate on 2 ranks.
#
#   scripts/bench-farm.sh [ROUNDS]      (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-7}"
command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
cargo build --release --quiet --example fib --example farm_rate
. scripts/mpi-env.sh
rspar_mpirun
times=$(mktemp)
trap 'rm -f "$times"' EXIT
for _ in $(seq "$rounds"); do
  for n in 1 2 3; do
    t=$("${MPIRUN[@]}" -n "$n" target/release/examples/fib --time 2>&1 >/dev/null \
        | sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p')
    echo "$n $t" >> "$times"
  done
done
python3 - "$times" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    n, t = line.split()
    runs.setdefault(int(n), []).append(float(t))
med = {n: statistics.median(v) for n, v in runs.items()}
print(f"fib 38..33 wall (median of {len(runs[1])}): " + ", ".join(f"n={n}: {med[n]:.3f} s" for n in sorted(med)))
print(f"farm speedup: n=2 {med[1] / med[2]:.2f}x, n=3 {med[1] / med[3]:.2f}x (physical limit on 2 cores: 2.0x)")
PY
"${MPIRUN[@]}" -n 2 target/release/examples/farm_rate
