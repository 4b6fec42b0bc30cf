package wallet

import (
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/tyler-smith/go-bip39"
	"github.com/tyler-smith/go-bip39/wordlists"
)

func TestWordListSorted(t *testing.T) {
	// parseMnemonic finds words by binary search.
	if !sort.StringsAreSorted(wordlists.English) || len(wordlists.English) != 2048 {
		t.Fatal("BIP39 English word list is not 2048 sorted words")
	}
}

func TestBIP39Vectors(t *testing.T) {
	var f struct {
		Passphrase string `json:"passphrase"`
		Vectors    []struct {
			Entropy, Mnemonic, Seed, Xprv string
		} `json:"vectors"`
	}
	loadJSON(t, "bip39.json", &f)
	for _, v := range f.Vectors {
		if got := mnemonicFromEntropy(mustHex(t, v.Entropy)); got != v.Mnemonic {
			t.Errorf("entropy %s: mnemonic %q, want %q", v.Entropy, got, v.Mnemonic)
		}
		seed, err := SeedFromMnemonic(v.Mnemonic, f.Passphrase)
		if err != nil {
			t.Fatalf("%q: %v", v.Mnemonic, err)
		}
		if hex.EncodeToString(seed) != v.Seed {
			t.Errorf("%q: seed %x, want %s", v.Mnemonic, seed, v.Seed)
		}
		master, err := newMasterKey(seed, [4]byte{0x04, 0x88, 0xad, 0xe4})
		if err != nil {
			t.Fatal(err)
		}
		if got := master.String(); got != v.Xprv {
			t.Errorf("%q: master %s, want %s", v.Mnemonic, got, v.Xprv)
		}
	}
}

func TestNewMnemonic(t *testing.T) {
	for _, words := range []int{12, 24} {
		m, err := NewMnemonic(words)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Fields(m)); n != words {
			t.Fatalf("NewMnemonic(%d) has %d words", words, n)
		}
		if err := ValidateMnemonic(m); err != nil {
			t.Fatalf("NewMnemonic(%d) gave an invalid mnemonic: %v", words, err)
		}
		// go-bip39 agrees on the checksum.
		if _, err := bip39.EntropyFromMnemonic(m); err != nil {
			t.Fatalf("go-bip39 rejects %d-word mnemonic: %v", words, err)
		}
	}
	for _, words := range []int{0, 11, 15, 18, 25} {
		if _, err := NewMnemonic(words); !errors.Is(err, ErrMnemonicWordCount) {
			t.Errorf("NewMnemonic(%d) error %v, want ErrMnemonicWordCount", words, err)
		}
	}
}

func TestValidateMnemonic(t *testing.T) {
	const good = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	tests := []struct {
		name     string
		mnemonic string
		want     error
	}{
		{"valid", good, nil},
		{"case and spacing", "  Abandon abandon\tabandon abandon abandon abandon abandon abandon abandon abandon ABANDON about\n", nil},
		{"24 words", strings.Repeat("abandon ", 23) + "art", nil},
		{"empty", "", ErrMnemonicWordCount},
		{"11 words", strings.Repeat("abandon ", 10) + "about", ErrMnemonicWordCount},
		{"13 words", good + " about", ErrMnemonicWordCount},
		{"unknown word", strings.Replace(good, "about", "abuot", 1), ErrMnemonicUnknownWord},
		{"bad checksum", strings.Replace(good, "about", "abandon", 1), ErrMnemonicChecksum},
		{"swapped words", "about " + strings.Repeat("abandon ", 11), ErrMnemonicChecksum},
		{"bad checksum 24", strings.Repeat("abandon ", 24), ErrMnemonicChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMnemonic(tt.mnemonic)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ValidateMnemonic error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnknownWordErrorHidesWord(t *testing.T) {
	m := "zebra abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon secretword"
	err := ValidateMnemonic(m)
	if !errors.Is(err, ErrMnemonicUnknownWord) {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), "secretword") || !strings.Contains(err.Error(), "word 12") {
		t.Fatalf("error %q should name the position, not the word", err)
	}
}

func TestSeedCanonicalMnemonic(t *testing.T) {
	a, err := SeedFromMnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := SeedFromMnemonic(" ABANDON  abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about ", "")
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(a) != hex.EncodeToString(b) {
		t.Fatal("seed depends on case or spacing")
	}
}

func TestPassphraseNormalization(t *testing.T) {
	const m = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	// Precomposed U+00E9 is NFC, not NFKD: refused.
	if _, err := SeedFromMnemonic(m, "caf\u00e9"); !errors.Is(err, ErrPassphraseNotNormalized) {
		t.Fatalf("NFC passphrase: error %v, want ErrPassphraseNotNormalized", err)
	}
	// The decomposed form is accepted, as is ASCII.
	for _, p := range []string{"cafe\u0301", "TREZOR", ""} {
		if _, err := SeedFromMnemonic(m, p); err != nil {
			t.Fatalf("passphrase %q: %v", p, err)
		}
	}
}
