#!/bin/sh
# Copies the screenshots docs/ui.md shows from the browser tests' output
# (build/ui-screenshots/, written by `node e2e/run.mjs`) into docs/img/ui/,
# as 256-colour PNGs when ImageMagick's convert is there (a third of the size).
set -eu
cd "$(dirname "$0")/../.."
mkdir -p docs/img/ui
for f in $(grep -o 'img/ui/[A-Za-z0-9_-]*\.png' docs/ui.md | sort -u); do
  src="build/ui-screenshots/$(basename "$f")"
  [ -f "$src" ] || { echo "missing $src: run the browser tests first (cd ui && node e2e/run.mjs)" >&2; exit 1; }
  if command -v convert >/dev/null 2>&1; then convert "$src" -colors 256 "PNG8:docs/$f"; else cp "$src" "docs/$f"; fi
  echo "docs/$f"
done
