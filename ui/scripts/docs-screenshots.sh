#!/bin/sh
# Copies the screenshots docs/ui.md and docs/getting-started.md show from the browser tests' output
# (build/ui-screenshots/, written by `node e2e/run.mjs`) into docs/img/ui/.
set -eu
cd "$(dirname "$0")/../.."
mkdir -p docs/img/ui
for f in $(grep -ho 'img/ui/[A-Za-z0-9_-]*\.png' docs/ui.md docs/getting-started.md | sort -u); do
  src="build/ui-screenshots/$(basename "$f")"
  [ -f "$src" ] || { echo "missing $src: run the browser tests first (cd ui && node e2e/run.mjs)" >&2; exit 1; }
  cp "$src" "docs/$f"
  echo "docs/$f"
done
