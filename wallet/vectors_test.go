package wallet

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kloakprotocol/kloak/address"
)

// loadJSON decodes testdata/name into v. Every vector file names its
// source in a "source" field.
func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func mustNetwork(t *testing.T, name string) address.Network {
	t.Helper()
	n, err := address.ParseNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// indexedAddress is an expected address at a chain index.
type indexedAddress struct {
	Index   uint32 `json:"index"`
	Address string `json:"address"`
}
