package wallet

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
