#!/usr/bin/env bash
# rspar against C MPI, side by side: ping-pong latency and bandwidth, broadcast and
# all-reduce, the task farm; the pool run directly (spawned workers) beside Python's
# multiprocessing.Pool() and mpi4py.futures' MPIPoolExecutor (a venv under target/). Builds everything in release, runs the C reference and rspar
# alternately (A B, then B A, ...) so machine drift cancels, and writes to target/bench/:
#   raw.csv      every measurement: round,implementation,benchmark,size_bytes,value
#   summary.csv  measure,size_bytes,rspar,reference,ratio (medians over rounds)
#   summary.md   the same as a table, with the speed targets checked
#   pingpong.svg latency and bandwidth by message size, C and each rspar mode
#
#   scripts/bench.sh [--quick] [--pool] [--rounds N] [--ranks N] [--mpi-args ARGS]
#     --quick    3 rounds, sizes up to 1 MiB, fewer samples and launches: under two minutes
#     --pool     only the pool's measures (fib speedups, run directly and its Python
#                peers, tiny-task rates): no ping-pong, no collectives
#     --rounds   rounds (default 5)
#     --ranks    ranks for broadcast / all-reduce (default 2); ping-pong uses ranks 0 and 1
#     --mpi-args more mpirun arguments for every launch, C's and rspar's alike (split at
#                spaces), e.g. "--mca btl_vader_single_copy_mechanism none"
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 quick=0 ranks=2 mpi_args= pool_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; rounds=3 ;;
    --pool) pool_only=1 ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --ranks) ranks="${2:?--ranks needs a number}"; shift ;;
    --mpi-args) mpi_args="${2?--mpi-args needs its arguments}"; shift ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/setup.sh
command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
. scripts/mpi-env.sh
rspar_mpirun
# shellcheck disable=SC2206 # split at spaces, as documented
MPIRUN+=($mpi_args)
# rspar turns Open MPI 4's single-copy transport off when this is unset (it wrote large
# messages past shorter receive buffers; docs/failures.md): C gets the same transport, so
# the two sides compare like with like. Set it to compare another (both sides follow).
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"

out=target/bench
mkdir -p "$out/c"
echo "bench: building (release) ..."
cargo build --release --quiet --example pingpong --example collective_timing \
  --example fib --example farm_rate
mpicc -O2 -o "$out/c/pingpong" benches/c/pingpong.c
mpicc -O2 -o "$out/c/collectives" benches/c/collectives.c

# The Python peers: mpi4py's binary wheel (it loads the system's MPI) in a virtual
# environment under the target directory, as tests/interop.rs makes it. Without it (no
# venv module, no registry) the peers are left out, with a line saying so.
venv=target/mpi4py
python=
if { [ -x "$venv/bin/python3" ] || python3 -m venv "$venv"; } &&
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
    --only-binary :all: mpi4py; then
  python="$venv/bin/python3"
else
  echo "bench: no Python venv with mpi4py: the Python peers are left out" >&2
fi

ex=target/release/examples
if [ "$quick" = 1 ]; then
  max_size=$((1 << 20)) samples=5 tasks=300000 launches=2 small=3 repeat=1 farm=2
else
  max_size=$((4 << 20)) samples=7 tasks=1000000 launches=4 small=25 repeat=3 farm=6
fi
raw="$out/raw.csv"
: > "$raw"

# Run a command and add "ROUND," before each CSV line it prints.
record() {
  local round="$1"; shift
  "$@" | sed -n "s/^\([a-z0-9_-]*,[a-z0-9_]*,[0-9]*,[0-9.e+-]*\)\$/$round,\1/p" >> "$raw"
}

# One launch each, recorded for round $1: ping-pong up to $2 bytes (rspar: in the modes
# given after it, or all), and broadcast / all-reduce.
c_pingpong() { record "$1" "${MPIRUN[@]}" -n 2 "$out/c/pingpong" "$2" "$samples"; }
rspar_pingpong() {
  local round="$1" max="$2"; shift 2
  record "$round" "${MPIRUN[@]}" -n 2 "$ex/pingpong" --csv --max-size "$max" --samples "$samples" "$@"
}
c_collectives() { record "$1" "${MPIRUN[@]}" -n "$ranks" "$out/c/collectives" "$samples"; }
rspar_collectives() {
  record "$1" "${MPIRUN[@]}" -n "$ranks" "$ex/collective_timing" --csv --raw --samples "$samples"
}

