#!/usr/bin/env bash
# rspar against its peers, like for like: ping-pong latency and bandwidth, broadcast and
# all-reduce against C MPI (benches/c/); the pool's speedups; the pool run directly beside
# Python's multiprocessing.Pool() and mpi4py.futures' MPIPoolExecutor (a venv under
# target/); the tiny-task rate against a C master-worker with the pool's batching and the
# two Python pools. Builds everything in release and writes to target/bench/:
#   runN/raw.csv  every measurement of whole run N: round,pair,slot,implementation,
#                 benchmark,size_bytes,value
#   summary.csv   measure,size_bytes,rspar,reference,ratio (ratio: the median of the
#                 per-pair ratios, over every run)
#   summary.md    the same as a table, with each run's own figure, 95% intervals from
#                 resampling whole rounds, the speed targets checked
#   pingpong.svg  latency and bandwidth by message size, C and each rspar mode
#
#   scripts/bench.sh [--quick | --smoke] [--pool] [--runs N] [--rounds N] [--ranks N]
#                    [--mpi-args ARGS]
#     --quick    3 rounds, sizes up to 1 MiB, fewer samples and launches
#     --smoke    the fewest of everything (2 rounds, 2 pairs, sizes up to 4 KiB, short
#                fib inputs, 20,000 tiny tasks): proves every path works in a few
#                minutes; its figures mean nothing
#     --pool     only the pool's measures (speedups, run directly and its Python peers,
#                tiny-task rates): no ping-pong, no collectives
#     --runs     whole runs of the bench (default 2): the report gives each run's own
#                figures beside the pooled ones, the spread between runs that no
#                interval from one run sees; --runs 1 leaves it unknown
#     --rounds   rounds per run (default 5)
#     --ranks    ranks for broadcast / all-reduce (default 2); ping-pong uses ranks 0 and 1
#     --mpi-args more mpirun arguments for every launch, C's and rspar's alike (split at
#                spaces), e.g. "--mca btl_vader_single_copy_mechanism none"
#
# Like for like: every rspar launch is paired with a reference launch of the same call
# structure beside it (C's ping-pong times each size once per rspar mode, in the same
# order, C's collectives each size twice as `collective_timing --raw` does), which of
# the two goes first alternating from pair to pair; the modes' order turns from launch
# to launch, and so do the raw and rspar collectives'. All message pairs of a run come
# before its CPU-heavy pool measures, so no launch follows those. The Python peers run
# with the MCA settings rspar gives itself run directly (OMPI_MCA_pml=ob1, the
# single-copy setting below), on inputs picked so that their serial job is as long as
# rspar's (benches/python/fib_pool.py calibrate), in an order that turns each round.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 runs=2 quick=0 smoke=0 ranks=2 mpi_args= pool_only=0 rounds_given=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --smoke) smoke=1 ;;
    --pool) pool_only=1 ;;
    --runs) runs="${2:?--runs needs a number}"; shift ;;
    --rounds) rounds_given="${2:?--rounds needs a number}"; shift ;;
    --ranks) ranks="${2:?--ranks needs a number}"; shift ;;
    --mpi-args) mpi_args="${2?--mpi-args needs its arguments}"; shift ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
for n in "$runs" "${rounds_given:-1}" "$ranks"; do
  case "$n" in ''|*[!0-9]*|0) echo "bench.sh: --runs, --rounds and --ranks need a positive number" >&2; exit 2 ;; esac
done

bash scripts/setup.sh
command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
. scripts/mpi-env.sh
rspar_mpirun
# shellcheck disable=SC2206 # split at spaces, as documented
MPIRUN+=($mpi_args)
# rspar turns Open MPI 4's single-copy transport off when this is unset (it wrote large
# messages past shorter receive buffers; docs/failures.md): C and the Python peers get
# the same transport. Set it to compare another (every side follows).
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
# What rspar run directly (a singleton) asks for itself (src/pool/spawn.rs): the ob1
# layer, unless set. Given to mpi4py's MPIPoolExecutor, which is run directly too.
peer_pml="${OMPI_MCA_pml:-ob1}"

out=target/bench
mkdir -p "$out/c"
echo "bench: building (release) ..."
cargo build --release --quiet --example pingpong --example collective_timing \
  --example fib --example farm_rate
for prog in pingpong collectives farm; do
  mpicc -O2 -o "$out/c/$prog" "benches/c/$prog.c"
