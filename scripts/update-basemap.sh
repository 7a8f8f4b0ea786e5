#!/bin/sh
# Regenerates internal/mapview/basemap.bin, the country outlines and
# coastlines drawn under every map, from Natural Earth 1:50m (public
# domain) as packaged by the npm package world-atlas. Needs npm and the
# registry; commit the result.
#
#   scripts/update-basemap.sh            the pinned version
#   WORLD_ATLAS_VERSION=2.0.2 scripts/update-basemap.sh
set -eu

WORLD_ATLAS_VERSION=${WORLD_ATLAS_VERSION:-2.0.2}

cd "$(git rev-parse --show-toplevel)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "world-atlas@$WORLD_ATLAS_VERSION" >/dev/null && tar xzf world-atlas-*.tgz)
go run ./internal/mapview/internal/genbasemap -in "$tmp/package/countries-50m.json" -out internal/mapview/basemap.bin
echo "world-atlas $WORLD_ATLAS_VERSION (Natural Earth 1:50m countries)" >internal/mapview/basemap.txt
ls -l internal/mapview/basemap.bin
