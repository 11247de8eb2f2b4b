#!/usr/bin/env bash
# Ping-pong across a simulated cluster (scripts/cluster-sim.sh): 2 hosts, 1 rank each,
# TCP between network namespaces. Runs the C reference (benches/c/pingpong.c) and rspar's
# examples/pingpong (modes buffer-u8, object-u8, object-f64, their order turning from
# round to round) alternately (C then rspar, then rspar then C, ...), C's launch timing
# each size as many times, in the same order, as rspar's (pingpong.c's PASSES), and
# prints a markdown table of the medians over rounds: one-way latency (us) and
# bandwidth (MB/s) by message size, and rspar's time over C's.
#
#   scripts/bench-cluster.sh [--rounds N] [--max-size BYTES] [--samples N]
#                            [--iterations N] [--no-yield]
#     --rounds      rounds (default 3)
#     --max-size    largest message, sizes are 1 B and powers of 4 (default 1 MiB)
#     --samples     timed samples per size and run, the median is kept (default 5)
#     --iterations  round trips per sample, every size, both sides (default 200)
#     --no-yield    busy-polling ranks (mpi_yield_when_idle 0), to see what it costs
#
# Writes target/bench/cluster/raw.csv (round,implementation,pingpong,size,us) and
# summary.md (the table). Exit 77, with the reason, where namespaces are not permitted.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 max_size=$((1 << 20)) samples=5 iterations=200 yield=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift ;;
    --max-size) max_size="$2"; shift ;;
    --samples) samples="$2"; shift ;;
    --iterations) iterations="$2"; shift ;;
    --no-yield) yield=0 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-cluster.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

rc=0
scripts/cluster-sim.sh --check >/dev/null || rc=$?
[ "$rc" = 0 ] || exit "$rc"
command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
out=target/bench/cluster
mkdir -p "$out"
echo "bench-cluster: building (release) ..." >&2
cargo build --release --quiet --example pingpong
mpicc -O2 -o "$out/pingpong-c" benches/c/pingpong.c

modes=(buffer-u8 object-u8 object-f64)
sim=(scripts/cluster-sim.sh --hosts 2 --slots 1 --quiet -- -n 2 --map-by node
     --mca mpi_yield_when_idle "$yield")
raw="$out/raw.csv"
: >"$raw"

# Run a job; add "ROUND," before each CSV row it prints. A failed job stops the bench.
record() {
  local round="$1" rows
  shift
  rows=$(timeout -k 10 900 "${sim[@]}" "$@") || {
    echo "bench-cluster: failed: ${sim[*]} $*" >&2
    exit 1
  }
  sed -n "s/^\([a-z0-9-]*,pingpong,[0-9]*,[0-9.e+-]*\)\$/$round,\1/p" <<<"$rows" >>"$raw"
}
# The modes of round $1, turned; C's passes mirror them (8: f64, multiples of 8 only).
turned() { local t=$(($1 % ${#modes[@]})); echo "${modes[@]:t}" "${modes[@]:0:t}"; }
c_side() {
  local passes= m
  for m in $(turned "$1"); do passes+="${passes:+,}$([[ $m == *f64 ]] && echo 8 || echo 1)"; done
  record "$1" "$out/pingpong-c" "$max_size" "$samples" "$iterations" "$passes"
}
rspar_side() {
  local args=() m
  for m in $(turned "$1"); do args+=(--mode "$m"); done
  record "$1" target/release/examples/pingpong --csv "${args[@]}" --max-size "$max_size" \
    --samples "$samples" --iterations "$iterations"
}

start=$(date +%s)
for round in $(seq "$rounds"); do
  echo "bench-cluster: round $round of $rounds" >&2
  if [ $((round % 2)) = 1 ]; then c_side "$round"; rspar_side "$round"
  else rspar_side "$round"; c_side "$round"; fi
done
took=$(($(date +%s) - start))

# Medians over rounds per (implementation, size), one row per size, into summary.md
# (xtask/src/report/cluster.rs).
cargo xtask cluster-report "$raw" --out "$out"
echo
echo "bench-cluster: $rounds rounds in $took s on $(nproc) cores, 2 simulated hosts x 1 rank, TCP over veth," \
  "mpi_yield_when_idle $yield, $samples samples x $iterations round trips; medians; $(mpirun --version 2>/dev/null | head -1)"
echo "bench-cluster: wrote $raw and $out/summary.md"
