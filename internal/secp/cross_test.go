package secp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

const (
	curveOrderHex = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
	fieldPrimeHex = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"
)

func be32(x *big.Int) []byte { return x.FillBytes(make([]byte, 32)) }

func small(k uint64) []byte { return be32(new(big.Int).SetUint64(k)) }

func subSmall(a []byte, k uint64) []byte {
	return be32(new(big.Int).Sub(new(big.Int).SetBytes(a), new(big.Int).SetUint64(k)))
}

func addSmall(a []byte, k uint64) []byte {
	return be32(new(big.Int).Add(new(big.Int).SetBytes(a), new(big.Int).SetUint64(k)))
}

// subBig returns a - b; a >= b.
func subBig(a, b []byte) []byte {
	return be32(new(big.Int).Sub(new(big.Int).SetBytes(a), new(big.Int).SetBytes(b)))
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomKey(t testing.TB) []byte {
	for {
		k := randomBytes(t, 32)
		if _, err := (pureGo{}).ecdsaPublicKey(k); err == nil {
			return k
		}
	}
}

func isLowS(sig [64]byte) bool {
	var s secp256k1.ModNScalar
	overflow := s.SetByteSlice(sig[32:])
	return !overflow && !s.IsOverHalfOrder()
}

// sameKind runs f on every backend and fails unless all return the same
// kind of error (or all succeed with the same bytes).
type outcome struct {
	out  string
	kind string
}

func compare(t *testing.T, what string, f func(b backend) ([]byte, error)) outcome {
	t.Helper()
	var first outcome
	for i, b := range backends {
		out, err := f(b)
		o := outcome{kind: kindOf(err)}
		if err == nil {
			o.out = hex.EncodeToString(out)
		}
		if i == 0 {
			first = o
			continue
		}
		if o != first {
			t.Errorf("%s: %s gives %+v, %s gives %+v", what, backends[0].name(), first, b.name(), o)
		}
	}
	return first
}

// TestCrossImplementations holds the pure Go implementation against
// libsecp256k1 in one test binary (cgo builds): the same public keys,
// tweaked keys and signatures (given the same randomness), each one's
// signatures verify in the other, and the two accept and refuse the same
// malformed keys and signatures, with the same kind of error.
func TestCrossImplementations(t *testing.T) {
	if len(backends) < 2 {
		t.Skip("cgo is off: only the pure Go implementation is compiled in; TestLibsecpVectors holds it against libsecp256k1's recorded output")
	}
	n := unhex(t, curveOrderHex)
	const rounds = 300
	counts := map[string]int{}
	for round := range rounds {
		priv, hash := randomKey(t), [32]byte(randomBytes(t, 32))
		aux := [32]byte(randomBytes(t, 32))
		compare(t, "x-only public key", func(b backend) ([]byte, error) {
			_, pub, err := b.newSchnorrKey(priv)
			return pub[:], err
		})
		epub := compare(t, "compressed public key", func(b backend) ([]byte, error) {
			pub, err := b.ecdsaPublicKey(priv)
			return pub[:], err
		})
		compare(t, "BIP340 signature with given aux", func(b backend) ([]byte, error) {
			s, err := withAux(b).schnorrSignAux(priv, hash, aux)
			return s[:], err
		})
		compare(t, "ECDSA signature with given extra data", func(b backend) ([]byte, error) {
			s, err := withAux(b).ecdsaSignExtra(priv, hash, aux[:])
			return s[:], err
		})
		counts["keys and signatures with given randomness, equal bytes"] += 4

		// Fresh randomness: each backend's signatures verify in both.
		_, xpub, _ := backends[0].newSchnorrKey(priv)
		pub := unhex(t, epub.out)
		for _, signer := range backends {
			key, _, err := signer.newSchnorrKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			ss, err := key.sign(hash)
			if err != nil {
				t.Fatal(err)
			}
			es, err := signer.ecdsaSign(priv, hash)
			if err != nil {
				t.Fatal(err)
			}
			if !isLowS(es) {
				t.Errorf("%s: ECDSA signature %x has high S", signer.name(), es)
			}
			for _, verifier := range backends {
				if err := verifier.schnorrVerify(xpub[:], hash, ss[:]); err != nil {
					t.Errorf("%s's BIP340 signature refused by %s: %v", signer.name(), verifier.name(), err)
				}
				if err := verifier.ecdsaVerify(pub, hash, es[:]); err != nil {
					t.Errorf("%s's ECDSA signature refused by %s: %v", signer.name(), verifier.name(), err)
				}
				counts["signatures with fresh randomness verified by the other"] += 2
			}
			// Tampered: a flipped bit, a wrong hash, a high S, r or s zero or n.
			bit := round % 512
			for _, bad := range [][]byte{flip(ss[:], bit), ss[:], withS(ss[:], n)} {
				h := hash
				if bytes.Equal(bad, ss[:]) {
					h[round%32] ^= 1
				}
				o := compare(t, "tampered BIP340 signature", func(b backend) ([]byte, error) {
					return nil, b.schnorrVerify(xpub[:], h, bad)
				})
				if o.kind != ErrVerify.Error() {
					t.Errorf("tampered BIP340 signature %x: %+v", bad, o)
				}
				counts["tampered signatures, same refusal"]++
			}
			highS := withS(es[:], subBig(n, es[32:]))
			for _, bad := range [][]byte{flip(es[:], bit), highS, withR(es[:], small(0)), withS(es[:], small(0)), withR(es[:], n), withS(es[:], n)} {
				o := compare(t, "tampered ECDSA signature", func(b backend) ([]byte, error) {
					return nil, b.ecdsaVerify(pub, hash, bad)
				})
				if o.kind == "" {
					t.Errorf("tampered ECDSA signature %x accepted", bad)
				}
				counts["tampered signatures, same refusal"]++
			}
		}

		// BIP32 tweaks.
		tweak := [32]byte(randomBytes(t, 32))
		switch round % 10 {
		case 1:
			tweak = [32]byte(subBig(n, priv)) // sum zero: refused
		case 2:
			tweak = [32]byte(n) // out of range: refused
		case 3:
			tweak = [32]byte{} // zero: the key itself
		}
		tp := compare(t, "private key tweak", func(b backend) ([]byte, error) {
			out, err := b.privateKeyTweakAdd(priv, tweak)
			return out[:], err
		})
		tq := compare(t, "public key tweak", func(b backend) ([]byte, error) {
			out, err := b.publicKeyTweakAdd(pub, tweak)
			return out[:], err
		})
		if (tp.kind == "") != (tq.kind == "") {
			t.Errorf("tweak %x: private %+v, public %+v", tweak, tp, tq)
		}
		if tp.kind == "" {
			// BIP32's consistency: point(k + t) = point(k) + t·G.
			got, _ := backends[0].ecdsaPublicKey(unhex(t, tp.out))
			if hex.EncodeToString(got[:]) != tq.out {
				t.Errorf("point(k+t) %x != point(k)+tG %s", got, tq.out)
			}
		}
		counts["tweaks, same result"] += 2

		// Random public keys: about half are not on the curve.
		rp := append([]byte{2 + byte(round%2)}, randomBytes(t, 32)...)
		compare(t, "random compressed public key", func(b backend) ([]byte, error) { return nil, b.parsePublicKey(rp) })
		compare(t, "ECDSA verify under a random public key", func(b backend) ([]byte, error) {
			es, _ := pureGo{}.ecdsaSignExtra(priv, hash, nil)
			return nil, b.ecdsaVerify(rp, hash, es[:])
		})
		compare(t, "BIP340 verify under a random x-only key", func(b backend) ([]byte, error) {
			ss, _ := withAux(backends[0]).schnorrSignAux(priv, hash, aux)
			return nil, b.schnorrVerify(rp[1:], hash, ss[:])
		})
		compare(t, "tweak of a random public key", func(b backend) ([]byte, error) {
			out, err := b.publicKeyTweakAdd(rp, tweak)
			return out[:], err
		})
		counts["random public keys, same answer"] += 4
	}
	for what, c := range counts {
		t.Logf("%6d %s", c, what)
	}
}

func flip(b []byte, bit int) []byte {
	out := bytes.Clone(b)
	out[bit/8%len(out)] ^= 1 << (bit % 8)
	return out
}

func withR(sig, r []byte) []byte { return append(bytes.Clone(r), sig[32:]...) }
func withS(sig, s []byte) []byte { return append(bytes.Clone(sig[:32]), s...) }

// TestMalformedInputs: keys and signatures of the wrong length or out of
// range get the same kind of error from every backend.
func TestMalformedInputs(t *testing.T) {
	n, p := unhex(t, curveOrderHex), unhex(t, fieldPrimeHex)
	priv := randomKey(t)
	hash := [32]byte(randomBytes(t, 32))
	pub, _ := backends[0].ecdsaPublicKey(priv)
	_, xpub, _ := backends[0].newSchnorrKey(priv)
	ss, _ := withAux(backends[0]).schnorrSignAux(priv, hash, hash)
	es, _ := pureGo{}.ecdsaSignExtra(priv, hash, nil)

	for _, k := range []struct {
		name string
		b    []byte
	}{
		{"zero", small(0)}, {"n", n}, {"n+1", addSmall(n, 1)}, {"all ones", bytes.Repeat([]byte{0xff}, 32)},
		{"31 bytes", priv[:31]}, {"33 bytes", append(bytes.Clone(priv), 1)}, {"nil", nil},
	} {
		for what, f := range map[string]func(b backend) ([]byte, error){
			"NewSchnorrKey":  func(b backend) ([]byte, error) { _, pub, err := b.newSchnorrKey(k.b); return pub[:], err },
			"ECDSAPublicKey": func(b backend) ([]byte, error) { pub, err := b.ecdsaPublicKey(k.b); return pub[:], err },
			"ECDSASign":      func(b backend) ([]byte, error) { s, err := b.ecdsaSign(k.b, hash); return s[:], err },
			"PrivateKeyTweakAdd": func(b backend) ([]byte, error) {
				s, err := b.privateKeyTweakAdd(k.b, hash)
				return s[:], err
			},
		} {
			if o := compare(t, what+" of private key "+k.name, f); o.kind != ErrInvalidPrivateKey.Error() {
				t.Errorf("%s of private key %s: %+v", what, k.name, o)
			}
		}
	}

	for _, k := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"valid", pub[:], true},
		{"prefix 04", append([]byte{4}, pub[1:]...), false},
		{"prefix 00", append([]byte{0}, pub[1:]...), false},
		{"x = p", append([]byte{2}, p...), false},
		{"x = p+1", append([]byte{3}, addSmall(p, 1)...), false},
		{"x = 0", append([]byte{2}, small(0)...), false},
		{"32 bytes", pub[:32], false},
		{"65 bytes", append(append([]byte{4}, pub[1:]...), pub[1:]...), false},
	} {
		o := compare(t, "public key "+k.name, func(b backend) ([]byte, error) { return nil, b.parsePublicKey(k.b) })
		if (o.kind == "") != k.ok || (!k.ok && o.kind != ErrInvalidPublicKey.Error()) {
			t.Errorf("public key %s: %+v", k.name, o)
		}
		compare(t, "ECDSA verify, public key "+k.name, func(b backend) ([]byte, error) { return nil, b.ecdsaVerify(k.b, hash, es[:]) })
		compare(t, "tweak, public key "+k.name, func(b backend) ([]byte, error) {
			out, err := b.publicKeyTweakAdd(k.b, hash)
			return out[:], err
		})
	}
	for _, k := range []struct {
		name string
		b    []byte
	}{{"x = p", p}, {"x = p+1", addSmall(p, 1)}, {"31 bytes", xpub[:31]}, {"33 bytes", append(bytes.Clone(xpub[:]), 0)}} {
		if o := compare(t, "x-only key "+k.name, func(b backend) ([]byte, error) { return nil, b.schnorrVerify(k.b, hash, ss[:]) }); o.kind != ErrInvalidPublicKey.Error() {
			t.Errorf("x-only key %s: %+v", k.name, o)
		}
	}
	for _, l := range []int{0, 63, 65} {
		sig := make([]byte, l)
		copy(sig, ss[:])
		if o := compare(t, "BIP340 signature length", func(b backend) ([]byte, error) { return nil, b.schnorrVerify(xpub[:], hash, sig) }); o.kind != ErrInvalidSignature.Error() {
			t.Errorf("BIP340 signature of %d bytes: %+v", l, o)
		}
		if o := compare(t, "ECDSA signature length", func(b backend) ([]byte, error) { return nil, b.ecdsaVerify(pub[:], hash, sig) }); o.kind != ErrInvalidSignature.Error() {
			t.Errorf("ECDSA signature of %d bytes: %+v", l, o)
		}
	}
	// BIP340 r = p or s = n: libsecp256k1 parses any 64 bytes and refuses
	// them in verification.
	for name, sig := range map[string][]byte{"r = p": withR(ss[:], p), "s = n": withS(ss[:], n), "s = all ones": withS(ss[:], bytes.Repeat([]byte{0xff}, 32))} {
		if o := compare(t, "BIP340 "+name, func(b backend) ([]byte, error) { return nil, b.schnorrVerify(xpub[:], hash, sig) }); o.kind != ErrVerify.Error() {
			t.Errorf("BIP340 %s: %+v", name, o)
		}
	}
}

