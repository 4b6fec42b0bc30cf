package wallet

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"

	//lint:ignore SA1019 BIP32 defines key fingerprints with RIPEMD-160.
	"golang.org/x/crypto/ripemd160"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/secp"
)

// HardenedOffset is added to a child index to make it hardened (BIP32:
// indexes 2^31 and above). A path writes it as a trailing ' or h.
const HardenedOffset uint32 = 1 << 31

// ExtendedKey is a BIP32 extended key: a secp256k1 key, private or public,
// with its chain code and its place in the tree. It is immutable, except
// that Zero wipes its private key.
//
// Derivation is standard BIP32 (HMAC-SHA512 keyed with the chain code;
// serP(point(k)), the 33-byte compressed public key, for non-hardened
// children), as in rusty-kaspa wallet/bip32 and kaspad's kaspawallet. The
// non-standard derivation of the Python kloak node is LegacyKloakKey.
type ExtendedKey struct {
	version     [4]byte
	depth       uint8
	parentFP    [4]byte
	childNumber uint32
	chainCode   [32]byte
	priv        []byte   // 32 bytes, or nil for a public key
	pub         [33]byte // compressed public key, always set
}

// masterKeySalt is the HMAC key of BIP32 master key generation.
const masterKeySalt = "Bitcoin seed"

// NewMasterKey returns the BIP32 master private key of seed (16 to 64
// bytes, normally the 64-byte output of SeedFromMnemonic). The network
// picks the version of its extended-key string (kprv, ktrv, kdrv, ksrv);
// the key itself is the same on every network.
func NewMasterKey(seed []byte, net address.Network) (*ExtendedKey, error) {
	v, ok := versionsOf(net)
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrUnknownNetwork, net)
	}
	return newMasterKey(seed, v.priv)
}

func newMasterKey(seed []byte, version [4]byte) (*ExtendedKey, error) {
	if len(seed) < 16 || len(seed) > 64 {
		return nil, fmt.Errorf("%w: got %d bytes", ErrSeedLength, len(seed))
	}
	mac := hmac.New(sha512.New, []byte(masterKeySalt))
	mac.Write(seed)
	sum := mac.Sum(nil)
	defer clear(sum)
	k := &ExtendedKey{version: version}
	copy(k.chainCode[:], sum[32:])
	pub, err := publicKeyOf(sum[:32])
	if err != nil {
		return nil, ErrInvalidMasterKey
	}
	k.priv = append([]byte(nil), sum[:32]...)
	k.pub = pub
	return k, nil
}

// publicKeyOf returns the compressed public key of a 32-byte private key,
// or an error if the key is zero or not below the group order.
func publicKeyOf(priv []byte) ([33]byte, error) {
	pub, err := secp.ECDSAPublicKey(priv)
	if errors.Is(err, secp.ErrInvalidPrivateKey) {
		return [33]byte{}, ErrInvalidPrivateKey
	}
	return pub, err
}

// Child returns child i of k: hardened if i >= HardenedOffset. A public
// key has only non-hardened children. If BIP32 declares the child invalid
// (probability below 2^-127) Child returns ErrInvalidChild and the caller
// should move on to the next index, as BIP32 says.
func (k *ExtendedKey) Child(i uint32) (*ExtendedKey, error) {
	if k.depth == 255 {
		return nil, ErrDepth
	}
	hardened := i >= HardenedOffset
	if hardened && k.priv == nil {
		return nil, fmt.Errorf("%w: index %s", ErrHardenedFromPublic, formatIndex(i))
	}
	mac := hmac.New(sha512.New, k.chainCode[:])
	if hardened {
		mac.Write([]byte{0})
		mac.Write(k.priv)
	} else {
		mac.Write(k.pub[:])
	}
	var ib [4]byte
	binary.BigEndian.PutUint32(ib[:], i)
	mac.Write(ib[:])
	sum := mac.Sum(nil)
	defer clear(sum)

	child := &ExtendedKey{
		version:     k.version,
		depth:       k.depth + 1,
		parentFP:    k.Fingerprint(),
		childNumber: i,
	}
	copy(child.chainCode[:], sum[32:])
	if k.priv != nil {
		priv, err := addPrivate(k.priv, sum[:32])
		if err != nil {
			return nil, fmt.Errorf("%w: index %s", ErrInvalidChild, formatIndex(i))
		}
		pub, err := publicKeyOf(priv)
		if err != nil {
			clear(priv)
			return nil, err
		}
		child.priv, child.pub = priv, pub
		return child, nil
	}
	var tweak [32]byte
	copy(tweak[:], sum[:32])
	// Fails when IL >= n or the sum is the point at infinity: both make
	// the child invalid under BIP32.
	pub, err := secp.PublicKeyTweakAdd(k.pub[:], tweak)
	if errors.Is(err, secp.ErrTweak) {
		return nil, fmt.Errorf("%w: index %s", ErrInvalidChild, formatIndex(i))
	} else if err != nil {
		return nil, err
	}
	child.pub = pub
	return child, nil
}