done

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
mpi4py_ok=0
[ -n "$python" ] && [ "${RSPAR_MPI:-openmpi}" = openmpi ] && mpi4py_ok=1

ex=target/release/examples
# The pool's job run directly (the issue's fib 44..39) and the farm's (fib 38..33).
big=(44 43 42 41 40 39) short=(38 37 36 35 34 33)
if [ "$smoke" = 1 ]; then
  rounds=2 max_size=4096 samples=3 tasks=20000 launches=1 small=2 repeat=1 farm=1
  big=(38 37 36 35 34 33) short=(34 33 32 31 30 29)
elif [ "$quick" = 1 ]; then
  rounds=3 max_size=$((1 << 20)) samples=5 tasks=300000 launches=2 small=3 repeat=1 farm=2
else
  max_size=$((4 << 20)) samples=7 tasks=1000000 launches=4 small=25 repeat=3 farm=6
fi
rounds="${rounds_given:-$rounds}"
cores=$(nproc)

# Run a command and add "ROUND,PAIR,SLOT," before each CSV line it prints; SLOT counts
# the lines of the same benchmark and size before it in this launch (the pass).
record() {
  local round="$1" pair="$2"; shift 2
  "$@" | awk -v p="$round,$pair" -F, '
    /^[a-z0-9_-]+,[a-z0-9_]+,[0-9]+,[0-9.e+-]+$/ { k = $2 "," $3; print p "," n[k]++ "," $0 }' >> "$raw"
}
# One value, recorded as ROUND,PAIR,0,IMPLEMENTATION,BENCHMARK,0,VALUE.
put() {
  if [ -n "$5" ]; then echo "$1,$2,0,$3,$4,0,$5" >> "$raw"
  else echo "bench: no value for $3 $4 (round $1, pair $2)" >&2; fi
}

# --- Messages: pairs of launches of the same structure -------------------------------

# The ping-pong and collectives launches of pair $2 in round $1, C's and rspar's in the
# order of the pair; rspar's modes (the rest of the arguments), rotated, and C's passes
# mirroring them. With k = round + pair: which side goes first follows k % 2, the
# rotation and the collectives' raw/rspar order k / 2, so every arrangement of the modes
# (and of the collectives) meets both orders of the sides.
message_pair() {
  local round="$1" pair="$2" max="$3"; shift 3
  local modes=("$@") k=$((round + pair)) turn passes= m coll=()
  turn=$((k / 2 % ${#modes[@]}))
  modes=("${modes[@]:turn}" "${modes[@]:0:turn}")
  for m in "${modes[@]}"; do passes+="${passes:+,}$([[ $m == *f64 ]] && echo 8 || echo 1)"; done
  [ $((k / 2 % 2)) = 1 ] && coll=(--rspar-first)
  local rs_modes=()
  for m in "${modes[@]}"; do rs_modes+=(--mode "$m"); done
  c_side() {
    record "$round" "$pair" "${MPIRUN[@]}" -n 2 "$out/c/pingpong" "$max" "$samples" 0 "$passes"
    record "$round" "$pair" "${MPIRUN[@]}" -n "$ranks" "$out/c/collectives" "$samples" 2
  }
  rspar_side() {
    record "$round" "$pair" "${MPIRUN[@]}" -n 2 "$ex/pingpong" --csv --max-size "$max" \
      --samples "$samples" "${rs_modes[@]}"
    record "$round" "$pair" "${MPIRUN[@]}" -n "$ranks" "$ex/collective_timing" --csv --raw \
      --samples "$samples" "${coll[@]}"
  }
  if [ $((k % 2)) = 0 ]; then c_side; rspar_side; else rspar_side; c_side; fi
}

# Latency and the collectives vary between launches far more than within one, so each
# round has `small` pairs of launches: up to 1 KiB in raw MPI calls, the buffer and the
# object path; the first `launches` of them every size and object-f64 too.
message_round() {
  local i
  for i in $(seq "$small"); do
    if [ "$i" -le "$launches" ]; then
      message_pair "$1" "$i" "$max_size" rsmpi buffer-u8 object-u8 object-f64
    else
      message_pair "$1" "$i" 1024 rsmpi buffer-u8 object-u8
    fi
  done
}

# --- The pool --------------------------------------------------------------------------

# The `elapsed:` seconds a fib run prints with --time (the launch not counted).
elapsed() { "$@" --time 2>&1 >/dev/null | sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p'; }
fib_time() { elapsed "${MPIRUN[@]}" "$@" "$ex/fib" --repeat "$repeat" "${short[@]}"; }
fib_big_time() { elapsed "${MPIRUN[@]}" "$@" "$ex/fib" "${big[@]}"; }

# One pool pair for round $1, pair $2: fib on one rank, on two and on three, back to back
# (the order turns each time), run directly, the long job on one rank and on two, then
# the machine's own ceiling: two independent one-rank runs side by side, each at what
# fraction of the one-rank speed just measured (2 on an ideal 2-core machine).
farm_pair() {
  local one two three direct big1 big2
  case $((($1 + $2) % 3)) in
    0) one=$(fib_time -n 1); two=$(fib_time -n 2); three=$(fib_time -n 3) ;;
    1) two=$(fib_time -n 2); three=$(fib_time -n 3); one=$(fib_time -n 1) ;;
    *) three=$(fib_time -n 3); one=$(fib_time -n 1); two=$(fib_time -n 2) ;;
  esac
  direct=$(elapsed "$ex/fib" --repeat "$repeat" "${short[@]}")
  if [ $((($1 + $2) % 2)) = 0 ]; then
    big1=$(fib_big_time -n 1); big2=$(fib_big_time -n 2)
  else
    big2=$(fib_big_time -n 2); big1=$(fib_big_time -n 1)
  fi
  put "$1" "$2" rspar fib_n1 "$one"; put "$1" "$2" rspar fib_n2 "$two"
  put "$1" "$2" rspar fib_n3 "$three"; put "$1" "$2" rspar fib_direct "$direct"
  put "$1" "$2" rspar fib44_n1 "$big1"; put "$1" "$2" rspar fib44_n2 "$big2"
  fib_time --bind-to none -n 1 > "$out/fib_a" &
  fib_time --bind-to none -n 1 > "$out/fib_b"
  wait
  local ceiling
  ceiling=$(awk -v one="$one" 'NR == FNR { a = $1; next } a > 0 && $1 > 0 { printf "%.4f", one / a + one / $1 }' \
    "$out/fib_a" "$out/fib_b")
  put "$1" "$2" machine fib_parallel "$ceiling"
}

# Whole-process wall seconds of a command (start-up, spawning and all).
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}

