#!/usr/bin/env bash
# make bench: builds what the benchmark needs and runs it (see bench.py for the figures).
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
cmake --build "$build" -j2 --target talentd bare_server webhooks >/dev/null
TALENTD_BIN="$build/talentd" python3 -B tests/bench/bench.py "$build"