# Both of one side, one after the other (arguments as for the ping-pong).
c_launch() { c_pingpong "$1" "$2"; c_collectives "$1"; }
rspar_launch() {
  local round="$1" max="$2"; shift 2
  rspar_pingpong "$round" "$max" "$@"
  rspar_collectives "$round"
}

# Seconds of the farm (fib 38..33) launched with the mpirun arguments given.
fib_time() {
  "${MPIRUN[@]}" "$@" "$ex/fib" --time --repeat "$repeat" 2>&1 >/dev/null |
    sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p'
}

# Seconds of the issue's pool measure, fib 44..39 (tasks of 0.1 to 0.8 s), launched
# with the mpirun arguments given; the launch is not counted (`--time`).
fib44_time() {
  "${MPIRUN[@]}" "$@" "$ex/fib" --time 44 43 42 41 40 39 2>&1 >/dev/null |
    sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p'
}

# One pool measurement for round $1, pair $2: fib on one rank, on two and on three, back
# to back (the order turns each time, so none always runs on a machine another warmed),
# and run directly (no launcher: a world of one rank), then the machine's own ceiling.
farm_pair() {
  local one two three direct big1 big2
  case $((($1 + $2) % 3)) in
    0) one=$(fib_time -n 1); two=$(fib_time -n 2); three=$(fib_time -n 3) ;;
    1) two=$(fib_time -n 2); three=$(fib_time -n 3); one=$(fib_time -n 1) ;;
    *) three=$(fib_time -n 3); one=$(fib_time -n 1); two=$(fib_time -n 2) ;;
  esac
  direct=$("$ex/fib" --time --repeat "$repeat" 2>&1 >/dev/null |
    sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p')
  echo "$1,rspar,fib_n1,0,$one" >> "$raw"
  echo "$1,rspar,fib_n2,0,$two" >> "$raw"
  echo "$1,rspar,fib_n3,0,$three" >> "$raw"
  echo "$1,rspar,fib_direct,0,$direct" >> "$raw"
  # fib 44..39 on one rank and on two, in the order of the round.
  if [ $((($1 + $2) % 2)) = 0 ]; then
    big1=$(fib44_time -n 1); big2=$(fib44_time -n 2)
  else
    big2=$(fib44_time -n 2); big1=$(fib44_time -n 1)
  fi
  echo "$1,rspar,fib44_n1,0,$big1" >> "$raw"
  echo "$1,rspar,fib44_n2,0,$big2" >> "$raw"
  # The machine's own ceiling: two independent one-rank runs side by side (unbound, so
  # not both on core 0), each at what fraction of the one-rank speed just measured;
  # their sum is the speedup 2 cores really give (2 on an ideal machine).
  fib_time --bind-to none -n 1 > "$out/fib_a" &
  fib_time --bind-to none -n 1 > "$out/fib_b"
  wait
  echo "$1,machine,fib_parallel,0,$(awk -v one="$one" \
    'NR == FNR { a = $1; next } { printf "%.4f", one / a + one / $1 }' "$out/fib_a" "$out/fib_b")" >> "$raw"
}

# Whole-process wall seconds of a command (start-up, spawning and all).
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}

