# Sourced by the scripts: which MPI to build against and launch with, and the mpirun
# command with the flags a small machine and root need.
#
# What differs between the configurations (target directory, launcher names and flags,
# library file, where ulfm is installed) is read from src/flavours.txt, the table that
# build.rs and the Rust side read too (rspar_flavour).
#
#   rspar_use_mpi openmpi|mpich|ulfm
#                                 pick the MPI for everything that follows: the build
#                                 (MPICC or MPI_PKG_CONFIG, read by rsmpi's build script),
#                                 the target directory (target/, target/mpich,
#                                 target/ulfm), the launcher (RSPAR_MPIRUN); refreshes a
#                                 target directory that was built against another MPI;
#                                 sets MPIRUN
#   rspar_flavour CONFIG KEY      a value of src/flavours.txt
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

_rspar_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

rspar_flavour() {
  awk -v c="$1" -v k="$2" '$1 == c && $2 == k { sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]*/, ""); print; exit }' \
    "$_rspar_root/src/flavours.txt"
}

# True when the launcher's --version text ($2) carries one of CONFIG's ($1) launcher words.
_rspar_launcher_is() {
  local word words
  words=$(rspar_flavour "$1" launcher)
  IFS='|' read -ra words <<<"$words"
  for word in "${words[@]}"; do
    [[ "${2,,}" == *"$word"* ]] && return 0
  done
  return 1
}

rspar_mpirun() {
  local launcher="${RSPAR_MPIRUN:-mpirun}" version flags
  if ! command -v "$launcher" >/dev/null 2>&1; then
    echo "no '$launcher' on PATH: run scripts/setup.sh (or load your MPI module)" >&2
    return 1
  fi
  MPIRUN=("$launcher")
  version=$("$launcher" --version 2>&1 || true)
  if _rspar_launcher_is openmpi "$version"; then
    MPIRUN+=(--oversubscribe)
  fi
  flags=$(rspar_flavour "${RSPAR_MPI:-}" flags)
  # shellcheck disable=SC2206 # the table's flags are words
  [ -z "$flags" ] || MPIRUN+=($flags)
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
  local mpi="$1" root="$_rspar_root" c prefix
  # Both take precedence over MPICC in rsmpi's probe; set again below where wanted.
  unset MPI_PKG_CONFIG CRAY_MPICH_DIR
  case "$mpi" in
    openmpi|mpich|ulfm)
      export CARGO_TARGET_DIR="${RSPAR_TARGET_DIR:-$root/$(rspar_flavour "$mpi" target)}" ;;
  esac
  case "$mpi" in
    openmpi)
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
        RSPAR_MPIRUN=$(_rspar_first $(rspar_flavour openmpi runs | tr '|' ' ')) || RSPAR_MPIRUN=mpirun
      fi ;;
    mpich)
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
        RSPAR_MPIRUN=$(_rspar_first $(rspar_flavour mpich runs | tr '|' ' ')) || RSPAR_MPIRUN=mpiexec
      fi ;;
    ulfm)
      # Open MPI 5 from PyPI in a virtual environment (scripts/setup.sh --mpi ulfm). Its
      # mpicc -show names its include and lib directories; it has no pkg-config file.
      prefix="$root/$(rspar_flavour ulfm prefix)"
      if [ ! -x "$prefix/bin/mpicc" ]; then
        echo "rspar: no Open MPI 5 (ulfm) in $prefix: run scripts/setup.sh --mpi ulfm" >&2
        return 1
      fi
      export MPICC="$prefix/bin/mpicc"
      # The test driver and directly run programs load libmpi before any launcher sets
      # the path (the system's Open MPI 4 has the same soname); rspar's own tests and
      # examples also carry an rpath (build.rs).
      export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      # A program run directly (an MPI singleton) starts Open MPI 5's runtime (prte) to
      # spawn pool workers: it must be on the PATH, else every spawn fails.
      case ":$PATH:" in *":$prefix/bin:"*) ;; *) export PATH="$prefix/bin:$PATH" ;; esac
      # As root: Open MPI 5.0.11's mpirun accepts the OMPI_ variables above (the PRTE_
      # ones alone were not enough, measured); prterun and prted read these.
      export PRTE_ALLOW_RUN_AS_ROOT=1 PRTE_ALLOW_RUN_AS_ROOT_CONFIRM=1
      # Open MPI 5 converts this 4.x variable and then fails every MPI_Comm_spawn of a
      # program run directly ("Error in file dpm.c", measured); its mpirun gets
      # --oversubscribe instead (rspar_mpirun).
      unset OMPI_MCA_rmaps_base_oversubscribe
      [ -n "${RSPAR_MPIRUN:-}" ] || RSPAR_MPIRUN="$prefix/bin/$(rspar_flavour ulfm runs)" ;;
    *) echo "rspar: --mpi takes openmpi, mpich or ulfm, not '$mpi'" >&2; return 2 ;;
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
      if grep -q 'ulfm-venv' "$out"; then built=ulfm
      elif grep -qx 'cargo:rustc-link-lib=mpich' "$out"; then built=mpich
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
  want=$(rspar_flavour "$RSPAR_MPI" links)
  # A path in the table is relative to the project.
  [[ "$want" != */* ]] || want="$_rspar_root/$want"
  local libs
  libs=$(ldd "$file" 2>/dev/null) || { echo "rspar: cannot ldd $file" >&2; return 1; }
  if ! grep -qF "$want" <<<"$libs"; then
    echo "rspar: $file does not link the $RSPAR_MPI library ($want):" >&2
    grep -i mpi <<<"$libs" >&2
    return 1
  fi
}
