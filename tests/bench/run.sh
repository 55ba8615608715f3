#!/usr/bin/env bash
# make bench: builds what the benchmarks need and runs them (see bench.py and
# analytics_bench.py and sequences_bench.py for the figures). TD_BENCH_ONLY picks sections: a-g
# from bench.py, h for the analytics benchmark on 1,000,000 applications, s for 10,000 sequence
# emails to a local SMTP server (default: all of them).
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
cmake --build "$build" -j2 --target talentd bare_server webhooks analytics sequences >/dev/null
only=${TD_BENCH_ONLY:-abcfehs}
if [ -n "$(echo "$only" | tr -d 'hs')" ]; then
  TD_BENCH_ONLY=$only TALENTD_BIN="$build/talentd" python3 -B tests/bench/bench.py "$build"
fi
if [[ "$only" == *h* ]]; then
  TALENTD_BIN="$build/talentd" python3 -B tests/bench/analytics_bench.py "$build"
fi
if [[ "$only" == *s* ]]; then
  TALENTD_BIN="$build/talentd" python3 -B tests/bench/sequences_bench.py "$build"
fi
