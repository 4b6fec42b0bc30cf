package wallet

import (
	"path/filepath"
	"testing"

	"github.com/kloakprotocol/kloak/address"
)

func BenchmarkAccountReceive(b *testing.B) {
	seed, err := SeedFromMnemonic(testMnemonic, "")
	if err != nil {
		b.Fatal(err)
	}
	acct, err := NewAccount(seed, 0, address.Mainnet)
	if err != nil {
		b.Fatal(err)
	}
	var i uint32
	for b.Loop() {
		k, err := acct.Receive(i)
		if err != nil {
			b.Fatal(err)
		}
		k.Zero()
		i++
	}
}

// BenchmarkReserveReceive is the cost of one reservation batch: an AEAD
// seal and an atomic write with two fsyncs, no scrypt.
func BenchmarkReserveReceive(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "w"), []byte("pw"), testMnemonic, CreateOptions{Scrypt: cheapScrypt})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for b.Loop() {
		keys, err := w.ReserveReceive(10)
		if err != nil {
			b.Fatal(err)
		}
		zeroKeys(keys)
	}
}

// BenchmarkOpenDefaultScrypt is the cost of Open at the default scrypt
// parameters (N=2^17, r=8, p=1).
func BenchmarkOpenDefaultScrypt(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w")
	w, err := Create(path, []byte("pw"), testMnemonic, CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w.Close()
	for b.Loop() {
		w, err := Open(path, []byte("pw"))
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
}
