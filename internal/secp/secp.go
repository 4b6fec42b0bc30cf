// Package secp is the secp256k1 arithmetic kloak's txbuild and wallet
// packages use, and nothing more: BIP340 Schnorr and Kaspa's ECDSA (the
// 64-byte compact r||s form, low S) signing and verification over a 32-byte
// hash, public keys (x-only and compressed), and the private and public key
// tweak additions of BIP32.
//
// Two implementations give the same results. With cgo (the default where a
// C compiler is present) it is libsecp256k1 through
// github.com/kaspanet/go-secp256k1, as Kaspa's own nodes use it. Without cgo
// (CGO_ENABLED=0, as in a cross build) it is pure Go: btcec/v2's BIP340
// schnorr package and dcrd's secp256k1/v4 for the curve arithmetic, written
// to accept and reject exactly what libsecp256k1 does and to produce the
// same bytes (see the package tests). Implementation names the one in use.
//
// Errors carry a kind, tested with errors.Is: ErrInvalidPrivateKey,
// ErrInvalidPublicKey, ErrInvalidSignature (an encoding that does not
// parse), ErrVerify (a signature that parses but does not verify) and
// ErrTweak (a BIP32 tweak that is out of range or gives an invalid key).
// With cgo, an error's text is go-secp256k1's own.
package secp

import "errors"

// Kinds of error, matched with errors.Is.
var (
	ErrInvalidPrivateKey = errors.New("invalid secp256k1 private key")
	ErrInvalidPublicKey  = errors.New("invalid secp256k1 public key")
	ErrInvalidSignature  = errors.New("malformed signature")
	ErrVerify            = errors.New("signature does not verify")
	ErrTweak             = errors.New("tweak out of range or result is not a valid key")
)

// Sizes of keys and signatures.
const (
	PrivateKeySize       = 32
	SchnorrPublicKeySize = 32 // BIP340 x-only
	ECDSAPublicKeySize   = 33 // compressed
	SignatureSize        = 64 // BIP340, or ECDSA compact r||s
)

// kindError is an error of a kind (one of the Err values) that keeps the
// text of the error underneath: go-secp256k1's own message with cgo.
type kindError struct {
	kind, err error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

func withKind(kind, err error) error { return &kindError{kind: kind, err: err} }

// backend is one implementation of the package: libsecp256k1 (cgo) or pure
// Go. Hashes are 32 bytes; keys and signatures are byte slices checked for
// length.
type backend interface {
	name() string
	newSchnorrKey(priv []byte) (schnorrSigner, [32]byte, error)
	schnorrVerify(pub []byte, hash [32]byte, sig []byte) error
	ecdsaPublicKey(priv []byte) ([33]byte, error)
	ecdsaSign(priv []byte, hash [32]byte) ([64]byte, error)
	ecdsaVerify(pub []byte, hash [32]byte, sig []byte) error
	privateKeyTweakAdd(priv []byte, tweak [32]byte) ([32]byte, error)
	publicKeyTweakAdd(pub []byte, tweak [32]byte) ([33]byte, error)
	parsePublicKey(pub []byte) error
}

// schnorrSigner is a backend's BIP340 key pair.
type schnorrSigner interface {
	sign(hash [32]byte) ([64]byte, error)
	zero()
}

// Implementation names the implementation in use: "libsecp256k1 (cgo)" or
// "pure Go (btcec/v2, dcrd secp256k1/v4)".
func Implementation() string { return impl.name() }

// SchnorrKey is a private key ready for BIP340 signing, with its x-only
// public key computed once.
type SchnorrKey struct {
	s   schnorrSigner
	pub [32]byte
}

// NewSchnorrKey returns the key pair of a 32-byte private key. The error
// matches ErrInvalidPrivateKey when the key is not 32 bytes or not in
// 1..n-1.
func NewSchnorrKey(priv []byte) (*SchnorrKey, error) {
	s, pub, err := impl.newSchnorrKey(priv)
	if err != nil {
		return nil, err
	}
	return &SchnorrKey{s: s, pub: pub}, nil
}

// PublicKey returns the BIP340 x-only public key.
func (k *SchnorrKey) PublicKey() [32]byte { return k.pub }

// Sign returns the BIP340 signature of the 32-byte hash, made with fresh
// auxiliary randomness from crypto/rand.
func (k *SchnorrKey) Sign(hash [32]byte) ([64]byte, error) { return k.s.sign(hash) }

// Zero wipes the private key; k cannot sign afterwards.
func (k *SchnorrKey) Zero() { k.s.zero() }

// SchnorrVerify checks a 64-byte BIP340 signature of hash by the 32-byte
// x-only public key pub. It returns nil if the signature is valid, an error
// matching ErrVerify if it is not, and one matching ErrInvalidPublicKey or
// ErrInvalidSignature if pub or sig does not parse (a wrong length, or a
// public key that is not an x coordinate on the curve).
func SchnorrVerify(pub []byte, hash [32]byte, sig []byte) error {
	return impl.schnorrVerify(pub, hash, sig)
}

// ECDSAPublicKey returns the 33-byte compressed public key of a 32-byte
// private key; the error matches ErrInvalidPrivateKey when the key is not
// 32 bytes or not in 1..n-1.
func ECDSAPublicKey(priv []byte) ([33]byte, error) { return impl.ecdsaPublicKey(priv) }

// ECDSASign returns the ECDSA signature of the 32-byte hash in Kaspa's
// form: 64 bytes, r||s big-endian, s at most n/2. The nonce is RFC 6979
// with 32 bytes of fresh randomness as additional data, as libsecp256k1's
// secp256k1_ecdsa_sign with nonce_function_rfc6979 and random ndata.
func ECDSASign(priv []byte, hash [32]byte) ([64]byte, error) { return impl.ecdsaSign(priv, hash) }

// ECDSAVerify checks a 64-byte compact ECDSA signature of hash by the
// 33-byte compressed public key pub, as libsecp256k1 does: r or s not below
// n does not parse (ErrInvalidSignature), and r or s zero or s above n/2
// does not verify (ErrVerify).
func ECDSAVerify(pub []byte, hash [32]byte, sig []byte) error {
	return impl.ecdsaVerify(pub, hash, sig)
}

// PrivateKeyTweakAdd returns (priv + tweak) mod n, the private key step of
// BIP32 child derivation. The error matches ErrInvalidPrivateKey for a bad
// priv, and ErrTweak when tweak >= n or the sum is zero.
func PrivateKeyTweakAdd(priv []byte, tweak [32]byte) ([32]byte, error) {
	return impl.privateKeyTweakAdd(priv, tweak)
}

// PublicKeyTweakAdd returns pub + tweak·G as a compressed public key, the
// public key step of BIP32 child derivation. The error matches
// ErrInvalidPublicKey for a pub that does not parse, and ErrTweak when
// tweak >= n or the sum is the point at infinity.
func PublicKeyTweakAdd(pub []byte, tweak [32]byte) ([33]byte, error) {
	return impl.publicKeyTweakAdd(pub, tweak)
}

// ParsePublicKey checks that pub is a 33-byte compressed public key of a
// point on the curve; the error matches ErrInvalidPublicKey.
func ParsePublicKey(pub []byte) error { return impl.parsePublicKey(pub) }
