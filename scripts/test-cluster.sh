#!/usr/bin/env bash
# The examples across a simulated cluster (scripts/cluster-sim.sh): 3 hosts, 2 ranks
# each, over TCP between network namespaces. Runs the ring (and checks that the ranks
# report 3 distinct hosts, 2 ranks each), pi, the fib farm and every collective, each
# checked for its exit code and its output, each with a time limit.
#
#   scripts/test-cluster.sh [--release]    (debug builds of the examples by default)
#
# Exit code: 0 passed, 1 failed, 77 skipped (no namespaces here: the reason is printed).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
for arg in "$@"; do
  case "$arg" in
    --release) profile=release ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-cluster.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
build=(cargo build --quiet --example ring --example pi --example fib --example collectives)
[ "$profile" = release ] && build+=(--release)
"${build[@]}"
ex="${CARGO_TARGET_DIR:-target}/$profile/examples"
hosts=3 per_host=2
n=$((hosts * per_host))

out=
# Run an example on the simulated cluster; its stdout in $out. Stops the script on a
# skip (77) or a failure, with the job's output.
job() {
  local name="$1" started rc=0 log
  shift
  log=$(mktemp)
  started=$(date +%s%N)
  timeout -k 10 60 scripts/cluster-sim.sh --hosts "$hosts" --slots "$per_host" --quiet \
    -- -n "$n" "$ex/$name" "$@" >"$log.out" 2>"$log" || rc=$?
  out=$(cat "$log.out")
  if [ "$rc" = 77 ]; then
    sed -n 's/^cluster-sim: //p' "$log" | sed 's/^/cluster: /' >&2
    rm -f "$log" "$log.out"
    exit 77
  fi
  if [ "$rc" != 0 ]; then
    echo "cluster: $name FAILED (exit $rc$([ "$rc" = 124 ] && echo ', timed out'))" >&2
    printf -- '--- stdout\n%s\n--- stderr\n%s\n' "$out" "$(cat "$log")" >&2
    rm -f "$log" "$log.out"
    exit 1
  fi
  rm -f "$log" "$log.out"
  secs=$(awk -v a="$started" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
}

# Fail with the job's output unless its stdout has the line (a fixed string).
expect_line() {
  local name="$1" line="$2"
  grep -qxF -- "$line" <<<"$out" && return 0
  printf 'cluster: %s FAILED: no line "%s" in its output:\n%s\n' "$name" "$line" "$out" >&2
  exit 1
}

job ring
expect_line ring "Processor 0 received message \"$(printf 'P%s' $(seq 0 $((n - 1))))\" from rank $((n - 1))"
# "I am rank R of N on node HOST": every rank once; hosts distinct, per_host ranks each.
placement=$(sed -n "s/^I am rank \([0-9]*\) of $n on node \(.*\)\$/\1 \2/p" <<<"$out" | sort -n)
ranks=$(cut -d' ' -f1 <<<"$placement" | tr '\n' ' ')
per_name=$(cut -d' ' -f2 <<<"$placement" | sort | uniq -c)
names=$(awk '{ printf "%s ", $2 }' <<<"$per_name")
if [ "$ranks" != "$(seq -s ' ' 0 $((n - 1))) " ] || [ "$(wc -l <<<"$per_name")" != "$hosts" ] ||
   awk -v k="$per_host" '$1 != k { bad = 1 } END { exit !bad }' <<<"$per_name"; then
  printf 'cluster: ring FAILED: expected ranks 0..%s on %s distinct hosts, %s each; got:\n%s\n' \
    $((n - 1)) "$hosts" "$per_host" "$out" >&2
  exit 1
fi
printf 'cluster: ring ok: %s ranks on hosts %s(%s s)\n' "$n" "$names" "$secs"

job pi
if ! grep -q '^pi ~= 3\.1415926535' <<<"$out"; then
  printf 'cluster: pi FAILED: no "pi ~= 3.1415926535..." in its output:\n%s\n' "$out" >&2
  exit 1
fi
printf 'cluster: pi ok: %s (%s s)\n' "$(grep '^pi ~=' <<<"$out")" "$secs"

job fib
expect_line fib "[39088169, 24157817, 14930352, 9227465, 5702887, 3524578]"
printf 'cluster: fib ok: the farm returned fib(38..33) (%s s)\n' "$secs"

job collectives
expect_line collectives "all collectives ok on $n ranks"
printf 'cluster: collectives ok: %s checks (%s s)\n' "$(grep -c ' ok$' <<<"$out")" "$secs"

echo "cluster: all passed on $hosts simulated hosts x $per_host ranks"