# Run directly, start-up included, for round $1: rspar's fib 44..39 with its workers
# spawned (one process per core) and with --workers 1; the same seed program in Python
# (fib 35..30: CPython is about 50x slower per call, so a list of about the same
# sequential time) as a plain map, through multiprocessing.Pool() and through mpi4py's
# MPIPoolExecutor (as many workers as cores; it spawns them, which MPICH cannot here).
direct_round() {
  local big=(44 43 42 41 40 39) py=(35 34 33 32 31 30) cores
  cores=$(nproc)
  if [ $(($1 % 2)) = 1 ]; then
    echo "$1,rspar,direct_w1,0,$(wall "$ex/fib" --workers 1 "${big[@]}")" >> "$raw"
    echo "$1,rspar,direct_wall,0,$(wall "$ex/fib" "${big[@]}")" >> "$raw"
  else
    echo "$1,rspar,direct_wall,0,$(wall "$ex/fib" "${big[@]}")" >> "$raw"
    echo "$1,rspar,direct_w1,0,$(wall "$ex/fib" --workers 1 "${big[@]}")" >> "$raw"
  fi
  [ -n "$python" ] || return 0
  local peer=benches/python/fib_pool.py
  echo "$1,python,mp_seq,0,$(wall "$python" "$peer" seq 1 "${py[@]}")" >> "$raw"
  echo "$1,python,mp_pool,0,$(wall "$python" "$peer" mp "$cores" "${py[@]}")" >> "$raw"
  if [ "${RSPAR_MPI:-openmpi}" = openmpi ]; then
    echo "$1,python,mpi4py_pool,0,$(wall "$python" "$peer" mpi4py "$cores" "${py[@]}")" >> "$raw"
  fi
}

rspar_side() {
  [ "$pool_only" = 1 ] || rspar_launch "$1" "$max_size"
  for pair in $(seq "$farm"); do farm_pair "$1" "$pair"; done
  direct_round "$1"
  "${MPIRUN[@]}" -n 2 "$ex/farm_rate" --csv --tasks "$tasks" --rounds 3 |
    sed -n -e "s/^farm_tasks_per_s,\([0-9.]*\),\([0-9.]*\)\$/$1,rspar,tasks_per_s,0,\1\n$1,loop,tasks_per_s,0,\2/p" \
      -e "s/^submit_tasks_per_s,\([0-9.]*\)\$/$1,rspar_submit,tasks_per_s,0,\1/p" >> "$raw"
}

# Latency, the collectives and the farm's run time vary between launches far more than
# within one (here C's 1-byte latency is steady within a launch but anywhere from 0.19 to
# 0.66 us from one launch to the next, its 8-byte broadcast from 0.13 to 0.24 us, and fib
# on one rank from 0.22 to 0.44 s): each round gives them more launches, C and rspar
# alternately (C first, then rspar first, and so on), and the medians take every launch.
# Ping-pong up to 1 KiB and the collectives (cheap) get `small` launches per round; every
# ping-pong size, in the modes the summary's measures use, gets `launches`; the farm gets
# `farm` pairs, each launch the median of `repeat` farm runs. Every rspar ping-pong launch
# also runs raw MPI calls (`--mode rsmpi`) moments apart from rspar's, size by size, and
# every collectives launch likewise (`--raw`): the summary's same-launch tables, which
# the noise between launches does not reach.
more_launches() {
  local i max modes
  for i in $(seq $((small - 1))); do
    max=1024 modes=(--mode rsmpi --mode buffer-u8 --mode object-u8)
    if [ "$i" -lt "$launches" ]; then max=$max_size modes+=(--mode object-f64); fi
    if [ $((($1 + i) % 2)) = 0 ]; then
      c_launch "$1" "$max"; rspar_launch "$1" "$max" "${modes[@]}"
    else
      rspar_launch "$1" "$max" "${modes[@]}"; c_launch "$1" "$max"
    fi
  done
}

start=$(date +%s)
for round in $(seq "$rounds"); do
  echo "bench: round $round of $rounds"
  if [ "$pool_only" = 1 ]; then rspar_side "$round"; continue; fi
  if [ $((round % 2)) = 1 ]; then c_launch "$round" "$max_size"; rspar_side "$round"
  else rspar_side "$round"; c_launch "$round" "$max_size"; fi
  more_launches "$round"
done
echo "bench: measured in $(($(date +%s) - start)) s on $(nproc) cores, $(mpirun --version 2>/dev/null | head -1)"
echo
# The summary: medians, 95% intervals, ratios, targets, chart (xtask/src/report.rs).
cargo xtask bench-report "$raw" --out "$out"
echo
echo "bench: wrote $out/summary.csv, $out/summary.md and $out/pingpong.svg"
