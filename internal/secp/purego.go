package secp

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// pureGo is the implementation without cgo: BIP340 from btcec/v2's schnorr
// package, everything else from dcrd's secp256k1/v4, with the checks
// libsecp256k1 makes and those libraries do not (s < n for BIP340, low S
// for ECDSA). It is compiled in every build so that the tests can hold it
// against libsecp256k1; impl picks it only without cgo.
//
// Like btcec's and dcrd's own signing, it is not constant-time: the
// nonce's and the key's scalar multiplications take data-dependent time.
type pureGo struct{}

func (pureGo) name() string { return "pure Go (btcec/v2, dcrd secp256k1/v4)" }

// parsePrivate returns priv as a scalar in 1..n-1.
func parsePrivate(priv []byte) (*secp256k1.ModNScalar, error) {
	if len(priv) != PrivateKeySize {
		return nil, withKind(ErrInvalidPrivateKey, fmt.Errorf("invalid private key length got %d, expected %d", len(priv), PrivateKeySize))
	}
	var d secp256k1.ModNScalar
	if overflow := d.SetByteSlice(priv); overflow || d.IsZero() {
		d.Zero()
		return nil, withKind(ErrInvalidPrivateKey, errors.New("invalid private key (zero or bigger than the group order)"))
	}
	return &d, nil
}

// randomAux returns 32 bytes from crypto/rand.
func randomAux() (*[32]byte, error) {
	var aux [32]byte
	if _, err := rand.Read(aux[:]); err != nil {
		return nil, err
	}
	return &aux, nil
}

type pureSchnorr struct{ key *btcec.PrivateKey }

func (pureGo) newSchnorrKey(priv []byte) (schnorrSigner, [32]byte, error) {
	d, err := parsePrivate(priv)
	if err != nil {
		return nil, [32]byte{}, err
	}
	key := secp256k1.NewPrivateKey(d)
	d.Zero()
	var pub [32]byte
	copy(pub[:], schnorr.SerializePubKey(key.PubKey()))
	return pureSchnorr{key}, pub, nil
}

func (k pureSchnorr) sign(hash [32]byte) ([64]byte, error) {
	aux, err := randomAux()
	if err != nil {
		return [64]byte{}, err
	}
	return k.signAux(hash, aux)
}

// signAux is BIP340 signing with the given auxiliary randomness (btcec's
// CustomNonce option is BIP340's nonce derivation; without it btcec uses
// RFC 6979 instead).
func (k pureSchnorr) signAux(hash [32]byte, aux *[32]byte) ([64]byte, error) {
	sig, err := schnorr.Sign(k.key, hash[:], schnorr.CustomNonce(*aux))
	if err != nil {
		return [64]byte{}, err
	}
	var out [64]byte
	copy(out[:], sig.Serialize())
	return out, nil
}

func (k pureSchnorr) zero() { k.key.Zero() }

func (pureGo) schnorrVerify(pub []byte, hash [32]byte, sig []byte) error {
	if len(pub) != SchnorrPublicKeySize {
		return withKind(ErrInvalidPublicKey, fmt.Errorf("serializedPubKey has to be %d bytes, instead got :%d", SchnorrPublicKeySize, len(pub)))
	}
	// lift_x: x < p and on the curve, as secp256k1_xonly_pubkey_parse.
	p, err := schnorr.ParsePubKey(pub)
	if err != nil {
		return withKind(ErrInvalidPublicKey, err)
	}
	if len(sig) != SignatureSize {
		return withKind(ErrInvalidSignature, fmt.Errorf("invalid schnorr signature length got %d, expected %d", len(sig), SignatureSize))
	}
	// libsecp256k1 parses any 64 bytes and fails verification when r >= p
	// or s >= n. btcec's ParseSignature refuses r >= p but reduces s mod
	// n, which would accept (r, s+n) for a valid (r, s): check s here.
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(sig[32:]); overflow {
		return ErrVerify
	}
	parsed, err := schnorr.ParseSignature(sig)
	if err != nil {
		return ErrVerify
	}
	if !parsed.Verify(hash[:], p) {
		return ErrVerify
	}
	return nil
}

func (pureGo) ecdsaPublicKey(priv []byte) ([33]byte, error) {
	d, err := parsePrivate(priv)
	if err != nil {
		return [33]byte{}, err
	}
	defer d.Zero()
	var pub [33]byte
	copy(pub[:], secp256k1.NewPrivateKey(d).PubKey().SerializeCompressed())
	return pub, nil
}

func (g pureGo) ecdsaSign(priv []byte, hash [32]byte) ([64]byte, error) {
	extra, err := randomAux()
	if err != nil {
		return [64]byte{}, err
	}
	return g.ecdsaSignExtra(priv, hash, extra[:])
}

