#!/usr/bin/env bash
# Writes a man page per tool and shell completions (bash, zsh, fish), all
# generated from the tools' own option definitions, so they never drift.
#
# Usage: scripts/manpages.sh [DIR]      (default DIR: .build/share)
#   DIR/man/man1/mminf-*.1
#   DIR/completions/bash/mminf-*  DIR/completions/zsh/_mminf-*  DIR/completions/fish/mminf-*.fish
# Read a page with `man DIR/man/man1/mminf-gen.1`; for bash completion,
# `source DIR/completions/bash/mminf-gen`.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/share}"
tools=(mminf-filter mminf-split mminf-gen mminf-score mminf-compile mminf-report)

swift build -c release >&2
bin="$(swift build -c release --show-bin-path)"

mkdir -p "$out/man/man1" "$out/completions/bash" "$out/completions/zsh" "$out/completions/fish"
# swift-argument-parser's generate-manual plugin reads each tool's definitions.
swift package --allow-writing-to-package-directory generate-manual --multi-page >&2
manual=".build/plugins/GenerateManual/outputs"
for t in "${tools[@]}"; do
  page="$(find "$manual" -name "$t.1" | head -n 1)"
  [ -n "$page" ] || { echo "manpages.sh: no man page was generated for $t" >&2; exit 1; }
  cp "$page" "$out/man/man1/$t.1"
  "$bin/$t" --generate-completion-script bash > "$out/completions/bash/$t"
  "$bin/$t" --generate-completion-script zsh > "$out/completions/zsh/_$t"
  "$bin/$t" --generate-completion-script fish > "$out/completions/fish/$t.fish"
done
echo "manpages.sh: man pages in $out/man/man1, completions in $out/completions" >&2
