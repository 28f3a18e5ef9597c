#!/usr/bin/env bash
# Two Python environments with transformers, for the vLLM-faithful test server
# (Tests/vllm_faithful/server.py): 4.49 (what vLLM 0.7 rendered chat templates
# with) and a current 5.x. No torch, no model download: the server builds its
# tokenizer in code. Cached outside the repo; idempotent.
#
# Usage: scripts/transformers-venvs.sh          # prints the two python paths, one per line
set -euo pipefail
CACHE="${MMINF_CACHE:-$HOME/.cache/mminf}"
for version in 4.49.0 5.24.0; do
  venv="$CACHE/venv-transformers-$version"
  if ! "$venv/bin/python" -c "import transformers, tokenizers, jinja2; assert transformers.__version__ == '$version'" 2>/dev/null; then
    echo "transformers-venvs.sh: installing transformers $version into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "transformers==$version" jinja2 >&2
  fi
  echo "$venv/bin/python"
done
