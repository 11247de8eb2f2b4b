#!/usr/bin/env bash
# Repeat-run stress of the pool surviving lost workers (issue 24): N random jobs of
# tests/lost_worker.rs (3..6 ranks, one or two workers killed by SIGKILL before their
# first task, mid-task or between tasks, at random moments), built against Open MPI 5
# with ULFM (target/ulfm) and launched with --with-ft ulfm. Every job must exit 0 with
# every result exactly once and in order, each lost rank named once; each has a 60 s
# limit (a job that needs it has hung).
#
#   scripts/stress-ulfm.sh [--runs 50] [--seed S]
#
# Prints one line per job and the seed; exits 1 on any failure (its output shown).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

runs=50
seed=$$
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "stress-ulfm.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
. scripts/mpi-env.sh
rspar_use_mpi ulfm 2>/dev/null || { scripts/setup.sh --mpi ulfm; rspar_use_mpi ulfm; }
start=$SECONDS
RSPAR_LOST_RUNS="$runs" RSPAR_LOST_SEED="$seed" \
  cargo test --quiet --test lost_worker workers_killed_at_random_moments -- --nocapture
echo "stress-ulfm: $runs random jobs passed in $((SECONDS - start)) s (seed $seed)"
