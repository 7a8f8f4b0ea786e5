#!/bin/sh
# Vendors Leaflet (BSD-2-Clause) from the npm registry into
# internal/mapview/leaflet: the minified script, the stylesheet and the
# licence, which every HTML map inlines. Needs npm and the registry; commit
# the result.
#
#   scripts/update-leaflet.sh            the pinned version
#   LEAFLET_VERSION=1.9.4 scripts/update-leaflet.sh
set -eu

LEAFLET_VERSION=${LEAFLET_VERSION:-1.9.4}

cd "$(git rev-parse --show-toplevel)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "leaflet@$LEAFLET_VERSION" >/dev/null && tar xzf leaflet-*.tgz)
dst=internal/mapview/leaflet
mkdir -p "$dst"
cp "$tmp/package/dist/leaflet.js" "$tmp/package/dist/leaflet.css" "$tmp/package/LICENSE" "$dst/"
# The source map comment would make a browser's developer tools fetch a
# file that is not there.
sed -i '/^\/\/# sourceMappingURL=/d' "$dst/leaflet.js"
echo "$LEAFLET_VERSION" >"$dst/VERSION"
ls -l "$dst"
