package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"
)

// fuzzPassword opens the valid files of the FuzzOpen seed corpus
// (testdata/fuzz/FuzzOpen), written with scrypt N=2, r=1, p=1.
const fuzzPassword = "fuzz"

// FuzzOpen feeds arbitrary bytes to the wallet file parser: it must never
// panic, and every failure must be ErrCorrupt, ErrWrongPassword or
// ErrUnsupportedVersion.
func FuzzOpen(f *testing.F) {
	path := filepath.Join(f.TempDir(), "w")
	w, err := Create(path, []byte(fuzzPassword), testMnemonic, CreateOptions{Scrypt: ScryptParams{LogN: 1, R: 1, P: 1}})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := w.ReserveReceive(2); err != nil {
		f.Fatal(err)
	}
	w.Close()
	valid, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:headerLen])
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A file may ask for up to 1 GiB of scrypt memory; keep the
		// fuzzer from spending its time there.
		if h, err := parseHeader(data); err == nil && uint64(128)*uint64(h.scrypt.R)*uint64(h.scrypt.P)<<h.scrypt.LogN > 1<<24 {
			return
		}
		w, err := openBytes(data, []byte(fuzzPassword))
		if err == nil {
			w.Close()
			return
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongPassword) && !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzImportPythonWallet feeds arbitrary contents to the parser of a
// Python kloak node wallet. The file's outer layer is ChaCha20-Poly1305:
// no byte an attacker changes there gets past authentication (the
// length checks and the AEAD are TestImportPythonWalletErrors'), so what a
// hostile or damaged file can choose is the JSON inside, which is what
// this fuzzes, through parsePythonWallet (ImportPythonWallet minus its
// scrypt, which would slow the fuzzer to a crawl). It must never panic;
// every failure is ErrCorrupt or a *LegacyMismatchError whose text holds
// none of the file's private keys; what it accepts is consistent (each
// key gives its address) and parses again to the same keys.
func FuzzImportPythonWallet(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "python_wallet.enc"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(decryptPythonFixture(f, data))
	f.Add([]byte(`{"mnemonic":"` + testMnemonic + `","addresses":[]}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		p, err := parsePythonWallet(plain)
		if err != nil {
			var me *LegacyMismatchError
			if !errors.Is(err, ErrCorrupt) && !errors.As(err, &me) {
				t.Fatalf("unexpected error %v", err)
			}
			for _, priv := range privateKeysIn(plain) {
				if strings.Contains(strings.ToLower(err.Error()), priv) {
					t.Fatalf("error %q shows a stored private key", err)
				}
			}
			return
		}
		defer p.Zero()
		type entry struct {
			Index      uint32 `json:"index"`
			Address    string `json:"address"`
			PrivateKey string `json:"private_key"`
			Used       bool   `json:"used"`
			Purpose    string `json:"purpose"`
		}
		again := struct {
			Mnemonic  string  `json:"mnemonic"`
			Addresses []entry `json:"addresses"`
		}{Mnemonic: p.Mnemonic}
		for _, k := range p.Keys {
			priv, err := k.PrivateKey()
			if err != nil {
				t.Fatal(err)
			}
			if own, err := addressOfPrivateKey(priv, k.Address.Network()); err != nil || !own.Equal(k.Address) {
				t.Fatalf("key %d gives %v, stored %s (%v)", k.Index, own, k.Address, err)
			}
			again.Addresses = append(again.Addresses, entry{k.Index, k.Address.String(), hex.EncodeToString(priv), k.Used, k.Purpose})
		}
		enc, _ := json.Marshal(again)
		q, err := parsePythonWallet(enc)
		if err != nil {
			t.Fatalf("accepted wallet re-encoded is refused: %v", err)
		}
		defer q.Zero()
		if q.Mnemonic != p.Mnemonic || len(q.Keys) != len(p.Keys) {
			t.Fatalf("round trip: %d keys, want %d", len(q.Keys), len(p.Keys))
		}
		for i := range q.Keys {
			a, _ := p.Keys[i].PrivateKey()
			b, _ := q.Keys[i].PrivateKey()
			if !q.Keys[i].Address.Equal(p.Keys[i].Address) || !bytes.Equal(a, b) || q.Keys[i].Purpose != p.Keys[i].Purpose || q.Keys[i].Used != p.Keys[i].Used {
				t.Fatalf("round trip changed key %d", i)
			}
		}
	})
}

// decryptPythonFixture decrypts a Python kloak wallet file written by
// testdata/make_python_wallet.py.
func decryptPythonFixture(tb testing.TB, data []byte) []byte {
	tb.Helper()
	key, err := scrypt.Key([]byte(pythonFixturePassword), data[:pythonSaltLen], pythonN, pythonR, pythonP, chacha20poly1305.KeySize)
	if err != nil {
		tb.Fatal(err)
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		tb.Fatal(err)
	}
	plain, err := aead.Open(nil, data[pythonSaltLen:pythonSaltLen+chacha20poly1305.NonceSize], data[pythonSaltLen+chacha20poly1305.NonceSize:], nil)
	if err != nil {
		tb.Fatal(err)
	}
	return plain
}

// privateKeysIn returns the private_key strings of a Python wallet's JSON
// that are long enough to matter, lower-cased.
func privateKeysIn(plain []byte) []string {
	var c struct {
		Addresses []struct {
			PrivateKey string `json:"private_key"`
		} `json:"addresses"`
	}
	_ = json.Unmarshal(plain, &c)
	var out []string
	for _, a := range c.Addresses {
		if len(a.PrivateKey) >= 16 {
			out = append(out, strings.ToLower(a.PrivateKey))
		}
	}
	return out
}
