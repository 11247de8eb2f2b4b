#!/usr/bin/env bash
# A simulated cluster of K hosts on this one Linux machine: runs an Open MPI job across
# them over TCP, then tears everything down (also after a failure, Ctrl-C or SIGTERM).
#
#   scripts/cluster-sim.sh [--hosts K] [--slots S] [--quiet] -- MPIRUN-ARGS...
#   scripts/cluster-sim.sh --hosts 3 -- -n 6 --map-by node target/release/examples/ring
#
#   --hosts K   simulated hosts node1..nodeK (default 2, at most 64)
#   --slots S   slots per host in the generated hostfile (default 2)
#   --quiet     no progress lines on stderr
#   --check     only check that a simulation can run here: exit 0, or 77 and the reason
#   after --    everything goes to mpirun (run inside node1); a --mca there overrides
#               the settings below
#
# Each host is a network namespace with its own hostname (UTS namespace) and its own
# /etc/hosts (mount namespace, a bind mount), held by one long-lived process; a veth pair
# joins it to a bridge in a namespace of its own, on a private 10.77.X.0/24 that exists
# only inside these namespaces: nothing is configured in the root namespace and no packet
# leaves the machine. mpirun runs in node1 with --hostfile (nodeN slots=S) and, as
# OMPI_MCA_* variables: plm_rsh_agent=scripts/cluster-sim-agent.sh, plm_rsh_no_tree_spawn=1,
# btl=tcp,self, btl_tcp_if_include and oob_tcp_if_include=10.77.X.0/24, and
# mpi_yield_when_idle=1 (waiting ranks yield the core: on a small machine busy-polling
# ranks starve the kernel's network processing). The agent, called like ssh (HOST
# COMMAND...), starts Open MPI's daemons inside the other hosts' namespaces. Runs take a
# free slot X (0..15, a lock each) so they do not collide; a slot's leftovers from a
# killed run are removed when it is next taken.
#
# Exit code: mpirun's. 77: skipped, the reason printed (not root, namespaces not
# permitted, a tool or Open MPI missing). 2: bad arguments.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

hosts=2 slots=2 quiet=0 check=0
usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts="${2:-}"; shift 2 ;;
    --hosts=*) hosts="${1#--hosts=}"; shift ;;
    --slots) slots="${2:-}"; shift 2 ;;
    --slots=*) slots="${1#--slots=}"; shift ;;
    --quiet) quiet=1; shift ;;
    --check) check=1; quiet=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "cluster-sim: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$hosts" in ''|*[!0-9]*) hosts=0 ;; esac
case "$slots" in ''|*[!0-9]*) slots=0 ;; esac
if [ "$hosts" -lt 1 ] || [ "$hosts" -gt 64 ] || [ "$slots" -lt 1 ]; then
  echo "cluster-sim: --hosts takes 1..64 and --slots a positive number (see --help)" >&2
  exit 2
fi
[ $# -ge 1 ] || [ "$check" = 1 ] || { echo "cluster-sim: nothing to run: give mpirun's arguments after -- (see --help)" >&2; exit 2; }

say() { [ "$quiet" = 1 ] || echo "cluster-sim: $*" >&2; }
skip() { echo "cluster-sim: SKIPPED: $*" >&2; exit 77; }

# --- can we? ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] ||
  skip "not root (uid $(id -u)): network, UTS and mount namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN"
launcher="${RSPAR_MPIRUN:-mpirun}"
for tool in ip unshare nsenter flock "$launcher"; do
  command -v "$tool" >/dev/null 2>&1 || skip "'$tool' is not installed"
done
"$launcher" --version 2>&1 | grep -qiE 'open mpi|open-mpi|openrte' ||
  skip "'$launcher' is not Open MPI's mpirun (the simulation drives Open MPI's ssh launcher)"
. "$here/mpi-env.sh" # run-as-root and oversubscribe variables

# --- a slot: names, subnet and a lock of our own ---------------------------------------
lockdir=/run/lock
[ -d "$lockdir" ] && [ -w "$lockdir" ] || lockdir=/tmp
slot=
for s in $(seq 0 15); do
  exec {lockfd}>"$lockdir/rsparsim$s.lock"
  if flock -n "$lockfd"; then slot=$s; break; fi
  exec {lockfd}>&-
done
[ -n "$slot" ] || { echo "cluster-sim: all 16 slots are in use (16 simulations running?)" >&2; exit 75; }
prefix="rsparsim$slot"            # namespaces: rsparsimX-br, rsparsimX-node1, ...
subnet="10.77.$slot.0/24"
state="/run/$prefix"
[ -d /run ] && [ -w /run ] || state="/tmp/$prefix"

# Processes still inside our namespaces (ours: the holders, stray daemons or ranks).
ns_pids() { ip netns pids "$1" 2>/dev/null || true; }

# Remove everything of this slot: the namespaces (with their veths and bridge) and the
# processes left in them, and the state directory. Safe to run twice.
teardown() {
  local ns pids
  for ns in $(ip netns list 2>/dev/null | awk -v p="$prefix-" 'index($1, p) == 1 { print $1 }'); do
    pids=$(ns_pids "$ns")
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
    fi
  done
  for ns in $(ip netns list 2>/dev/null | awk -v p="$prefix-" 'index($1, p) == 1 { print $1 }'); do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ -n "$(ns_pids "$ns")" ] || break
      sleep 0.1
    done
    pids=$(ns_pids "$ns")
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$state"
}

