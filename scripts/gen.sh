#!/bin/sh
# Installs the pinned protobuf tools, lints the API and regenerates its Go
# code in api/. Run from anywhere inside the repository.
#
#   scripts/gen.sh            lint + generate
#   BREAKING=1 scripts/gen.sh also check for breaking changes against main
set -eu

BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
PROTOC_GEN_GO_VTPROTO_VERSION=v0.6.0

cd "$(git rev-parse --show-toplevel)"
GOBIN="$(go env GOPATH)/bin"
export PATH="$GOBIN:$PATH"

# Install only when the wanted version is missing, so that repeated runs
# (and CI with a warm cache) need no network.
need() { # need TOOL WANT-SUBSTRING
	command -v "$1" >/dev/null 2>&1 || return 0
	case "$("$1" --version 2>&1)" in *"$2"*) return 1 ;; esac
	return 0
}
if need buf "${BUF_VERSION#v}"; then
	go install "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
fi
if need protoc-gen-go "$PROTOC_GEN_GO_VERSION"; then
	go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if need protoc-gen-go-grpc "${PROTOC_GEN_GO_GRPC_VERSION#v}"; then
	go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi
# protoc-gen-go-vtproto has no --version: read the version it was built at.
if ! command -v protoc-gen-go-vtproto >/dev/null 2>&1 ||
	! go version -m "$(command -v protoc-gen-go-vtproto)" | grep -q "vtprotobuf[[:space:]]*$PROTOC_GEN_GO_VTPROTO_VERSION"; then
	go install "github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@$PROTOC_GEN_GO_VTPROTO_VERSION"
fi

buf format --diff --exit-code
buf lint
if [ "${BREAKING:-0}" = 1 ]; then
	buf breaking --against '.git#branch=main'
fi
buf generate
