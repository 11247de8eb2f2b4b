#!/usr/bin/env bash
# Repeat-run stress of failure handling: N random jobs of examples/failure (random rank
# count 2..8, failing rank, kind of failure and what the other ranks wait in), each
# under a 60 s limit. Every job must end on its own with a non-zero exit code within
# 5 s of the failure; a job the limit had to kill is a hang.
#
#   scripts/stress-abort.sh [--runs 50] [--seed S]
#
# Prints one line per run and a summary; exits 1 on any hang or wrong ending.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

runs=50
seed=$$
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "stress-abort.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
RANDOM=$seed

command -v mpicc >/dev/null 2>&1 || scripts/setup.sh
command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
cargo build --release --quiet --example failure
. scripts/mpi-env.sh
rspar_mpirun

hows=(panic error abort crash)
others=(receive barrier collective farm)
hangs=0 wrong=0 slowest=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for ((i = 1; i <= runs; i++)); do
  n=$((2 + RANDOM % 7))
  bad=$((RANDOM % n))
  how=${hows[RANDOM % 4]}
  other=${others[RANDOM % 4]}
  set +e
  timeout -k 5 60 "${MPIRUN[@]}" -n "$n" "${CARGO_TARGET_DIR:-target}/release/examples/failure" \
    --how "$how" --rank "$bad" --others "$other" >"$log" 2>&1
  code=$?
  set -e
  end_ms=$(date +%s%3N)
  fail_ms=$(sed -n 's/.* fails at \([0-9]*\) ms.*/\1/p' "$log" | head -1)
  took_ms=$(( end_ms - ${fail_ms:-end_ms} ))
  verdict=ok
  if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
    verdict=HANG; hangs=$((hangs + 1))
  elif [ "$code" -eq 0 ] || [ -z "$fail_ms" ] || [ "$took_ms" -ge 5000 ] \
      || grep -q 'was not stopped' "$log"; then
    verdict=WRONG; wrong=$((wrong + 1))
  fi
  [ "$took_ms" -gt "$slowest" ] && slowest=$took_ms
  printf 'run %2d: N=%d rank %d %-5s others in %-10s exit %3d, ended %4d ms after the failure: %s\n' \
    "$i" "$n" "$bad" "$how" "$other" "$code" "$took_ms" "$verdict"
  if [ "$verdict" != ok ]; then sed 's/^/    | /' "$log"; fi
done
echo "stress-abort: $runs runs, $hangs hangs, $wrong wrong endings, slowest end ${slowest} ms after the failure (seed $seed)"
[ "$hangs" -eq 0 ] && [ "$wrong" -eq 0 ]
