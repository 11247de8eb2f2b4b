# Sourced by the scripts: the mpirun command and the flags a small machine and root need.
# Sets MPIRUN (array): the launcher and its flags. Honours RSPAR_MPIRUN (a launcher path).

# Open MPI refuses to run as root without these; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# More ranks than cores is normal here (2-core machines, tests with 5-16 ranks).
export OMPI_MCA_rmaps_base_oversubscribe=1

rspar_mpirun() {
  local launcher="${RSPAR_MPIRUN:-mpirun}"
  if ! command -v "$launcher" >/dev/null 2>&1; then
    echo "no '$launcher' on PATH: run scripts/setup.sh (or load your MPI module)" >&2
    return 1
  fi
  MPIRUN=("$launcher")
  if "$launcher" --version 2>&1 | grep -qi 'open mpi\|open-mpi\|openrte'; then
    MPIRUN+=(--oversubscribe)
  fi
}
