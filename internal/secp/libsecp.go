//go:build cgo

package secp

import (
	"errors"

	secp256k1 "github.com/kaspanet/go-secp256k1"
)

// impl is libsecp256k1 when cgo is available.
var impl backend = libsecp{}

// backends lists the implementations compiled in, the one in use first.
var backends = []backend{libsecp{}, pureGo{}}

// libsecp is libsecp256k1 through github.com/kaspanet/go-secp256k1, the
// library Kaspa's Go node (kaspad) uses. Its errors keep go-secp256k1's
// text.
type libsecp struct{}

func (libsecp) name() string { return "libsecp256k1 (cgo)" }

type libsecpSchnorr struct{ key *secp256k1.SchnorrKeyPair }

func (libsecp) newSchnorrKey(priv []byte) (schnorrSigner, [32]byte, error) {
	key, err := secp256k1.DeserializeSchnorrPrivateKeyFromSlice(priv)
	if err != nil {
		return nil, [32]byte{}, withKind(ErrInvalidPrivateKey, err)
	}
	pub, err := key.SchnorrPublicKey()
	if err != nil {
		return nil, [32]byte{}, err
	}
	ser, err := pub.Serialize()
	if err != nil {
		return nil, [32]byte{}, err
	}
	return libsecpSchnorr{key}, *ser, nil
}

func (k libsecpSchnorr) sign(hash [32]byte) ([64]byte, error) {
	hh := secp256k1.Hash(hash)
	sig, err := k.key.SchnorrSign(&hh)
	if err != nil {
		return [64]byte{}, err
	}
	if sig == nil { // go-secp256k1 returns (nil, nil) on a short read of crypto/rand
		return [64]byte{}, errors.New("no auxiliary randomness")
	}
	return *sig.Serialize(), nil
}

func (k libsecpSchnorr) zero() { *k.key = secp256k1.SchnorrKeyPair{} }

func (libsecp) schnorrVerify(pub []byte, hash [32]byte, sig []byte) error {
	p, err := secp256k1.DeserializeSchnorrPubKey(pub)
	if err != nil {
		return withKind(ErrInvalidPublicKey, err)
	}
	s, err := secp256k1.DeserializeSchnorrSignatureFromSlice(sig)
	if err != nil {
		return withKind(ErrInvalidSignature, err)
	}
	hh := secp256k1.Hash(hash)
	if !p.SchnorrVerify(&hh, s) {
		return ErrVerify
	}
	return nil
}

func (libsecp) ecdsaPublicKey(priv []byte) ([33]byte, error) {
	key, err := secp256k1.DeserializeECDSAPrivateKeyFromSlice(priv)
	if err != nil {
		return [33]byte{}, withKind(ErrInvalidPrivateKey, err)
	}
	defer func() { *key = secp256k1.ECDSAPrivateKey{} }()
	pub, err := key.ECDSAPublicKey()
	if err != nil {
		return [33]byte{}, err
	}
	ser, err := pub.Serialize()
	if err != nil {
		return [33]byte{}, err
	}
	return *ser, nil
}

func (libsecp) ecdsaSign(priv []byte, hash [32]byte) ([64]byte, error) {
	key, err := secp256k1.DeserializeECDSAPrivateKeyFromSlice(priv)
	if err != nil {
		return [64]byte{}, withKind(ErrInvalidPrivateKey, err)
	}
	defer func() { *key = secp256k1.ECDSAPrivateKey{} }()
	hh := secp256k1.Hash(hash)
	sig, err := key.ECDSASign(&hh)
	if err != nil {
		return [64]byte{}, err
	}
	if sig == nil {
		return [64]byte{}, errors.New("no auxiliary randomness")
	}
	return *sig.Serialize(), nil
}

func (libsecp) ecdsaVerify(pub []byte, hash [32]byte, sig []byte) error {
	p, err := secp256k1.DeserializeECDSAPubKey(pub)
	if err != nil {
		return withKind(ErrInvalidPublicKey, err)
	}
	s, err := secp256k1.DeserializeECDSASignatureFromSlice(sig)
	if err != nil {
		return withKind(ErrInvalidSignature, err)
	}
	hh := secp256k1.Hash(hash)
	if !p.ECDSAVerify(&hh, s) {
		return ErrVerify
	}
	return nil
}

func (libsecp) privateKeyTweakAdd(priv []byte, tweak [32]byte) ([32]byte, error) {
	key, err := secp256k1.DeserializeECDSAPrivateKeyFromSlice(priv)
	if err != nil {
		return [32]byte{}, withKind(ErrInvalidPrivateKey, err)
	}
	defer func() { *key = secp256k1.ECDSAPrivateKey{} }()
	defer clear(tweak[:])
	if err := key.Add(tweak); err != nil {
		return [32]byte{}, withKind(ErrTweak, err)
	}
	ser := key.Serialize()
	out := *ser
	clear(ser[:])
	return out, nil
}

func (libsecp) publicKeyTweakAdd(pub []byte, tweak [32]byte) ([33]byte, error) {
	p, err := secp256k1.DeserializeECDSAPubKey(pub)
	if err != nil {
		return [33]byte{}, withKind(ErrInvalidPublicKey, err)
	}
	if err := p.Add(tweak); err != nil {
		return [33]byte{}, withKind(ErrTweak, err)
	}
	ser, err := p.Serialize()
	if err != nil {
		return [33]byte{}, err
	}
	return *ser, nil
}

func (libsecp) parsePublicKey(pub []byte) error {
	if _, err := secp256k1.DeserializeECDSAPubKey(pub); err != nil {
		return withKind(ErrInvalidPublicKey, err)
	}
	return nil
}
