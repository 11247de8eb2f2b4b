#!/usr/bin/env bash
# Repeat-run stress of the pool surviving lost workers under ULFM: N random jobs of
# tests/lost_worker.rs (`cargo xtask stress --kind ulfm`, xtask/src/stress.rs).
#   scripts/stress-ulfm.sh [--runs 50] [--seed S]
cd "$(dirname "$0")/.." && { command -v cargo >/dev/null || . "$HOME/.cargo/env"; } && exec cargo xtask stress --kind ulfm "$@"
