#!/usr/bin/env bash
# The whole check, as CI runs it: install what is missing, format, lint, test.
#
#   scripts/test.sh
#
# Steps: scripts/setup.sh; cargo fmt --check; cargo clippy --all-targets -D warnings;
# cargo test (unit, doc and multi-rank tests under mpirun); the downstream crate in
# tests/crate built against rspar as a dependency and run under mpirun.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

step() { printf '\n== %s\n' "$*"; }

step "setup"
scripts/setup.sh
command -v cargo >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
. scripts/mpi-env.sh
rspar_mpirun

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "cargo test"
# Plain `cargo test` builds the examples as programs (the multi-rank tests run them),
# then runs unit, integration and doc tests.
cargo test

step "downstream crate (tests/crate) depends on rspar"
CARGO_TARGET_DIR="$PWD/target/downstream" \
  cargo build --quiet --manifest-path tests/crate/Cargo.toml
out=$(timeout -k 5 60 "${MPIRUN[@]}" -n 3 target/downstream/debug/downstream)
echo "$out"
grep -qx 'downstream: rank 0 received "P0P1P2" from rank 2' <<<"$out"

step "all checks passed"
