#!/usr/bin/env bash
# The sbatch scripts, run for real on a one-node Slurm cluster (scripts/test.sh --full).
#
#   scripts/slurm/check.sh
#
# Starts the cluster with local-cluster.sh (which installs slurm-wlm and munge if
# missing) unless one is running already, builds ring, pi and fib in release, submits
# ring.sbatch (2 and 4 tasks with srun, 4 with mpirun), pi.sbatch, farm.sbatch and a pi
# job that must fail, waits for each (120 s at most), checks the outputs, and stops the
# cluster again if it started it. When the cluster cannot run here (no root, no apt, the
# daemons do not start) it prints "SKIPPED: <reason>" and exits 0.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

case "${1:-}" in
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

cluster=scripts/slurm/local-cluster.sh
started=0
if $cluster status >/dev/null 2>&1; then
  echo "using the running cluster ($($cluster env))"
else
  log=$(mktemp)
  if ! $cluster start 2>"$log"; then
    reason=$(grep -v '^\s*$' "$log" | tail -n 1)
    rm -f "$log"
    $cluster stop >/dev/null 2>&1 || true
    echo "SKIPPED: no local Slurm cluster: ${reason#local-cluster: }"
    exit 0
  fi
  rm -f "$log"
  started=1
  trap '$cluster stop' EXIT
fi
eval "$($cluster env)"
export SLURM_CONF
. scripts/mpi-env.sh # run-as-root variables for mpirun, passed on by sbatch

command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
cargo build --release --quiet --example ring --example pi --example fib

out=$(mktemp -d)
trap '[ $started = 1 ] && $cluster stop; rm -rf "$out"' EXIT

# run NAME EXPECT SBATCH-ARGS...: submit, wait up to 120 s, print the output; fails
# unless the job ends in state EXPECT (COMPLETED or FAILED).
run() {
  local name="$1" expect="$2" id state="" start=$SECONDS
  shift 2
  id=$(sbatch --parsable --output="$out/$name.out" "$@")
  while :; do
    state=$(scontrol show job -o "$id" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\) .*/\1/p')
    case "$state" in
      PENDING|CONFIGURING|RUNNING|COMPLETING|"") ;;
      *) break ;;
    esac
    if [ $((SECONDS - start)) -ge 120 ]; then
      scancel "$id" || true
      echo "FAIL: $name: job $id still $state after 120 s" >&2
      cat "$out/$name.out" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.25
  done
  echo "-- $name: job $id $state in $((SECONDS - start)) s"
  cat "$out/$name.out"
  if [ "$state" != "$expect" ]; then
    echo "FAIL: $name: job $id ended $state, expected $expect" >&2
    return 1
  fi
}

# ring_ok NAME N: N ranks said hello and rank 0 got the message back from rank N-1.
ring_ok() {
  local name="$1" n="$2" msg=""
  for ((r = 0; r < n; r++)); do msg+="P$r"; done
  if [ "$(grep -c "^I am rank [0-9]* of $n on node " "$out/$name.out")" != "$n" ] \
     || ! grep -qx "Processor 0 received message \"$msg\" from rank $((n - 1))" "$out/$name.out"; then
    echo "FAIL: $name: not the output of a $n-rank ring" >&2
    return 1
  fi
}

run ring-2-srun COMPLETED --ntasks=2 scripts/slurm/ring.sbatch
ring_ok ring-2-srun 2
run ring-4-srun COMPLETED --ntasks=4 scripts/slurm/ring.sbatch --laps 3
ring_ok ring-4-srun 4
RSPAR_SLURM_LAUNCHER=mpirun run ring-4-mpirun COMPLETED --ntasks=4 scripts/slurm/ring.sbatch
ring_ok ring-4-mpirun 4
run pi-4-srun COMPLETED scripts/slurm/pi.sbatch
grep -q '^pi ~= 3\.14159265' "$out/pi-4-srun.out" && grep -q ', 4 ranks,' "$out/pi-4-srun.out"
run farm-3-srun COMPLETED scripts/slurm/farm.sbatch
grep -qx '\[39088169, 24157817, 14930352, 9227465, 5702887, 3524578\]' "$out/farm-3-srun.out"
# A program that fails must fail the job: pi with 10 intervals misses a zero tolerance.
run pi-fails FAILED --ntasks=2 scripts/slurm/pi.sbatch --intervals 10 --tolerance 0
echo "slurm: all jobs as expected"
