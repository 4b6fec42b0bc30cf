package wallet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pythonFixturePassword is the password make_python_wallet.py uses.
const pythonFixturePassword = "kloak-v1-fixture-password"

func loadPythonFixture(t *testing.T) *PythonWallet {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "python_wallet.enc"))
	if err != nil {
		t.Fatal(err)
	}
	pw, err := ImportPythonWallet(data, []byte(pythonFixturePassword))
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

func TestImportPythonWallet(t *testing.T) {
	var v legacyVectors
	loadJSON(t, "kloak_legacy.json", &v)
	pw := loadPythonFixture(t)
	if pw.Mnemonic != v.Mnemonic {
		t.Errorf("mnemonic %q", pw.Mnemonic)
	}
	if len(pw.Keys) != len(v.Keys) {
		t.Fatalf("%d keys, want %d", len(pw.Keys), len(v.Keys))
	}
	wantPurpose := []string{"node_primary", "dust_collection", ""}
	for i, k := range pw.Keys {
		w := v.Keys[i]
		priv, _ := k.PrivateKey()
		if k.Index != w.Index || k.Address.String() != w.Address || hex.EncodeToString(priv) != w.Priv || k.Path != w.Path {
			t.Errorf("key %d: %d %s %s", i, k.Index, k.Address, k.Path)
		}
		if k.Purpose != wantPurpose[i] || k.Used != (i < 2) {
			t.Errorf("key %d: purpose %q used %v", i, k.Purpose, k.Used)
		}
	}
	pw.Zero()
	if p, _ := pw.Keys[0].PrivateKey(); !bytes.Equal(p, make([]byte, 32)) {
		t.Error("Zero left key bytes")
	}
}

func TestImportPythonWalletErrors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "python_wallet.enc"))
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(data)
	damaged[len(damaged)/2] ^= 1
	for _, tt := range []struct {
		name     string
		data     []byte
		password string
		want     error
	}{
		{"wrong password", data, "kloak-v1-fixture-passworD", ErrPythonWrongPasswordOrCorrupt},
		{"damaged", damaged, pythonFixturePassword, ErrPythonWrongPasswordOrCorrupt},
		{"truncated", data[:43], pythonFixturePassword, ErrCorrupt},
		{"empty", nil, pythonFixturePassword, ErrCorrupt},
	} {
		if _, err := ImportPythonWallet(tt.data, []byte(tt.password)); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestImportPythonWalletMismatch(t *testing.T) {
	var v legacyVectors
	loadJSON(t, "kloak_legacy.json", &v)
	data, err := os.ReadFile(filepath.Join("testdata", "python_wallet_mismatch.enc"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ImportPythonWallet(data, []byte(pythonFixturePassword))
	var me *LegacyMismatchError
	if !errors.As(err, &me) || !errors.Is(err, ErrLegacyMismatch) {
		t.Fatalf("error %v, want a LegacyMismatchError", err)
	}
	if len(me.Problems) != 1 || !strings.HasPrefix(me.Problems[0], "index 1: stored private key gives "+v.Keys[1].Address) {
		t.Fatalf("problems %q", me.Problems)
	}
	for _, k := range v.Keys {
		if strings.Contains(err.Error(), k.Priv) {
			t.Fatal("error message contains a private key")
		}
	}
}