// TestECDSAIsDcrdRFC6979: without additional data the pure Go ECDSA signer
// is dcrd's ecdsa.Sign (RFC 6979, low S), byte for byte.
func TestECDSAIsDcrdRFC6979(t *testing.T) {
	for range 200 {
		priv, hash := randomKey(t), [32]byte(randomBytes(t, 32))
		got, err := pureGo{}.ecdsaSignExtra(priv, hash, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := ecdsa.SignCompact(secp256k1.PrivKeyFromBytes(priv), hash[:], true)[1:]
		if !bytes.Equal(got[:], want) {
			t.Fatalf("key %x hash %x: %x, dcrd %x", priv, hash, got, want)
		}
	}
}

// TestAPI exercises the exported functions (the implementation the build
// picked) the way txbuild and wallet use them.
func TestAPI(t *testing.T) {
	priv, hash := randomKey(t), [32]byte(randomBytes(t, 32))
	key, err := NewSchnorrKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := key.Sign(hash)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.PublicKey()
	if err := SchnorrVerify(pub[:], hash, sig[:]); err != nil {
		t.Fatal(err)
	}
	sig2, _ := key.Sign(hash)
	if sig == sig2 {
		t.Error("two BIP340 signatures with fresh aux are equal")
	}
	hash[0] ^= 1
	if err := SchnorrVerify(pub[:], hash, sig[:]); !errors.Is(err, ErrVerify) {
		t.Fatalf("wrong hash: %v", err)
	}
	key.Zero()

	epub, err := ECDSAPublicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	es, err := ECDSASign(priv, hash)
	if err != nil {
		t.Fatal(err)
	}
	if !isLowS(es) {
		t.Fatal("high S")
	}
	if err := ECDSAVerify(epub[:], hash, es[:]); err != nil {
		t.Fatal(err)
	}
	es2, _ := ECDSASign(priv, hash)
	if es == es2 {
		t.Error("two ECDSA signatures with fresh extra data are equal")
	}
	if err := ParsePublicKey(epub[:]); err != nil {
		t.Fatal(err)
	}
	tk, err := PrivateKeyTweakAdd(priv, hash)
	if err != nil {
		t.Fatal(err)
	}
	tpub, err := PublicKeyTweakAdd(epub[:], hash)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ECDSAPublicKey(tk[:]); got != tpub {
		t.Fatal("tweaks disagree")
	}
	if _, err := NewSchnorrKey(make([]byte, 32)); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Fatalf("zero key: %v", err)
	}
	if _, err := PrivateKeyTweakAdd(priv, [32]byte(subBig(unhex(t, curveOrderHex), priv))); !errors.Is(err, ErrTweak) {
		t.Fatalf("tweak to zero: %v", err)
	}
}
