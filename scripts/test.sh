#!/usr/bin/env bash
# Runs every test of kloak: vet, staticcheck, the SDK's tests with the race detector
# (including the devnet tests, which build and start a real kaspad), cross
# builds without cgo, and the differential tests of the tools module against
# kaspad's own packages. Needs Go and a C compiler (cgo, for go-secp256k1;
# the cross-compile step builds without it); reaches the Go module proxy for
# modules and for kaspad's source on the first run.
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

echo "== staticcheck"
# Pinned, and run with go run pkg@version: the module proxy serves it and
# nothing is installed. A finding fails the run, as go vet's do.
staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2
go run "$staticcheck" ./...
(cd tools && go run "$staticcheck" ./...)

echo "== govulncheck"
# govulncheck reads the Go vulnerability database. vuln.go.dev cannot be
# reached from this project's machines and CI, so it runs on the snapshot in
# tools/vulndb (the entries for the standard library, the toolchain and every
# module of both build lists; tools/vulndbsnap writes it), and also on the
# live database where that answers.
govulncheck=golang.org/x/vuln/cmd/govulncheck@v1.9.0
missing=$(comm -13 <(grep -v '^#' tools/vulndb/modules.txt) \
	<( (go list -m -f '{{.Path}}' all; cd tools && go list -m -f '{{.Path}}' all) | sort -u))
if [ -n "$missing" ]; then
	echo "tools/vulndb does not cover these modules; refresh it (tools/vulndbsnap):" $missing
	exit 1
fi
echo "snapshot: $(head -1 tools/vulndb/modules.txt)"
go run "$govulncheck" -db "file://$PWD/tools/vulndb" ./...
(cd tools && go run "$govulncheck" -db "file://$PWD/vulndb" ./...)
if command -v curl >/dev/null && curl -sf --max-time 5 -o /dev/null https://vuln.go.dev/index/db.json; then
	echo "live database (vuln.go.dev):"
	go run "$govulncheck" ./...
	(cd tools && go run "$govulncheck" ./...)
else
	echo "vuln.go.dev unreachable: checked against the snapshot only"
fi

echo "== go test -race (SDK, CLIs, devnet)"
go test -race -count=1 -timeout 30m ./...

echo "== cross-compile (CGO_ENABLED=0: internal/secp's pure Go secp256k1)"
# Without cgo, internal/secp signs and verifies in pure Go (btcec/v2,
# dcrd secp256k1/v4) instead of libsecp256k1, so the binaries build for
# any target without a C toolchain for it.
for target in linux/amd64 windows/amd64 darwin/arm64 darwin/amd64; do
	for cmd in kloakwallet kloaknode; do
		CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./cmd/$cmd
	done
	echo "$target: kloakwallet, kloaknode"
done
# The pure Go implementation against BIP340's vectors and libsecp256k1's
# recorded output, and txbuild's and wallet's own tests and vectors on it
# (wallet's devnet test: a real kaspad accepts its signatures; it reuses
# the kaspad the step above built with cgo).
CGO_ENABLED=0 go test -count=1 ./internal/secp/ ./txbuild/ ./wallet/

echo "== go test (tools: differential tests against kaspad)"
(cd tools && go test -count=1 -timeout 20m ./...)