# Run directly, start-up included, for round $1: rspar's long job with its workers
# spawned (one process per core) and with --workers 1; the Python job (inputs `py`,
# picked to take as long serially) as a plain map, through multiprocessing.Pool() and
# through MPIPoolExecutor (as many workers as cores; it spawns them, which MPICH cannot
# here), with rspar's own MCA settings. The five runs go in an order that turns.
direct_round() {
  local jobs=(rspar_w1 rspar_wall) job t turn
  [ -n "$python" ] && jobs+=(py_seq py_mp)
  [ "$mpi4py_ok" = 1 ] && jobs+=(py_mpi4py)
  turn=$(($1 % ${#jobs[@]}))
  for job in "${jobs[@]:turn}" "${jobs[@]:0:turn}"; do
    case "$job" in
      rspar_w1) t=$(wall "$ex/fib" --workers 1 "${big[@]}"); put "$1" 0 rspar direct_w1 "$t" ;;
      rspar_wall) t=$(wall "$ex/fib" "${big[@]}"); put "$1" 0 rspar direct_wall "$t" ;;
      py_seq) t=$(wall "$python" benches/python/fib_pool.py seq 1 "${py[@]}"); put "$1" 0 python mp_seq "$t" ;;
      py_mp) t=$(wall "$python" benches/python/fib_pool.py mp "$cores" "${py[@]}"); put "$1" 0 python mp_pool "$t" ;;
      py_mpi4py)
        t=$(OMPI_MCA_pml="$peer_pml" wall "$python" benches/python/fib_pool.py mpi4py "$cores" "${py[@]}")
        put "$1" 0 python mpi4py_pool "$t" ;;
    esac
  done
}