// ecdsaSignExtra is libsecp256k1's secp256k1_ecdsa_sign with
// nonce_function_rfc6979 and ndata = extra (32 bytes, or nil for plain RFC
// 6979): the nonce is RFC 6979's HMAC-DRBG seeded with key || hash ||
// extra (dcrd's NonceRFC6979 builds the same seed from the raw hash, as
// libsecp256k1 does), taking the next candidate while the nonce is not in
// 1..n-1 or gives r = 0 or s = 0; r = x(kG) mod n, s = k⁻¹(e + r·d) mod n,
// and s is negated when above n/2. With extra nil the result is dcrd's
// ecdsa.Sign, which the tests check.
func (pureGo) ecdsaSignExtra(priv []byte, hash [32]byte, extra []byte) ([64]byte, error) {
	d, err := parsePrivate(priv)
	if err != nil {
		return [64]byte{}, err
	}
	defer d.Zero()
	var e secp256k1.ModNScalar
	e.SetBytes(&hash) // reduced mod n, as secp256k1_scalar_set_b32
	for iteration := uint32(0); ; iteration++ {
		k := secp256k1.NonceRFC6979(priv, hash[:], extra, nil, iteration)
		var kG secp256k1.JacobianPoint
		secp256k1.ScalarBaseMultNonConst(k, &kG)
		kG.ToAffine()
		var r secp256k1.ModNScalar
		r.SetBytes(kG.X.Bytes()) // x mod n
		if r.IsZero() {
			k.Zero()
			continue
		}
		kInv := new(secp256k1.ModNScalar).InverseValNonConst(k)
		k.Zero()
		s := new(secp256k1.ModNScalar).Mul2(d, &r).Add(&e).Mul(kInv)
		kInv.Zero()
		if s.IsZero() {
			continue
		}
		if s.IsOverHalfOrder() {
			s.Negate()
		}
		var out [64]byte
		r.PutBytesUnchecked(out[:32])
		s.PutBytesUnchecked(out[32:])
		return out, nil
	}
}

// parseCompressed parses a 33-byte compressed public key.
func parseCompressed(pub []byte) (*secp256k1.PublicKey, error) {
	if len(pub) != ECDSAPublicKeySize {
		return nil, withKind(ErrInvalidPublicKey, fmt.Errorf("serializedPubKey has to be %d bytes, instead got :%d", ECDSAPublicKeySize, len(pub)))
	}
	p, err := secp256k1.ParsePubKey(pub)
	if err != nil {
		return nil, withKind(ErrInvalidPublicKey, err)
	}
	return p, nil
}

func (pureGo) ecdsaVerify(pub []byte, hash [32]byte, sig []byte) error {
	p, err := parseCompressed(pub)
	if err != nil {
		return err
	}
	if len(sig) != SignatureSize {
		return withKind(ErrInvalidSignature, fmt.Errorf("invalid ECDSA signature length got %d, expected %d", len(sig), SignatureSize))
	}
	// secp256k1_ecdsa_signature_parse_compact: r and s below n (zero
	// parses, and never verifies).
	var r, s secp256k1.ModNScalar
	if overflow := r.SetByteSlice(sig[:32]); overflow {
		return withKind(ErrInvalidSignature, errors.New("failed parsing the ECDSA signature: r >= n"))
	}
	if overflow := s.SetByteSlice(sig[32:]); overflow {
		return withKind(ErrInvalidSignature, errors.New("failed parsing the ECDSA signature: s >= n"))
	}
	// secp256k1_ecdsa_verify accepts only low S.
	if r.IsZero() || s.IsZero() || s.IsOverHalfOrder() {
		return ErrVerify
	}
	if !ecdsa.NewSignature(&r, &s).Verify(hash[:], p) {
		return ErrVerify
	}
	return nil
}

func (pureGo) privateKeyTweakAdd(priv []byte, tweak [32]byte) ([32]byte, error) {
	d, err := parsePrivate(priv)
	if err != nil {
		return [32]byte{}, err
	}
	defer d.Zero()
	defer clear(tweak[:])
	var t secp256k1.ModNScalar
	defer t.Zero()
	if overflow := t.SetBytes(&tweak); overflow != 0 {
		return [32]byte{}, withKind(ErrTweak, errors.New("tweak is not below the group order"))
	}
	d.Add(&t)
	if d.IsZero() {
		return [32]byte{}, withKind(ErrTweak, errors.New("tweaked private key is zero"))
	}
	return d.Bytes(), nil
}

func (pureGo) publicKeyTweakAdd(pub []byte, tweak [32]byte) ([33]byte, error) {
	p, err := parseCompressed(pub)
	if err != nil {
		return [33]byte{}, err
	}
	var t secp256k1.ModNScalar
	if overflow := t.SetBytes(&tweak); overflow != 0 {
		return [33]byte{}, withKind(ErrTweak, errors.New("tweak is not below the group order"))
	}
	var P, tG, sum secp256k1.JacobianPoint
	p.AsJacobian(&P)
	secp256k1.ScalarBaseMultNonConst(&t, &tG)
	secp256k1.AddNonConst(&P, &tG, &sum)
	if (sum.X.IsZero() && sum.Y.IsZero()) || sum.Z.IsZero() {
		return [33]byte{}, withKind(ErrTweak, errors.New("tweaked public key is the point at infinity"))
	}
	sum.ToAffine()
	var out [33]byte
	copy(out[:], secp256k1.NewPublicKey(&sum.X, &sum.Y).SerializeCompressed())
	return out, nil
}

func (pureGo) parsePublicKey(pub []byte) error {
	_, err := parseCompressed(pub)
	return err
}
