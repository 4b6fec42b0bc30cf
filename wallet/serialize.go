package wallet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/secp"
)

// keyVersion pairs the private and public version bytes of extended keys.
type keyVersion struct {
	net       address.Network // zero for Bitcoin's versions
	priv, pub [4]byte
}

// keyVersions are the extended key versions ParseExtendedKey accepts.
// Kaspa's are from kaspad cmd/kaspawallet/libkaspawallet/bip32/version.go;
// mainnet's and testnet's match rusty-kaspa wallet/bip32/src/prefix.rs
// (which has no devnet or simnet versions). Bitcoin's xprv/xpub are from
// BIP32; some Kaspa tools emit them.
var keyVersions = [...]keyVersion{
	{address.Mainnet, [4]byte{0x03, 0x8f, 0x2e, 0xf4}, [4]byte{0x03, 0x8f, 0x33, 0x2e}}, // kprv, kpub
	{address.Testnet, [4]byte{0x03, 0x90, 0x9e, 0x07}, [4]byte{0x03, 0x90, 0xa2, 0x41}}, // ktrv, ktub
	{address.Devnet, [4]byte{0x03, 0x8b, 0x3d, 0x80}, [4]byte{0x03, 0x8b, 0x41, 0xba}},  // kdrv, kdub
	{address.Simnet, [4]byte{0x03, 0x90, 0x42, 0x42}, [4]byte{0x03, 0x90, 0x46, 0x7d}},  // ksrv, ksub
	{0, [4]byte{0x04, 0x88, 0xad, 0xe4}, [4]byte{0x04, 0x88, 0xb2, 0x1e}},               // xprv, xpub
}

func versionsOf(net address.Network) (keyVersion, bool) {
	for _, v := range keyVersions {
		if v.net == net && net != 0 {
			return v, true
		}
	}
	return keyVersion{}, false
}

func publicVersion(version [4]byte) [4]byte {
	for _, v := range keyVersions {
		if v.priv == version {
			return v.pub
		}
	}
	return version
}

// Serialized extended key: version 4, depth 1, parent fingerprint 4,
// child number 4, chain code 32, key 33, checksum 4.
const (
	extendedKeyLen = 4 + 1 + 4 + 4 + 32 + 33
	checksumLen    = 4
)

// String returns k in the Base58Check form of BIP32 with k's version:
// kprv/kpub on mainnet, ktrv/ktub on testnet, kdrv/kdub on devnet,
// ksrv/ksub on simnet. The string of a private key is a secret.
func (k *ExtendedKey) String() string {
	var b [extendedKeyLen + checksumLen]byte
	defer clear(b[:])
	copy(b[0:4], k.version[:])
	b[4] = k.depth
	copy(b[5:9], k.parentFP[:])
	binary.BigEndian.PutUint32(b[9:13], k.childNumber)
	copy(b[13:45], k.chainCode[:])
	if k.priv != nil {
		b[45] = 0
		copy(b[46:78], k.priv)
	} else {
		copy(b[45:78], k.pub[:])
	}
	sum := doubleSHA256(b[:extendedKeyLen])
	copy(b[extendedKeyLen:], sum[:checksumLen])
	return base58.Encode(b[:])
}

func doubleSHA256(b []byte) [32]byte {
	s := sha256.Sum256(b)
	return sha256.Sum256(s[:])
}

// ParseExtendedKey decodes a Base58Check extended key: Kaspa's kprv/kpub,
// ktrv/ktub, kdrv/kdub, ksrv/ksub, or Bitcoin's xprv/xpub. It checks
// everything BIP32's invalid-key vectors test: length, checksum, version,
// a zero parent fingerprint and child number at depth 0, the 0x00 prefix
// and range of a private key, and that a public key is on the curve.
func ParseExtendedKey(s string) (*ExtendedKey, error) {
	b := base58.Decode(s)
	defer clear(b)
	if len(b) != extendedKeyLen+checksumLen {
		return nil, fmt.Errorf("%w: %d bytes after Base58 decoding, want %d", ErrInvalidExtendedKey, len(b), extendedKeyLen+checksumLen)
	}
	sum := doubleSHA256(b[:extendedKeyLen])
	if !bytes.Equal(sum[:checksumLen], b[extendedKeyLen:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrInvalidExtendedKey)
	}
	k := &ExtendedKey{depth: b[4], childNumber: binary.BigEndian.Uint32(b[9:13])}
	copy(k.version[:], b[0:4])
	copy(k.parentFP[:], b[5:9])
	copy(k.chainCode[:], b[13:45])
	private, known := false, false
	for _, v := range keyVersions {
		if v.priv == k.version {
			private, known = true, true
		} else if v.pub == k.version {
			known = true
		}
	}
	if !known {
		return nil, fmt.Errorf("%w: unknown version %x", ErrInvalidExtendedKey, k.version)
	}
	if k.depth == 0 && k.parentFP != [4]byte{} {
		return nil, fmt.Errorf("%w: depth 0 with a parent fingerprint", ErrInvalidExtendedKey)
	}
	if k.depth == 0 && k.childNumber != 0 {
		return nil, fmt.Errorf("%w: depth 0 with a child number", ErrInvalidExtendedKey)
	}
	if private {
		if b[45] != 0 {
			return nil, fmt.Errorf("%w: private key data does not start with 0x00", ErrInvalidExtendedKey)
		}
		pub, err := publicKeyOf(b[46:78])
		if err != nil {
			return nil, fmt.Errorf("%w: private key not in 1..n-1", ErrInvalidExtendedKey)
		}
		k.priv = append([]byte(nil), b[46:78]...)
		k.pub = pub
		return k, nil
	}
	if b[45] != 2 && b[45] != 3 {
		return nil, fmt.Errorf("%w: public key prefix %#02x, want 0x02 or 0x03", ErrInvalidExtendedKey, b[45])
	}
	if err := secp.ParsePublicKey(b[45:78]); err != nil {
		return nil, fmt.Errorf("%w: public key is not on the curve", ErrInvalidExtendedKey)
	}
	copy(k.pub[:], b[45:78])
	return k, nil
}
