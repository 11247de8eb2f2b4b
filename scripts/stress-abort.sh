#!/usr/bin/env bash
# Repeat-run stress of failure handling: N random failing jobs of examples/failure, each
# must end within 5 s of the failure (`cargo xtask stress --kind abort`, xtask/src/stress.rs).
#   scripts/stress-abort.sh [--runs 50] [--seed S]
cd "$(dirname "$0")/.." && { command -v cargo >/dev/null || . "$HOME/.cargo/env"; } && exec cargo xtask stress --kind abort "$@"
