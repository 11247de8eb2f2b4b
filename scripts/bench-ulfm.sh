#!/usr/bin/env bash
# The cost of fault tolerance (docs/ulfm.md): one Open MPI 5 build (the ulfm
# configuration, target/ulfm), launched with `--with-ft ulfm` and without, alternately
# (on off, then off on, ...) so that machine drift cancels. Each round measures, on each
# side: ping-pong latency (examples/pingpong: rspar's object and buffer paths and raw
# rsmpi, 1 byte), the pool's task rate (examples/farm_rate, 2 ranks, tiny tasks)
# and the seed program's wall time (examples/fib 38..33 on 3 ranks). Prints medians with
# 95% intervals (bootstrap of the median, seeded) and the on/off ratio; every
# measurement goes to target/bench/ulfm-raw.csv (round,ft,measure,value).
#
#   scripts/bench-ulfm.sh [--rounds N] [--quick]
#     --rounds  rounds (default 7); --quick: 3 rounds, fewer tasks
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=7 tasks=300000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --quick) rounds=3 tasks=100000 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "bench-ulfm.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
. scripts/mpi-env.sh
rspar_use_mpi ulfm 2>/dev/null || { bash scripts/setup.sh --mpi ulfm; rspar_use_mpi ulfm; }
echo "bench-ulfm: building (release, against Open MPI 5 in $CARGO_TARGET_DIR) ..."
cargo build --release --quiet --example pingpong --example farm_rate --example fib
ex="$CARGO_TARGET_DIR/release/examples"
# The launcher without the configuration's flags; `on` adds them back.
plain=("$RSPAR_MPIRUN" --oversubscribe)
out=target/bench
mkdir -p "$out"
raw="$out/ulfm-raw.csv"
echo "round,ft,measure,value" > "$raw"

side() {
  local round="$1" ft="$2" run=("${plain[@]}")
  [ "$ft" = off ] || run+=(--with-ft ulfm)
  "${run[@]}" -n 2 "$ex/pingpong" --csv --max-size 1 --samples 5 |
    awk -F, -v p="$round,$ft" '$2 == "pingpong" && $3 == 1 && $1 != "object-struct" {
      print p ",latency_us_" $1 "_" $3 "B," $4 }' >> "$raw"
  "${run[@]}" -n 2 "$ex/farm_rate" --csv --tasks "$tasks" --rounds 3 |
    sed -n "s/^farm_tasks_per_s,\([0-9.]*\),.*/$round,$ft,pool_tasks_per_s,\1/p" >> "$raw"
  "${run[@]}" -n 3 "$ex/fib" --time 2>&1 >/dev/null |
    sed -n "s/^elapsed: \([0-9.]*\) s.*/$round,$ft,fib_38_33_n3_s,\1/p" >> "$raw"
}

start=$(date +%s)
for round in $(seq "$rounds"); do
  echo "bench-ulfm: round $round of $rounds"
  if [ $((round % 2)) = 1 ]; then side "$round" on; side "$round" off
  else side "$round" off; side "$round" on; fi
done
echo "bench-ulfm: measured in $(($(date +%s) - start)) s on $(nproc) cores," \
  "$("$RSPAR_MPIRUN" --version 2>/dev/null | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Medians, 95% intervals, on/off ratios (xtask/src/ulfm_report.rs).
cargo xtask ulfm-report "$raw"
