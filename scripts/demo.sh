#!/usr/bin/env bash
# Builds the tools and runs the model-free end of the Oasis pipeline on the
# bundled sample: extract the instruction, apply the quality thresholds,
# export ShareGPT records. Prints where the output is and what it holds.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release >&2
bin="$(swift build -c release --show-bin-path)"
mkdir -p out
"$bin/mminf-filter" --extract extracted --regex '^Instruction:\s*(.+)' --into instruction \
    --rejected out/demo-rejected.jsonl examples/data/scored.jsonl \
| "$bin/mminf-filter" 'scores.solvability >= 3 && scores.hallucination == 5 && scores.clarity >= 3
                       && scores.nonsense == 5 && scores.solvability + scores.clarity >= 7' \
| "$bin/mminf-filter" --set data_source=oasis --format sharegpt -o out/demo-oasis.jsonl.zst
echo "wrote out/demo-oasis.jsonl.zst; its records:" >&2
"$bin/mminf-filter" -q true out/demo-oasis.jsonl.zst
