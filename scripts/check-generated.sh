#!/bin/sh
# Fails when the committed generated code in api/ differs from what
# scripts/gen.sh produces (or when buf lint fails).
set -eu
cd "$(git rev-parse --show-toplevel)"
scripts/gen.sh
if ! git diff --exit-code -- api/ || [ -n "$(git status --porcelain --untracked-files=all -- api/)" ]; then
	echo "check-generated: api/ is stale; run scripts/gen.sh and commit the result" >&2
	exit 1
fi
