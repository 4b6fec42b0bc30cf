package testkit

import (
	"bytes"
	"testing"

	secp256k1 "github.com/kaspanet/go-secp256k1"

	"github.com/kloakprotocol/kloak/address"
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
	kp, err := secp256k1.DeserializeSchnorrPrivateKeyFromSlice(priv)
	if err != nil {
		t.Fatal(err)
	}
	// A key that deserialized has a public key, and it serializes.
	pub, _ := kp.SchnorrPublicKey()
	ser, _ := pub.Serialize()
	a, err := address.New(net, address.PubKey, ser[:])
	if err != nil {
		t.Fatal(err)
	}
	return Key{Priv: priv, Addr: a}
}
