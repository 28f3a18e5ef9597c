#!/usr/bin/env bash
# One command, from a fresh machine to real output: installs what is missing,
# builds the tools, starts a local llama.cpp server with SmolLM2-135M-Instruct
# (built once into ~/.cache/mminf), compiles the pipeline file
# examples/demo.yaml into a bash pipe and runs it on the bundled image
# descriptions: write questions about each description, one record per
# question, answer each, have a judge score each answer against its question,
# keep the well-rated ones, export as conversations.
# SmolLM2 reads text only, so the descriptions stand in for images; point
# MMINF_BASE_URL at a vision model server to run the same steps on images.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/llama-server.sh build
swift build -c release >&2
bin="$(swift build -c release --show-bin-path)"
if [ -z "${MMINF_BASE_URL:-}" ]; then
  url="$(scripts/llama-server.sh start)"
  trap 'scripts/llama-server.sh stop "${url##*:}" >/dev/null 2>&1 || true' EXIT
  export MMINF_BASE_URL="$url/v1"
fi
mkdir -p out
# The pipeline is one YAML file; mminf-compile turns it into the bash pipe it runs.
echo "== examples/demo.yaml" >&2
cat examples/demo.yaml >&2
"$bin/mminf-compile" examples/demo.yaml -o out/demo.sh
echo "== out/demo.sh, compiled by mminf-compile" >&2
cat out/demo.sh >&2
echo "== running out/demo.sh" >&2
PATH="$bin:$PATH" out/demo.sh
echo >&2
echo "wrote out/demo.jsonl.zst ($("$bin/mminf-filter" -q true out/demo.jsonl.zst | wc -l) conversations); the first three:" >&2
"$bin/mminf-filter" -q true out/demo.jsonl.zst | head -3
echo >&2
echo "the run's report (open it in a browser): out/demo/report.html" >&2