mpirun_pid=
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$mpirun_pid" ] && kill -0 "$mpirun_pid" 2>/dev/null; then
    kill -TERM "$mpirun_pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$mpirun_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ -d "$state" ]; then
    teardown
    say "torn down ($prefix)"
  fi
  exit "$rc"
}

if [ -n "$(ip netns list 2>/dev/null | awk -v p="$prefix-" 'index($1, p) == 1')" ]; then
  say "removing leftovers of an earlier run in slot $slot"
fi
teardown
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build it --------------------------------------------------------------------------
mkdir -p "$state"
if ! err=$(ip netns add "$prefix-br" 2>&1); then
  skip "cannot create network namespaces here (ip netns add: ${err:-failed})"
fi
if ! err=$(unshare --uts --mount --propagation private true 2>&1); then
  skip "cannot create UTS and mount namespaces here (unshare: ${err:-failed})"
fi
if ! err=$(ip -n "$prefix-br" link add br0 type bridge 2>&1); then
  skip "cannot make a bridge in a network namespace (ip link add: ${err:-failed})"
fi
ip -n "$prefix-br" link set br0 up
if [ "$check" = 1 ]; then
  echo "cluster-sim: namespaces, a bridge and $launcher (Open MPI) are available"
  exit 0
fi

{
  echo "127.0.0.1 localhost"
  for i in $(seq "$hosts"); do echo "10.77.$slot.$i node$i"; done
} >"$state/hosts"
: >"$state/hostfile"
for i in $(seq "$hosts"); do echo "node$i slots=$slots" >>"$state/hostfile"; done

for i in $(seq "$hosts"); do
  ns="$prefix-node$i"
  ip netns add "$ns"
  # Both veth ends are made inside namespaces: none ever exists in the root namespace.
  ip -n "$prefix-br" link add "veth$i" type veth peer name eth0 netns "$ns"
  ip -n "$prefix-br" link set "veth$i" master br0 up
  ip -n "$ns" addr add "10.77.$slot.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  # The holder: its own hostname and /etc/hosts, then it sleeps; every process of this
  # host enters its namespaces (nsenter -t PID). Each exec keeps the pid: ip, unshare,
  # sh, sleep. Our lock stays with this script (closed in the holder).
  ip netns exec "$ns" unshare --uts --mount --propagation private /bin/sh -c '
    hostname "$1" && mount --bind "$2" /etc/hosts && echo $$ >"$3.tmp" && mv "$3.tmp" "$3" &&
      exec sleep infinity' holder "node$i" "$state/hosts" "$state/node$i.pid" \
    </dev/null >/dev/null {lockfd}>&- &
done
for i in $(seq "$hosts"); do
  for _ in $(seq 100); do [ -s "$state/node$i.pid" ] && break; sleep 0.05; done
  [ -s "$state/node$i.pid" ] || { echo "cluster-sim: host node$i did not come up" >&2; exit 1; }
done
say "$hosts hosts node1..node$hosts on $subnet (namespaces $prefix-*), mpirun in node1"

# --- run -------------------------------------------------------------------------------
export RSPAR_SIM_DIR="$state"
# Open MPI's settings for the simulation, as OMPI_MCA_* variables (forwarded to every
# daemon and rank) rather than flags, so a --mca after -- may override any of them.
export OMPI_MCA_plm_rsh_agent="$here/cluster-sim-agent.sh" OMPI_MCA_plm_rsh_no_tree_spawn=1
export OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include="$subnet" OMPI_MCA_oob_tcp_if_include="$subnet"
export OMPI_MCA_mpi_yield_when_idle=1
nsenter -t "$(cat "$state/node1.pid")" --net --uts --mount --wd="$PWD" -- \
  "$launcher" --hostfile "$state/hostfile" "$@" {lockfd}>&- &
mpirun_pid=$!
rc=0
wait "$mpirun_pid" || rc=$?
mpirun_pid=
exit "$rc"
