package wallet

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/kloakprotocol/kloak/address"
)

var bitcoinPrivateVersion = [4]byte{0x04, 0x88, 0xad, 0xe4}

// TestBIP32Vectors runs BIP-0032 test vectors 1 to 3: hex keys and chain
// codes (SLIP-0010's copy of vectors 1 and 2) and the xprv/xpub strings.
func TestBIP32Vectors(t *testing.T) {
	var f struct {
		Vectors []struct {
			Name   string
			Seed   string
			Chains []struct {
				Path              string
				ParentFingerprint string `json:"parent_fingerprint"`
				ChainCode         string `json:"chain_code"`
				PrivateKey        string `json:"private_key"`
				PublicKey         string `json:"public_key"`
				Xpub, Xprv        string
			}
		}
	}
	loadJSON(t, "bip32.json", &f)
	if len(f.Vectors) < 3 {
		t.Fatal("missing vectors")
	}
	for _, v := range f.Vectors {
		master, err := newMasterKey(mustHex(t, v.Seed), bitcoinPrivateVersion)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		for _, c := range v.Chains {
			p, err := ParsePath(c.Path)
			if err != nil {
				t.Fatal(err)
			}
			k, err := master.Derive(p)
			if err != nil {
				t.Fatalf("%s %s: %v", v.Name, c.Path, err)
			}
			if c.PrivateKey != "" {
				priv, _ := k.PrivateKey()
				pub, cc, fp := k.PublicKey(), k.ChainCode(), k.ParentFingerprint()
				for _, chk := range []struct{ what, got, want string }{
					{"private key", hex.EncodeToString(priv), c.PrivateKey},
					{"public key", hex.EncodeToString(pub[:]), c.PublicKey},
					{"chain code", hex.EncodeToString(cc[:]), c.ChainCode},
					{"parent fingerprint", hex.EncodeToString(fp[:]), c.ParentFingerprint},
				} {
					if chk.got != chk.want {
						t.Errorf("%s %s %s: %s, want %s", v.Name, c.Path, chk.what, chk.got, chk.want)
					}
				}
			}
			if got := k.String(); got != c.Xprv {
				t.Errorf("%s %s: xprv %s, want %s", v.Name, c.Path, got, c.Xprv)
			}
			if got := k.Neuter().String(); got != c.Xpub {
				t.Errorf("%s %s: xpub %s, want %s", v.Name, c.Path, got, c.Xpub)
			}
			// Both strings parse back to the same key.
			for _, s := range []string{c.Xprv, c.Xpub} {
				pk, err := ParseExtendedKey(s)
				if err != nil {
					t.Fatalf("ParseExtendedKey(%s): %v", s, err)
				}
				if pk.String() != s {
					t.Errorf("round trip of %s gave %s", s, pk.String())
				}
			}
			// Public derivation from the parent's xpub reaches the same
			// public key wherever the last step is not hardened.
			if len(p) > 0 && p[len(p)-1] < HardenedOffset {
				parent, err := master.Derive(p[:len(p)-1])
				if err != nil {
					t.Fatal(err)
				}
				pc, err := parent.Neuter().Child(p[len(p)-1])
				if err != nil {
					t.Fatal(err)
				}
				if pc.String() != c.Xpub {
					t.Errorf("%s %s: public derivation %s, want %s", v.Name, c.Path, pc.String(), c.Xpub)
				}
			}
		}
	}
}

// TestBIP32InvalidKeys runs BIP-0032 test vector 5.
func TestBIP32InvalidKeys(t *testing.T) {
	var f struct {
		InvalidKeys []struct{ Key, Reason string } `json:"invalid_keys"`
	}
	loadJSON(t, "bip32.json", &f)
	if len(f.InvalidKeys) == 0 {
		t.Fatal("missing vectors")
	}
	for _, v := range f.InvalidKeys {
		if _, err := ParseExtendedKey(v.Key); !errors.Is(err, ErrInvalidExtendedKey) {
			t.Errorf("%s (%s): error %v, want ErrInvalidExtendedKey", v.Key, v.Reason, err)
		}
	}
}

func TestChildErrors(t *testing.T) {
	master, err := NewMasterKey(make([]byte, 32), address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := master.Neuter().Child(HardenedOffset); !errors.Is(err, ErrHardenedFromPublic) {
		t.Errorf("hardened child of public key: %v", err)
	}
	deep := master.clone()
	deep.depth = 255
	if _, err := deep.Child(0); !errors.Is(err, ErrDepth) {
		t.Errorf("child at depth 255: %v", err)
	}
	if _, err := master.Neuter().PrivateKey(); !errors.Is(err, ErrPublicKeyOnly) {
		t.Errorf("PrivateKey of public key: %v", err)
	}
	for _, n := range []int{0, 15, 65} {
		if _, err := NewMasterKey(make([]byte, n), address.Mainnet); !errors.Is(err, ErrSeedLength) {
			t.Errorf("seed of %d bytes: %v", n, err)
		}
	}
	if _, err := NewMasterKey(make([]byte, 32), 0); !errors.Is(err, ErrUnknownNetwork) {
		t.Errorf("network 0: %v", err)
	}
}

func TestZero(t *testing.T) {
	master, err := NewMasterKey(make([]byte, 32), address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	master.Zero()
	for _, b := range master.priv {
		if b != 0 {
			t.Fatal("Zero left key bytes")
		}
	}
	if _, err := master.Child(0); err == nil {
		t.Fatal("derivation from a zeroed key succeeded")
	}
}

func TestParsePath(t *testing.T) {
	H := HardenedOffset
	tests := []struct {
		in   string
		want Path
		ok   bool
	}{
		{"m", Path{}, true},
		{"m/44'/111111'/0'/0/5", Path{44 + H, 111111 + H, H, 0, 5}, true},
		{"m/44h/111111H/0'/1/2147483647", Path{44 + H, 111111 + H, H, 1, 2147483647}, true},
		{"m/2147483647'", Path{0xffffffff}, true},
		{"", nil, false},
		{"M/0", nil, false},
		{"44'/0", nil, false},
		{"m/", nil, false},
		{"m//0", nil, false},
		{"m/0/", nil, false},
		{"m/x", nil, false},
		{"m/-1", nil, false},
		{"m/+1", nil, false},
		{"m/1''", nil, false},
		{"m/2147483648", nil, false},
		{"m/4294967296", nil, false},
		{"m/99999999999999999999", nil, false},
		{"m/0 ", nil, false},
	}
	for _, tt := range tests {
		got, err := ParsePath(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("ParsePath(%q) error %v", tt.in, err)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, ErrInvalidPath) {
				t.Errorf("ParsePath(%q) error %v, want ErrInvalidPath", tt.in, err)
			}
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParsePath(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParsePath(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
	if s := (Path{44 + H, 111111 + H, H, 0, 5}).String(); s != "m/44'/111111'/0'/0/5" {
		t.Errorf("String = %s", s)
	}
}
