#!/usr/bin/env bash
# Vendors hls.js from the npm registry into the embedded operator console.
#
#   tools/console/vendor.sh [VERSION]
#
# It runs `npm pack` for the pinned version in a temporary directory, checks
# the tarball's integrity against the registry's (npm does), and copies the
# minified browser build and its licence into internal/console/web/vendor/.
# Commit both files; the console is embedded into the binary with go:embed.
set -euo pipefail

version="${1:-1.7.4}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="$root/internal/console/web/vendor"

command -v npm >/dev/null || { echo "vendor.sh: npm is missing (Debian: apt-get install npm)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "hls.js@$version" >/dev/null)
tar -xzf "$tmp"/hls.js-"$version".tgz -C "$tmp"

mkdir -p "$dest"
cp "$tmp/package/dist/hls.min.js" "$dest/hls.min.js"
cp "$tmp/package/LICENSE" "$dest/hls.js.LICENSE"
printf 'hls.js %s from the npm registry (npm pack hls.js@%s), Apache-2.0; see hls.js.LICENSE.\n' \
  "$version" "$version" >"$dest/README"
echo "vendored hls.js $version into ${dest#"$root"/}"
