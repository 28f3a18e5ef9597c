#!/usr/bin/env bash
# mminf-filter against jq and a plain python3 json loop on the Oasis quality
# thresholds, plus the zstd and peak-memory targets. One command, no arguments:
#   bench/filter.sh            (BENCH_RECORDS=200000 by default)
# Data is generated once into ${MMINF_CACHE:-~/.cache/mminf}/bench.
set -euo pipefail
source "$(dirname "$0")/lib.sh"   # --help, and the cache folder
scripts/setup.sh
swift build -c release --product mminf-filter >&2
bin="$(swift build -c release --show-bin-path)/mminf-filter"
# The same tool built with -Ounchecked (no overflow or bounds checks), which the
# project no longer uses since it parses untrusted input: its speed is measured
# in the same run so the cost of the checks is stated, not guessed.
swift build -c release --product mminf-filter --scratch-path .build-ounchecked -Xswiftc -Ounchecked >&2
export BENCH_OUNCHECKED_BIN="$(swift build -c release --scratch-path .build-ounchecked --show-bin-path)/mminf-filter"
exec python3 bench/filter.py "$bin" "${MMINF_CACHE:-$HOME/.cache/mminf}/bench"
