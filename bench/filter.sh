#!/usr/bin/env bash
# mminf-filter against jq and a plain python3 json loop on the Oasis quality
# thresholds, plus the zstd and peak-memory targets. One command, no arguments:
#   bench/filter.sh            (BENCH_RECORDS=200000 by default)
# Data is generated once into ${MMINF_CACHE:-~/.cache/mminf}/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product mminf-filter >&2
bin="$(swift build -c release --show-bin-path)/mminf-filter"
exec python3 bench/filter.py "$bin" "${MMINF_CACHE:-$HOME/.cache/mminf}/bench"
