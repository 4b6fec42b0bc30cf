package wallet

import (
	"encoding/hex"
	"testing"
)

// legacyVectors is testdata/kloak_legacy.json: keys computed by the Python
// kloak node's own derivation functions.
type legacyVectors struct {
	Mnemonic        string `json:"mnemonic"`
	BIP39Passphrase string `json:"bip39_passphrase"`
	BIP39SeedHex    string `json:"bip39_seed_hex"`
	Network         string `json:"network"`
	Keys            []struct {
		Index   uint32
		Path    string
		Priv    string
		Address string
	}
}

func TestLegacyKloakKey(t *testing.T) {
	var v legacyVectors
	loadJSON(t, "kloak_legacy.json", &v)
	if len(v.Keys) < 3 {
		t.Fatal("missing vectors")
	}
	seed, err := SeedFromMnemonic(v.Mnemonic, v.BIP39Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(seed) != v.BIP39SeedHex {
		t.Fatalf("seed %x, want %s", seed, v.BIP39SeedHex)
	}
	net := mustNetwork(t, v.Network)
	acct, err := NewAccount(seed, 0, net)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range v.Keys {
		k, err := LegacyKloakKey(seed, w.Index, net)
		if err != nil {
			t.Fatal(err)
		}
		priv, _ := k.PrivateKey()
		if hex.EncodeToString(priv) != w.Priv {
			t.Errorf("index %d: private key %x, want %s", w.Index, priv, w.Priv)
		}
		if k.Address.String() != w.Address || k.Path != w.Path || k.Index != w.Index {
			t.Errorf("index %d: %s %s, want %s %s", w.Index, k.Path, k.Address, w.Path, w.Address)
		}
		if err := signSpend(priv, k.Address); err != nil {
			t.Errorf("index %d: signing: %v", w.Index, err)
		}
		// The standard derivation gives other addresses: that is the
		// original's bug this function exists to work around.
		std, err := acct.Receive(w.Index)
		if err != nil {
			t.Fatal(err)
		}
		if std.Address.Equal(k.Address) {
			t.Errorf("index %d: standard and legacy derivation agree", w.Index)
		}
	}
}
