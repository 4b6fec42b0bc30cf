package wallet

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/kloakprotocol/kloak/address"
)

// LegacyKloakKey derives key index of a Python kloak node (kloak v1) from
// its BIP39 seed, with that node's NON-STANDARD derivation, so that funds
// on its addresses can be moved. Never use it for new addresses: standard
// Kaspa wallets restoring the same mnemonic do not see these keys.
//
// The path is m/44'/111111'/0'/0/index. The master key and the hardened
// steps are standard BIP32; the two non-hardened steps (0 and index) feed
// HMAC-SHA512 with k_par || ser32(i), the 32-byte parent private key,
// where BIP32 uses the 33-byte compressed public key. The original also
// skips BIP32's IL >= n check; LegacyKloakKey returns ErrInvalidChild there
// instead (probability below 2^-127).
//
// The Python node made only mainnet addresses; net picks the address of
// the returned key.
func LegacyKloakKey(seed []byte, index uint32, net address.Network) (Key, error) {
	if index >= HardenedOffset {
		return Key{}, fmt.Errorf("%w: index %d is at least 2^31", ErrIndexRange, index)
	}
	master, err := NewMasterKey(seed, net)
	if err != nil {
		return Key{}, err
	}
	defer master.Zero()
	acct, err := master.Derive(Path{Purpose + HardenedOffset, CoinType + HardenedOffset, HardenedOffset})
	if err != nil {
		return Key{}, err
	}
	defer acct.Zero()
	priv, chain, err := legacyChild(acct.priv, acct.chainCode, 0)
	if err != nil {
		return Key{}, err
	}
	defer clear(priv)
	leaf, _, err := legacyChild(priv, chain, index)
	if err != nil {
		return Key{}, err
	}
	pub, err := publicKeyOf(leaf)
	if err != nil {
		clear(leaf)
		return Key{}, err
	}
	a, err := address.New(net, address.PubKey, pub[1:])
	if err != nil {
		clear(leaf)
		return Key{}, err
	}
	path := Path{Purpose + HardenedOffset, CoinType + HardenedOffset, HardenedOffset, 0, index}
	return Key{Path: path.String(), Index: index, Address: a, priv: leaf}, nil
}

// legacyChild is the Python node's non-hardened step: I = HMAC-SHA512(c,
// k || ser32(i)), child = (IL + k) mod n, chain code IR.
func legacyChild(k []byte, chain [32]byte, i uint32) ([]byte, [32]byte, error) {
	mac := hmac.New(sha512.New, chain[:])
	mac.Write(k)
	var ib [4]byte
	binary.BigEndian.PutUint32(ib[:], i)
	mac.Write(ib[:])
	sum := mac.Sum(nil)
	defer clear(sum)
	child, err := addPrivate(k, sum[:32])
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("%w: legacy index %d", ErrInvalidChild, i)
	}
	var cc [32]byte
	copy(cc[:], sum[32:])
	return child, cc, nil
}
