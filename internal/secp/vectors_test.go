package secp

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

// auxSigner signs with given randomness: BIP340 aux_rand, and the RFC 6979
// additional data of ECDSA. Every backend has it in the tests (libsecp256k1
// through go-secp256k1's unexported functions).
type auxSigner interface {
	schnorrSignAux(priv []byte, hash [32]byte, aux [32]byte) ([64]byte, error)
	ecdsaSignExtra(priv []byte, hash [32]byte, extra []byte) ([64]byte, error)
}

func withAux(b backend) auxSigner { return b.(auxSigner) }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func to32(t testing.TB, b []byte) [32]byte {
	t.Helper()
	if len(b) != 32 {
		t.Fatalf("%d bytes, want 32", len(b))
	}
	return [32]byte(b)
}

// kindOf names the kind of err: "", or the Err value it matches.
func kindOf(err error) string {
	for _, k := range []error{ErrInvalidPrivateKey, ErrInvalidPublicKey, ErrInvalidSignature, ErrVerify, ErrTweak} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	if err != nil {
		return "unclassified: " + err.Error()
	}
	return ""
}

// TestBIP340Vectors runs bip-0340/test-vectors.csv (testdata/README.md)
// through every backend compiled in: public key, signature with the
// vector's aux_rand, verification result. Vectors 15-18 sign messages that
// are not 32 bytes long, which BIP340 allows since 2023 and Kaspa never
// does (it signs a 32-byte signature hash): the API takes [32]byte, so they
// are counted and skipped.
func TestBIP340Vectors(t *testing.T) {
	f, err := os.Open("testdata/bip340-test-vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 20 || rows[0][0] != "index" {
		t.Fatalf("%d rows, header %v: not the file testdata/README.md names", len(rows), rows[0])
	}
	for _, b := range backends {
		t.Run(b.name(), func(t *testing.T) {
			var used, signed, valid, invalid, skipped int
			for _, r := range rows[1:] {
				idx, sk, pk, aux, msg, sig, want, comment := r[0], r[1], r[2], r[3], r[4], r[5], r[6] == "TRUE", r[7]
				m := unhex(t, msg)
				if len(m) != 32 {
					skipped++
					continue
				}
				used++
				hash := [32]byte(m)
				if sk != "" {
					key, err := NewSchnorrKeyWith(b, unhex(t, sk))
					if err != nil {
						t.Fatalf("vector %s: %v", idx, err)
					}
					if pub := key.PublicKey(); !bytes.Equal(pub[:], unhex(t, pk)) {
						t.Errorf("vector %s: public key %X, want %s", idx, pub, pk)
					}
					got, err := withAux(b).schnorrSignAux(unhex(t, sk), hash, to32(t, unhex(t, aux)))
					if err != nil {
						t.Fatalf("vector %s: sign: %v", idx, err)
					}
					if !bytes.Equal(got[:], unhex(t, sig)) {
						t.Errorf("vector %s: signature %X, want %s", idx, got, sig)
					}
					// The same key with fresh randomness: a different, valid signature.
					fresh, err := key.Sign(hash)
					if err != nil {
						t.Fatal(err)
					}
					if err := b.schnorrVerify(unhex(t, pk), hash, fresh[:]); err != nil {
						t.Errorf("vector %s: signature with fresh aux: %v", idx, err)
					}
					signed++
				}
				err := b.schnorrVerify(unhex(t, pk), hash, unhex(t, sig))
				switch {
				case want && err != nil:
					t.Errorf("vector %s: valid signature refused: %v", idx, err)
				case !want && err == nil:
					t.Errorf("vector %s (%s): invalid signature accepted", idx, comment)
				case !want && !errors.Is(err, ErrVerify) && !errors.Is(err, ErrInvalidPublicKey):
					t.Errorf("vector %s (%s): error %v, want ErrVerify or ErrInvalidPublicKey", idx, comment, err)
				}
				if want {
					valid++
				} else {
					invalid++
				}
			}
			t.Logf("%s: %d vectors (%d signed, %d valid, %d invalid), %d skipped (message not 32 bytes)", b.name(), used, signed, valid, invalid, skipped)
			if used != 15 || signed != 4 || skipped != 4 {
				t.Fatalf("used %d, signed %d, skipped %d: want 15, 4, 4", used, signed, skipped)
			}
		})
	}
}

// NewSchnorrKeyWith is NewSchnorrKey with a given backend.
func NewSchnorrKeyWith(b backend, priv []byte) (*SchnorrKey, error) {
	s, pub, err := b.newSchnorrKey(priv)
	if err != nil {
		return nil, err
	}
	return &SchnorrKey{s: s, pub: pub}, nil
}

// libsecpVectors is testdata/libsecp256k1-vectors.json: keys, hashes and
// what libsecp256k1 made of them, written by the cgo build (-update) and
// checked by both builds.
type libsecpVectors struct {
	Source string        `json:"source"`
	Notes  string        `json:"notes"`
	Cases  []libsecpCase `json:"cases"`
}