# The tiny-task rate for round $1, pair $2: rspar's pool (`map` and `submit`) and the C
# master-worker on two ranks and on one, and the Python pools (as many workers as cores,
# a tuned chunk size), in an order that turns; the share of tasks the other ranks ran.
tiny_pair() {
  local jobs=(rspar2 rspar1 c2 c1) job turn line
  [ -n "$python" ] && jobs+=(mp)
  [ "$mpi4py_ok" = 1 ] && jobs+=(mpi4py)
  turn=$((($1 + $2) % ${#jobs[@]}))
  for job in "${jobs[@]:turn}" "${jobs[@]:0:turn}"; do
    case "$job" in
      rspar2|rspar1)
        local n=${job#rspar} sfx=; [ "$n" = 1 ] && sfx=_n1
        "${MPIRUN[@]}" -n "$n" "$ex/farm_rate" --csv --tasks "$tasks" --rounds 3 |
          awk -F, -v p="$1,$2,0" -v s="$sfx" '
            $1 == "farm_tasks_per_s" { print p ",rspar,tasks_per_s" s ",0," $2 }
            $1 == "submit_tasks_per_s" && s == "" { print p ",rspar_submit,tasks_per_s,0," $2 }
            $1 == "remote_share" && s == "" { print p ",rspar,remote_share,0," $2 }' >> "$raw" ;;
      c2|c1)
        local n=${job#c} sfx=; [ "$n" = 1 ] && sfx=_n1
        "${MPIRUN[@]}" -n "$n" "$out/c/farm" "$tasks" 3 |
          awk -F, -v p="$1,$2,0" -v s="$sfx" '
            $1 == "farm_tasks_per_s" { print p ",c,tasks_per_s" s ",0," $2 }
            $1 == "remote_share" && s == "" { print p ",c,remote_share,0," $2 }' >> "$raw" ;;
      mp)
        line=$("$python" benches/python/tiny_tasks.py mp "$cores" "$tasks" 3 | sed -n 's/^tasks_per_s,//p')
        put "$1" "$2" multiprocessing tasks_per_s "$line" ;;
      mpi4py)
        line=$(OMPI_MCA_pml="$peer_pml" "$python" benches/python/tiny_tasks.py mpi4py "$cores" "$tasks" 3 |
          sed -n 's/^tasks_per_s,//p')
        put "$1" "$2" mpi4py tasks_per_s "$line" ;;
    esac
  done
}

pool_round() {
  local pair
  for pair in $(seq "$farm"); do farm_pair "$1" "$pair"; done
  direct_round "$1"
  tiny_pair "$1" 1
}

# --- The runs --------------------------------------------------------------------------

# The Python job: as long serially as rspar's `--workers 1` run of the same job (the
# shortest of three, start-up included), so that start-up weighs alike on both sides.
# fib_pool.py predicts from one call's time; the job's own wall time (the shorter of
# two) checks it, and while it is more than 5% off (at most twice more) the inputs are
# rescaled by the miss, counting calls (no second timing to be noisy).
shortest() { for _ in $(seq "$1"); do wall "${@:2}"; echo; done | sort -n | head -1; }
py=()
if [ -n "$python" ]; then
  serial=$(shortest 3 "$ex/fib" --workers 1 "${big[@]}")
  read -ra py <<< "$("$python" benches/python/fib_pool.py calibrate "$serial")"
  for attempt in 1 2 3; do
    theirs=$(shortest 2 "$python" benches/python/fib_pool.py seq 1 "${py[@]}")
    echo "bench: rspar's serial job (fib ${big[*]}) $serial s; Python's (fib ${py[*]}) $theirs s"
    factor=$(awk -v a="$theirs" -v b="$serial" 'BEGIN { printf "%.4f", b / a }')
    awk -v f="$factor" 'BEGIN { exit !(f > 0.95 && f < 1.05) }' || [ "$attempt" = 3 ] && break
    read -ra py <<< "$("$python" benches/python/fib_pool.py rescale "$factor" "${py[@]}")"
  done
fi

start=$(date +%s)
raws=()
for run in $(seq "$runs"); do
  raw="$out/run$run/raw.csv"
  mkdir -p "$out/run$run"
  : > "$raw"
  raws+=("$raw")
  if [ "$pool_only" = 0 ]; then
    for round in $(seq "$rounds"); do
      echo "bench: run $run of $runs, messages, round $round of $rounds"
      message_round "$round"
    done
  fi
  for round in $(seq "$rounds"); do
    echo "bench: run $run of $runs, the pool, round $round of $rounds"
    pool_round "$round"
  done
done
echo "bench: measured in $(($(date +%s) - start)) s on $cores cores, $(mpirun --version 2>/dev/null | head -1)"
echo
# The summary: per-pair ratios, their medians, intervals over rounds, each run's figures,
# targets, chart (xtask/src/report.rs).
cargo xtask bench-report "${raws[@]}" --out "$out"
echo
echo "bench: wrote $out/summary.csv, $out/summary.md and $out/pingpong.svg"
