//go:build cgo

package secp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	_ "unsafe" // go:linkname

	secp256k1 "github.com/kaspanet/go-secp256k1"
)

// go-secp256k1 signs with fresh randomness only; its unexported
// functions that take the auxiliary data (ECDSA: RFC 6979 additional data,
// BIP340: aux_rand) are reached here so the tests can hold libsecp256k1's
// bytes against the pure Go implementation's. Test code only.

//go:linkname libsecpSchnorrSignInternal github.com/kaspanet/go-secp256k1.(*SchnorrKeyPair).schnorrSignInternal
func libsecpSchnorrSignInternal(key *secp256k1.SchnorrKeyPair, hash *secp256k1.Hash, aux *[32]byte) (*secp256k1.SchnorrSignature, error)

//go:linkname libsecpECDSASignInternal github.com/kaspanet/go-secp256k1.(*ECDSAPrivateKey).ecdsaSignInternal
func libsecpECDSASignInternal(key *secp256k1.ECDSAPrivateKey, hash *secp256k1.Hash, aux *[32]byte) (*secp256k1.ECDSASignature, error)

func (libsecp) schnorrSignAux(priv []byte, hash [32]byte, aux [32]byte) ([64]byte, error) {
	key, err := secp256k1.DeserializeSchnorrPrivateKeyFromSlice(priv)
	if err != nil {
		return [64]byte{}, err
	}
	hh := secp256k1.Hash(hash)
	sig, err := libsecpSchnorrSignInternal(key, &hh, &aux)
	if err != nil {
		return [64]byte{}, err
	}
	return *sig.Serialize(), nil
}

func (libsecp) ecdsaSignExtra(priv []byte, hash [32]byte, extra []byte) ([64]byte, error) {
	if len(extra) != 32 {
		return [64]byte{}, fmt.Errorf("libsecp256k1 test signer: extra data of %d bytes", len(extra))
	}
	key, err := secp256k1.DeserializeECDSAPrivateKeyFromSlice(priv)
	if err != nil {
		return [64]byte{}, err
	}
	hh := secp256k1.Hash(hash)
	sig, err := libsecpECDSASignInternal(key, &hh, (*[32]byte)(extra))
	if err != nil {
		return [64]byte{}, err
	}
	return *sig.Serialize(), nil
}

func init() { writeLibsecpVectors = generateLibsecpVectors }

const cgoEnabled = true

// generateLibsecpVectors writes testdata/libsecp256k1-vectors.json from
// libsecp256k1: special keys, hashes and tweaks first, then random ones.
func generateLibsecpVectors(t *testing.T, path string) {
	n := unhex(t, curveOrderHex)
	nMinus := func(k uint64) []byte { return subSmall(n, k) }
	type spec struct {
		comment           string
		priv, hash, tweak []byte // nil: random
		tweakNegPriv      bool   // tweak = n - priv
	}
	specs := []spec{
		{comment: "private key 1", priv: small(1)},
		{comment: "private key 2, hash zero", priv: small(2), hash: make([]byte, 32)},
		{comment: "private key n-1", priv: nMinus(1)},
		{comment: "private key n-2, hash all ones (>= n, not reduced by the nonce functions)", priv: nMinus(2), hash: bytes.Repeat([]byte{0xff}, 32)},
		{comment: "hash n", hash: n},
		{comment: "hash n-1", hash: nMinus(1)},
		{comment: "tweak 0", tweak: small(0)},
		{comment: "tweak 1", tweak: small(1)},
		{comment: "tweak n-1", tweak: nMinus(1)},
		{comment: "tweak n: refused", tweak: n},
		{comment: "tweak all ones: refused", tweak: bytes.Repeat([]byte{0xff}, 32)},
		{comment: "tweak n - private key: sum zero, point at infinity, refused", tweakNegPriv: true},
		{comment: "private key 1, tweak n-1: refused", priv: small(1), tweak: nMinus(1)},
	}
	for len(specs) < 128 {
		specs = append(specs, spec{})
	}
	var lib libsecp
	random := func() []byte {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	out := libsecpVectors{
		Source: "computed by libsecp256k1 (github.com/kaspanet/go-secp256k1 v0.0.7, its bundled libsecp256k1, through cgo) " +
			"with `go test ./internal/secp/ -run TestLibsecpVectors -update`; keys, hashes, aux and extra data from crypto/rand except the commented cases",
		Notes: "schnorrSignature: BIP340 with aux_rand = aux (secp256k1_schnorrsig_sign, nonce_function_bip340); " +
			"schnorrSignatureRandomAux: SchnorrKeyPair.SchnorrSign (fresh aux, not recorded); " +
			"ecdsaSignature: secp256k1_ecdsa_sign with nonce_function_rfc6979 and ndata = extra, serialized compact (r||s, low S); " +
			"ecdsaSignatureRandomExtra: ECDSAPrivateKey.ECDSASign (fresh ndata, not recorded); " +
			"privateKeyTweaked / publicKeyTweaked: secp256k1_ec_privkey_tweak_add / secp256k1_ec_pubkey_tweak_add, empty when refused",
	}
	for _, s := range specs {
		priv := s.priv
		for priv == nil {
			priv = random()
			if _, err := lib.ecdsaPublicKey(priv); err != nil {
				priv = nil
			}
		}
		hash, tweak := s.hash, s.tweak
		if hash == nil {
			hash = random()
		}
		if s.tweakNegPriv {
			tweak = subBig(n, priv)
		}
		if tweak == nil {
			tweak = random()
		}
		aux, extra := random(), random()
		c := libsecpCase{Comment: s.comment, PrivateKey: hex.EncodeToString(priv), Hash: hex.EncodeToString(hash),
			Aux: hex.EncodeToString(aux), Extra: hex.EncodeToString(extra), Tweak: hex.EncodeToString(tweak)}
		h := [32]byte(hash)
		key, pub, err := lib.newSchnorrKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		c.SchnorrPublicKey = hex.EncodeToString(pub[:])
		sig, err := lib.schnorrSignAux(priv, h, [32]byte(aux))
		if err != nil {
			t.Fatal(err)
		}
		c.SchnorrSignature = hex.EncodeToString(sig[:])
		if sig, err = key.sign(h); err != nil {
			t.Fatal(err)
		}
		c.SchnorrRandom = hex.EncodeToString(sig[:])
		epub, err := lib.ecdsaPublicKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		c.ECDSAPublicKey = hex.EncodeToString(epub[:])
		if sig, err = lib.ecdsaSignExtra(priv, h, extra); err != nil {
			t.Fatal(err)
		}
		c.ECDSASignature = hex.EncodeToString(sig[:])
		if sig, err = lib.ecdsaSign(priv, h); err != nil {
			t.Fatal(err)
		}
		c.ECDSARandom = hex.EncodeToString(sig[:])
		tp, err := lib.privateKeyTweakAdd(priv, [32]byte(tweak))
		c.PrivateKeyTweaked = hexOr(tp[:], err)
		tq, err := lib.publicKeyTweakAdd(epub[:], [32]byte(tweak))
		c.PublicKeyTweaked = hexOr(tq[:], err)
		out.Cases = append(out.Cases, c)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d cases", path, len(out.Cases))
}