// addPrivate returns (k + tweak) mod n as a new 32-byte slice. It fails
// when tweak >= n or the sum is zero, the cases BIP32 calls invalid.
func addPrivate(k, tweak []byte) ([]byte, error) {
	var t [32]byte
	copy(t[:], tweak)
	defer clear(t[:])
	sum, err := secp.PrivateKeyTweakAdd(k, t)
	if errors.Is(err, secp.ErrInvalidPrivateKey) {
		return nil, ErrInvalidPrivateKey
	} else if err != nil {
		return nil, err
	}
	out := append([]byte(nil), sum[:]...)
	clear(sum[:])
	return out, nil
}

// Derive returns the descendant of k at path p, relative to k.
func (k *ExtendedKey) Derive(p Path) (*ExtendedKey, error) {
	cur := k
	for _, i := range p {
		next, err := cur.Child(i)
		if cur != k {
			cur.Zero()
		}
		if err != nil {
			return nil, err
		}
		cur = next
	}
	if cur == k {
		return k.clone(), nil
	}
	return cur, nil
}

func (k *ExtendedKey) clone() *ExtendedKey {
	c := *k
	if k.priv != nil {
		c.priv = append([]byte(nil), k.priv...)
	}
	return &c
}

// Neuter returns the public extended key of k (k itself if it is public).
func (k *ExtendedKey) Neuter() *ExtendedKey {
	c := *k
	c.priv = nil
	c.version = publicVersion(k.version)
	return &c
}

// IsPrivate reports whether k holds a private key.
func (k *ExtendedKey) IsPrivate() bool { return k.priv != nil }

// PrivateKey returns a copy of k's 32-byte private key, or
// ErrPublicKeyOnly. The caller should clear it after use.
func (k *ExtendedKey) PrivateKey() ([]byte, error) {
	if k.priv == nil {
		return nil, ErrPublicKeyOnly
	}
	return append([]byte(nil), k.priv...), nil
}

// PublicKey returns k's 33-byte compressed public key.
func (k *ExtendedKey) PublicKey() [33]byte { return k.pub }

// ChainCode returns k's 32-byte chain code.
func (k *ExtendedKey) ChainCode() [32]byte { return k.chainCode }

// Depth returns the number of derivation steps from the master key.
func (k *ExtendedKey) Depth() uint8 { return k.depth }

// ChildNumber returns the index k was derived with (0 for a master key).
func (k *ExtendedKey) ChildNumber() uint32 { return k.childNumber }

// ParentFingerprint returns the fingerprint of k's parent (zero for a
// master key).
func (k *ExtendedKey) ParentFingerprint() [4]byte { return k.parentFP }

// Fingerprint returns the first 4 bytes of RIPEMD-160(SHA-256(public key)).
func (k *ExtendedKey) Fingerprint() [4]byte {
	s := sha256.Sum256(k.pub[:])
	h := ripemd160.New()
	h.Write(s[:])
	var fp [4]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

// Network returns the Kaspa network named by k's version, or zero for
// Bitcoin's xprv/xpub versions, which name none.
func (k *ExtendedKey) Network() address.Network {
	for _, v := range keyVersions {
		if v.priv == k.version || v.pub == k.version {
			return v.net
		}
	}
	return 0
}

// Zero overwrites k's private key with zeros. k is unusable for
// derivation afterwards. Go may have left copies elsewhere in memory (the
// garbage collector moves nothing, but stacks grow and registers spill):
// zeroing narrows the window, it does not close it.
func (k *ExtendedKey) Zero() {
	clear(k.priv)
}

// formatIndex writes a child index as a path segment: 5 or 44'.
func formatIndex(i uint32) string {
	if i >= HardenedOffset {
		return fmt.Sprintf("%d'", i-HardenedOffset)
	}
	return fmt.Sprintf("%d", i)
}
