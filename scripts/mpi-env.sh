# Sourced by the scripts: which MPI to build against and launch with, and the mpirun
# command with the flags a small machine and root need.
#
#   rspar_use_mpi openmpi|mpich   pick the MPI for everything that follows: the build
#                                 (MPICC or MPI_PKG_CONFIG, read by rsmpi's build script),
#                                 the target directory (target/ or target/mpich), the
#                                 launcher (RSPAR_MPIRUN); refreshes a target directory
#                                 that was built against the other MPI; sets MPIRUN
#   rspar_mpirun                  MPIRUN (array): the launcher (RSPAR_MPIRUN, default
#                                 mpirun) and its flags
#   rspar_check_target DIR        clean rsmpi's build in DIR if it was built against
#                                 another MPI than RSPAR_MPI (rsmpi's build script does not
#                                 rerun when MPICC or MPI_PKG_CONFIG change), then record
#   rspar_check_binary FILE       fail unless FILE links the MPI library of RSPAR_MPI

# Open MPI refuses to run as root without these; harmless otherwise (and to MPICH).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# More ranks than cores is normal here (2-core machines, tests with 5-16 ranks). MPICH's
# hydra needs nothing for that, nor to run as root.
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

# The first of the commands given that exists.
_rspar_first() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 && { echo "$c"; return 0; }
  done
  return 1
}

rspar_use_mpi() {
  local mpi="$1" root c
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  # Both take precedence over MPICC in rsmpi's probe; set again below where wanted.
  unset MPI_PKG_CONFIG CRAY_MPICH_DIR
  case "$mpi" in
    openmpi)
      export CARGO_TARGET_DIR="${RSPAR_TARGET_DIR:-$root/target}"
      if c=$(_rspar_first mpicc.openmpi); then
        export MPICC="$c"
      elif command -v mpicc >/dev/null 2>&1 && mpicc --showme:version >/dev/null 2>&1; then
        export MPICC=mpicc
      elif pkg-config --exists ompi 2>/dev/null; then
        unset MPICC; export MPI_PKG_CONFIG=ompi
      else
        echo "rspar: no Open MPI to build against (mpicc.openmpi, an Open MPI mpicc or pkg-config ompi): run scripts/setup.sh" >&2
        return 1
      fi
      if [ -z "${RSPAR_MPIRUN:-}" ]; then
        RSPAR_MPIRUN=$(_rspar_first mpirun.openmpi orterun mpirun) || RSPAR_MPIRUN=mpirun
      fi ;;
    mpich)
      export CARGO_TARGET_DIR="${RSPAR_TARGET_DIR:-$root/target/mpich}"
      if pkg-config --exists mpich 2>/dev/null; then
        unset MPICC; export MPI_PKG_CONFIG=mpich
      elif c=$(_rspar_first mpicc.mpich); then
        export MPICC="$c"
      elif command -v mpichversion >/dev/null 2>&1 && command -v mpicc >/dev/null 2>&1; then
        export MPICC=mpicc
      else
        echo "rspar: no MPICH to build against (pkg-config mpich, mpicc.mpich or MPICH's mpicc): run scripts/setup.sh --mpi mpich" >&2
        return 1
      fi
      if [ -z "${RSPAR_MPIRUN:-}" ]; then
        RSPAR_MPIRUN=$(_rspar_first mpiexec.mpich mpiexec.hydra mpiexec) || RSPAR_MPIRUN=mpiexec
      fi ;;
    *) echo "rspar: --mpi takes openmpi or mpich, not '$mpi'" >&2; return 2 ;;
  esac
  export RSPAR_MPI="$mpi" RSPAR_MPIRUN
  rspar_check_target "$CARGO_TARGET_DIR" || return 1
  rspar_mpirun
}

rspar_check_target() {
  local dir="$1" stamp="$1/rspar-mpi" built="" out
  if [ -f "$stamp" ]; then
    built=$(cat "$stamp")
  else
    # No record (a directory from before records): what rsmpi's build script linked.
    for out in "$dir"/*/build/mpi-sys-*/output; do
      [ -f "$out" ] || continue
      if grep -qx 'cargo:rustc-link-lib=mpich' "$out"; then built=mpich
      elif grep -qx 'cargo:rustc-link-lib=mpi' "$out"; then built=openmpi
      fi
    done
  fi
  if [ -n "$built" ] && [ "$built" != "$RSPAR_MPI" ]; then
    echo "rspar: $dir was built against $built, not $RSPAR_MPI: cleaning rsmpi's build there (cargo clean -p mpi-sys) so it is rebuilt" >&2
    CARGO_TARGET_DIR="$dir" cargo clean --quiet -p mpi-sys -p mpi || return 1
  fi
  mkdir -p "$dir"
  echo "$RSPAR_MPI" >"$stamp"
}

rspar_check_binary() {
  local file="$1" want
  case "$RSPAR_MPI" in
    mpich) want=libmpich.so ;;
    *) want=libmpi.so ;;
  esac
  local libs
  libs=$(ldd "$file" 2>/dev/null) || { echo "rspar: cannot ldd $file" >&2; return 1; }
  if ! grep -qF "$want" <<<"$libs"; then
    echo "rspar: $file does not link the $RSPAR_MPI library ($want):" >&2
    grep -i mpi <<<"$libs" >&2
    return 1
  fi
}