type libsecpCase struct {
	Comment          string `json:"comment,omitempty"`
	PrivateKey       string `json:"privateKey"`
	Hash             string `json:"hash"`
	SchnorrPublicKey string `json:"schnorrPublicKey"`
	Aux              string `json:"aux"`
	SchnorrSignature string `json:"schnorrSignature"` // with Aux
	SchnorrRandom    string `json:"schnorrSignatureRandomAux"`
	ECDSAPublicKey   string `json:"ecdsaPublicKey"`
	Extra            string `json:"extra"`
	ECDSASignature   string `json:"ecdsaSignature"` // RFC 6979 with Extra
	ECDSARandom      string `json:"ecdsaSignatureRandomExtra"`
	Tweak            string `json:"tweak"`
	// PrivateKeyTweaked and PublicKeyTweaked are empty where libsecp256k1
	// refused the tweak.
	PrivateKeyTweaked string `json:"privateKeyTweaked"`
	PublicKeyTweaked  string `json:"publicKeyTweaked"`
}

const libsecpVectorsFile = "testdata/libsecp256k1-vectors.json"

var update = flag.Bool("update", false, "rewrite "+libsecpVectorsFile+" from libsecp256k1 (needs cgo)")

// writeLibsecpVectors is set by the cgo build.
var writeLibsecpVectors func(t *testing.T, path string)

// TestLibsecpVectors checks what libsecp256k1 computed (the file the cgo
// build writes) against every backend compiled in: without cgo, the pure Go
// implementation must verify libsecp256k1's signatures made with unknown
// randomness, reproduce its signatures made with known randomness byte for
// byte, and derive the same public and tweaked keys.
func TestLibsecpVectors(t *testing.T) {
	if *update {
		if writeLibsecpVectors == nil {
			t.Fatal("-update needs the cgo build (libsecp256k1)")
		}
		writeLibsecpVectors(t, libsecpVectorsFile)
	}
	b, err := os.ReadFile(libsecpVectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v libsecpVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) < 100 {
		t.Fatalf("%d cases", len(v.Cases))
	}
	for _, be := range backends {
		t.Run(be.name(), func(t *testing.T) {
			var sigs, tweakFails int
			for i, c := range v.Cases {
				priv, hash := unhex(t, c.PrivateKey), to32(t, unhex(t, c.Hash))
				key, err := NewSchnorrKeyWith(be, priv)
				if err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				if pub := key.PublicKey(); hex.EncodeToString(pub[:]) != c.SchnorrPublicKey {
					t.Errorf("case %d: x-only public key %x, libsecp256k1 %s", i, pub, c.SchnorrPublicKey)
				}
				s, err := withAux(be).schnorrSignAux(priv, hash, to32(t, unhex(t, c.Aux)))
				if err != nil || hex.EncodeToString(s[:]) != c.SchnorrSignature {
					t.Errorf("case %d: BIP340 signature %x (%v), libsecp256k1 %s", i, s, err, c.SchnorrSignature)
				}
				pub, err := be.ecdsaPublicKey(priv)
				if err != nil || hex.EncodeToString(pub[:]) != c.ECDSAPublicKey {
					t.Errorf("case %d: compressed public key %x (%v), libsecp256k1 %s", i, pub, err, c.ECDSAPublicKey)
				}
				e, err := withAux(be).ecdsaSignExtra(priv, hash, unhex(t, c.Extra))
				if err != nil || hex.EncodeToString(e[:]) != c.ECDSASignature {
					t.Errorf("case %d: ECDSA signature %x (%v), libsecp256k1 %s", i, e, err, c.ECDSASignature)
				}
				for _, sig := range []string{c.SchnorrSignature, c.SchnorrRandom} {
					if err := be.schnorrVerify(unhex(t, c.SchnorrPublicKey), hash, unhex(t, sig)); err != nil {
						t.Errorf("case %d: libsecp256k1's BIP340 signature %s: %v", i, sig, err)
					}
					sigs++
				}
				for _, sig := range []string{c.ECDSASignature, c.ECDSARandom} {
					if err := be.ecdsaVerify(unhex(t, c.ECDSAPublicKey), hash, unhex(t, sig)); err != nil {
						t.Errorf("case %d: libsecp256k1's ECDSA signature %s: %v", i, sig, err)
					}
					sigs++
				}
				tweak := to32(t, unhex(t, c.Tweak))
				tp, err := be.privateKeyTweakAdd(priv, tweak)
				if got := hexOr(tp[:], err); got != c.PrivateKeyTweaked || (err != nil && !errors.Is(err, ErrTweak)) {
					t.Errorf("case %d: private key + tweak = %q (%v), libsecp256k1 %q", i, got, err, c.PrivateKeyTweaked)
				}
				tq, err := be.publicKeyTweakAdd(unhex(t, c.ECDSAPublicKey), tweak)
				if got := hexOr(tq[:], err); got != c.PublicKeyTweaked || (err != nil && !errors.Is(err, ErrTweak)) {
					t.Errorf("case %d: public key + tweak = %q (%v), libsecp256k1 %q", i, got, err, c.PublicKeyTweaked)
				}
				if c.PrivateKeyTweaked == "" {
					tweakFails++
				}
			}
			t.Logf("%s: %d cases, %d libsecp256k1 signatures verified, %d refused tweaks", be.name(), len(v.Cases), sigs, tweakFails)
		})
	}
}

func hexOr(b []byte, err error) string {
	if err != nil {
		return ""
	}
	return hex.EncodeToString(b)
}

func TestImplementation(t *testing.T) {
	got := Implementation()
	if want := backends[0].name(); got != want {
		t.Fatalf("Implementation() = %q, want %q", got, want)
	}
	if strings.Contains(got, "cgo") != cgoEnabled {
		t.Fatalf("Implementation() = %q with cgo %v", got, cgoEnabled)
	}
	t.Log(got)
}
