#!/usr/bin/env bash
# The "ssh" of scripts/cluster-sim.sh: Open MPI calls it (--mca plm_rsh_agent) as
#
#   cluster-sim-agent.sh [ssh-style options] HOST COMMAND...
#
# to start its daemon on HOST. Instead of logging in anywhere it enters HOST's namespaces
# (network, hostname, mount: the long-lived holder process whose pid cluster-sim.sh wrote
# to $RSPAR_SIM_DIR/HOST.pid) and runs COMMAND there with /bin/sh, as sshd would. The
# environment passes through unchanged (same machine, same file system).
set -euo pipefail
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done # options ssh would take
[ $# -ge 2 ] || { echo "cluster-sim-agent: usage: cluster-sim-agent.sh HOST COMMAND..." >&2; exit 255; }
host="$1"
shift
dir="${RSPAR_SIM_DIR:?cluster-sim-agent: RSPAR_SIM_DIR is not set (run through scripts/cluster-sim.sh)}"
if ! pid=$(cat "$dir/$host.pid" 2>/dev/null) || ! kill -0 "$pid" 2>/dev/null; then
  echo "cluster-sim-agent: no simulated host '$host' in $dir" >&2
  exit 255
fi
exec nsenter -t "$pid" --net --uts --mount --wd=/ -- /bin/sh -c "$*"
