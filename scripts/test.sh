#!/usr/bin/env bash
# The test command (README, CI): installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Formatting (.swift-format at the root): any violation fails the run. Fix with scripts/format.sh.
swift format lint --strict --recursive --parallel Sources Tests Package.swift
scripts/llama-server.sh build    # cached outside the repo: minutes once, then instant
swift build --build-tests
# transformers 4.49 and 5.x for the vLLM-faithful test server (cached outside the repo).
MMINF_TEST_TRANSFORMERS_PYTHONS="$(scripts/transformers-venvs.sh | paste -sd:)"
export MMINF_TEST_TRANSFORMERS_PYTHONS
# One real llama.cpp server (SmolLM2-135M) for the tests that need a model.
MMINF_TEST_LLAMA_URL="$(scripts/llama-server.sh start)"
export MMINF_TEST_LLAMA_URL
# A one-node Slurm cluster (Debian's slurm-wlm and munge) for the compiled job arrays.
MMINF_TEST_SLURM_CONF="$(scripts/slurm-cluster.sh start)"
export MMINF_TEST_SLURM_CONF
stop_servers() {
  scripts/llama-server.sh stop "${MMINF_TEST_LLAMA_URL##*:}" >/dev/null 2>&1 || true
  scripts/slurm-cluster.sh stop >/dev/null 2>&1 || true
}
trap stop_servers EXIT
swift test --skip-build
