#!/usr/bin/env bash
# Builds Parley's release binaries: static (CGO off; the SQLite driver,
# modernc.org/sqlite, is pure Go), stripped, for Linux and macOS on amd64 and
# arm64, with the version stamped in, plus SHA-256 checksums.
#
#   scripts/release.sh v1.2.3        # writes build/release/parley-v1.2.3-<os>-<arch>.tar.gz
#
# The web UI is embedded from internal/webui/dist: build it first
# (cd ui && npm ci && npm run build) when it changed.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
out=build/release
rm -rf "$out" && mkdir -p "$out"
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do
  os=${target%/*} arch=${target#*/}
  name="parley-$version-$os-$arch"
  mkdir -p "$out/$name"
  echo "building $name"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X main.version=$version" -o "$out/$name/parley" ./cmd/parley
  cp README.md "$out/$name/"
  cp -r deploy "$out/$name/"
  tar -C "$out" -czf "$out/$name.tar.gz" "$name"
  rm -rf "${out:?}/$name"
done
(cd "$out" && sha256sum ./*.tar.gz > SHA256SUMS)
echo "release files in $out:"
ls -l "$out"
