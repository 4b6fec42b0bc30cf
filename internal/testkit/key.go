package testkit

import (
	"bytes"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/secp"
)

// Key is a Schnorr private key made from a seed byte, and its pay-to-pubkey
// address: the same seed gives the same key in every run, so that a test
// failure can be replayed.
type Key struct {
	Priv []byte // 32 bytes, every one the seed
	Addr address.Address
}

// NewKey returns the Key of seed on net.
func NewKey(t testing.TB, net address.Network, seed byte) Key {
	t.Helper()
	priv := bytes.Repeat([]byte{seed}, 32)
	k, err := secp.NewSchnorrKey(priv) // libsecp256k1, or pure Go without cgo
	if err != nil {
		t.Fatal(err)
	}
	ser := k.PublicKey()
	k.Zero()
	a, err := address.New(net, address.PubKey, ser[:])
	if err != nil {
		t.Fatal(err)
	}
	return Key{Priv: priv, Addr: a}
}
