#!/usr/bin/env bash
# Regenerates Evercast's default avatar pack in assets/avatars/default/.
#
#   bash tools/avatarpack/build.sh [--sheet /tmp/sheet.png]
#
# 1. npm ci: installs the pinned DiceBear packages (package-lock.json).
# 2. generate.mjs: renders the avatar variants as SVG and copies the licence.
# 3. rsvg-convert: rasterises each SVG to PNG.
# 4. go run ./tools/avatarpack: cuts the mouth and eye patches (bounding box
#    of the pixels that differ between variants) and writes pack.json.
# Same pinned packages + same librsvg => byte-identical output.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pack="$root/assets/avatars/default"

sheet=()
while [ $# -gt 0 ]; do
	case "$1" in
	--sheet) sheet=(-sheet "$2"); shift 2 ;;
	*) echo "usage: bash tools/avatarpack/build.sh [--sheet PATH]" >&2; exit 2 ;;
	esac
done

need() {
	command -v "$1" >/dev/null 2>&1 || { echo "build.sh: $1 not found; install it: $2" >&2; exit 1; }
}
need node "Debian: apt-get install nodejs npm (node >= 18)"
need npm "Debian: apt-get install npm"
need rsvg-convert "Debian: apt-get install librsvg2-bin"
need go "https://go.dev/doc/install"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
node "$here/generate.mjs" "$work" "$pack"
for svg in "$work"/*.svg; do
	rsvg-convert --format=png --output="${svg%.svg}.png" "$svg"
done
rm -f "$pack"/*.png "$pack"/pack.json
(cd "$root" && go run ./tools/avatarpack -in "$work" -out "$pack" "${sheet[@]}")
