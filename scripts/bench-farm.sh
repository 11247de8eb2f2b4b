#!/usr/bin/env bash
# Farm performance on this machine: fib 38..33 speedup (n=2 and n=3 against n=1, the
# order of the three turning from round to round so drift cancels, medians) and the
# tiny-task dispatch rate on 2 ranks.
# Rows in target/bench/farm-raw.csv (round,rspar,fib_nN,0,seconds).
#
#   scripts/bench-farm.sh [ROUNDS]      (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-7}"
command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
cargo build --release --quiet --example fib --example farm_rate
. scripts/mpi-env.sh
rspar_mpirun
mkdir -p target/bench
raw=target/bench/farm-raw.csv
: > "$raw"
for round in $(seq "$rounds"); do
  order=(1 2 3)
  turn=$((round % 3))
  for n in "${order[@]:turn}" "${order[@]:0:turn}"; do
    t=$("${MPIRUN[@]}" -n "$n" target/release/examples/fib --time 2>&1 >/dev/null \
        | sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p')
    echo "$round,rspar,fib_n$n,0,$t" >> "$raw"
  done
done
# Medians and speedups (xtask/src/report/farm.rs).
cargo xtask farm-report "$raw"
"${MPIRUN[@]}" -n 2 target/release/examples/farm_rate
