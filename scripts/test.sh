#!/usr/bin/env bash
# Runs every test of kloak: vet, the SDK's tests with the race detector
# (including the devnet tests, which build and start a real kaspad), and the
# differential tests of the tools module against kaspad's own packages.
# Needs Go and a C compiler (cgo, for go-secp256k1); reaches the Go module
# proxy for modules and for kaspad's source on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:" $unformatted
	exit 1
fi

echo "== go vet"
go vet ./...
(cd tools && go vet ./...)

echo "== go test -race (SDK, CLIs, devnet)"
go test -race -count=1 -timeout 30m ./...

echo "== go test (tools: differential tests against kaspad)"
(cd tools && go test -count=1 -timeout 20m ./...)
