package testkit

import (
	"path/filepath"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

// scryptLogN is the scrypt cost of the wallet files NewWallet creates:
// 2^4, cheap enough for tests that create many, where the file's
// encryption is not what is tested.
const scryptLogN = 4

// NewWallet creates a devnet wallet file name+".kloak" in the test's
// temporary directory, with a fresh 12-word mnemonic and the password
// "pw-"+name, and closes it when the test ends.
func NewWallet(t testing.TB, name string) *wallet.Wallet {
	t.Helper()
	m, err := wallet.NewMnemonic(12)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wallet.Create(filepath.Join(t.TempDir(), name+".kloak"), []byte("pw-"+name), m,
		wallet.CreateOptions{Network: address.Devnet, Scrypt: wallet.ScryptParams{LogN: scryptLogN, R: 8, P: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}
