#!/usr/bin/env bash
# Build an example in release mode and run it under mpirun.
#
#   scripts/run-example.sh NAME -n N [-- ARGS...]
#   scripts/run-example.sh ring -n 4
#   scripts/run-example.sh ring -n 3 -- --laps 5
#   scripts/run-example.sh ring -n 4 --mpi mpich   # built against MPICH (target/mpich)
#   scripts/run-example.sh --mpi ulfm fib -n 4 -- 44 43 42  # Open MPI 5 with ULFM: a lost
#                                                  # worker rank's tasks are redone
#
# Runs scripts/setup.sh first when MPI or libclang is missing, and passes mpirun the
# flags a 2-core machine and root need (oversubscribe, allow-run-as-root).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
name=
n=1
mpi=openmpi
# The options may come before or after NAME (`--mpi ulfm fib -n 4 -- ...`).
while [ $# -gt 0 ]; do
  case "$1" in
    -n|-np) n="${2:?-n needs a number}"; shift 2 ;;
    --mpi) mpi="${2:?--mpi needs openmpi, mpich or ulfm}"; shift 2 ;;
    --) shift; break ;;
    -*) echo "run-example.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *)
      if [ -n "$name" ]; then
        echo "run-example.sh: two example names, '$name' and '$1' (arguments for the example go after --)" >&2
        exit 2
      fi
      name="$1"; shift ;;
  esac
done
[ -n "$name" ] || { usage >&2; exit 2; }
if [ ! -f "examples/$name.rs" ]; then
  # The examples are the files examples/NAME.rs (c/, embed/ and python/ hold the MPMD
  # peers and the host programs, built and run by tests/interop.rs, not by this script).
  echo "run-example.sh: no example '$name'; there are: $(cd examples && LC_ALL=C ls -- *.rs | sed 's/\.rs$//' | tr '\n' ' ')" >&2
  exit 2
fi

command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
. scripts/mpi-env.sh
# Sets the build (MPICC/MPI_PKG_CONFIG), the target directory and the launcher.
rspar_use_mpi "$mpi" || { scripts/setup.sh --mpi "$mpi"; rspar_use_mpi "$mpi"; }
cargo build --release --quiet --example "$name"
exec "${MPIRUN[@]}" -n "$n" "$CARGO_TARGET_DIR/release/examples/$name" "$@"
