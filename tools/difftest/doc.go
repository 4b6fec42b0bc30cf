// Package difftest holds differential tests: kloak's addresses, transaction
// ids and hashes, signature hashes, masses and key derivations against a
// second implementation, Go kaspad v0.12.23's own packages, on thousands of
// random inputs.
//
// It lives in the separate module github.com/kloakprotocol/kloak/tools so
// that kloak's SDK packages never import kaspad's consensus code. Run it
// with `go test ./...` inside tools/.
package difftest
