#!/usr/bin/env bash
# CI for the web UI (ui/): type-check, unit tests, build, check that the
# committed bundle (internal/webui/dist) is exactly what the sources build,
# then the browser tests against a real `parley serve` on SQLite.
# Needs: Node 20+ with npm, Go (to build the server), network access to the
# npm registry, and apt (to install Debian's chromium when it is missing).
# Screenshots and results land in build/ui-screenshots/ and build/ui-e2e-results.json.
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
step() { echo; echo "== ui: $* ($(( $(date +%s) - start ))s)"; }

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  step "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error

step "type-check"
npm run --silent typecheck

step "unit tests (vitest)"
npx vitest run

step "build"
npm run --silent build

step "the committed bundle matches the sources"
if ! git -C .. diff --exit-code --stat -- internal/webui/dist || [ -n "$(git -C .. status --porcelain -- internal/webui/dist)" ]; then
  echo "internal/webui/dist differs from a fresh build of ui/: run 'npm run build' in ui/ and commit internal/webui/dist"
  git -C .. status --porcelain -- internal/webui/dist
  exit 1
fi

step "browser tests (playwright-core + $(${CHROMIUM:-/usr/bin/chromium} --version 2>/dev/null | head -n1))"
node e2e/run.mjs

step "ui CI passed"
