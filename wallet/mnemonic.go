package wallet

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"

	"github.com/tyler-smith/go-bip39"
	"github.com/tyler-smith/go-bip39/wordlists"
	"golang.org/x/text/unicode/norm"
)

// NewMnemonic returns a fresh BIP39 mnemonic of 12 or 24 English words
// (128 or 256 bits of entropy from crypto/rand).
func NewMnemonic(words int) (string, error) {
	if words != 12 && words != 24 {
		return "", fmt.Errorf("%w: want 12 or 24, got %d", ErrMnemonicWordCount, words)
	}
	entropy := make([]byte, words*4/3)
	defer clear(entropy)
	if _, err := rand.Read(entropy); err != nil {
		return "", err
	}
	return mnemonicFromEntropy(entropy), nil
}

// mnemonicFromEntropy encodes 16 to 32 bytes of entropy (a multiple of 4)
// as BIP39 English words: the entropy bits, then the first len/4 bits of
// its SHA-256, in groups of 11 bits.
func mnemonicFromEntropy(entropy []byte) string {
	sum := sha256.Sum256(entropy)
	bits := append(append([]byte(nil), entropy...), sum[0])
	defer clear(bits)
	n := (len(entropy)*8 + len(entropy)/4) / 11
	words := make([]string, n)
	for i := range words {
		words[i] = wordlists.English[bits11(bits, i*11)]
	}
	return strings.Join(words, " ")
}

// bits11 reads the 11-bit big-endian group starting at bit offset off.
func bits11(b []byte, off int) int {
	v := 0
	for i := off; i < off+11; i++ {
		v = v<<1 | int(b[i/8]>>(7-i%8)&1)
	}
	return v
}

// parseMnemonic checks a mnemonic against BIP39 (word count, English word
// list, checksum) and returns its canonical form: lower-case words joined
// by single spaces. Other Kaspa wallets accept only that form, so the seed
// is always computed from it. Errors name the position of a bad word but
// never the word itself: it is part of a secret.
func parseMnemonic(mnemonic string) (string, error) {
	words := strings.Fields(strings.ToLower(mnemonic))
	switch len(words) {
	case 12, 15, 18, 21, 24:
	default:
		return "", fmt.Errorf("%w: got %d, want 12, 15, 18, 21 or 24 (Kaspa wallets use 12 or 24)", ErrMnemonicWordCount, len(words))
	}
	// Entropy plus checksum: 11 bits a word, at most 264 bits.
	var bits [33]byte
	defer clear(bits[:])
	for i, w := range words {
		idx := sort.SearchStrings(wordlists.English, w)
		if idx == len(wordlists.English) || wordlists.English[idx] != w {
			return "", fmt.Errorf("%w: word %d of %d", ErrMnemonicUnknownWord, i+1, len(words))
		}
		for j := range 11 {
			if idx>>(10-j)&1 == 1 {
				bit := i*11 + j
				bits[bit/8] |= 1 << (7 - bit%8)
			}
		}
	}
	entLen := len(words) * 11 * 32 / 33 / 8 // entropy bytes
	csBits := entLen / 4
	sum := sha256.Sum256(bits[:entLen])
	if got, want := bits[entLen]>>(8-csBits), sum[0]>>(8-csBits); got != want {
		return "", ErrMnemonicChecksum
	}
	return strings.Join(words, " "), nil
}

// ValidateMnemonic reports whether mnemonic is a valid BIP39 English
// mnemonic: 12, 15, 18, 21 or 24 known words with a correct checksum.
// Case and the amount of white space between words do not matter.
func ValidateMnemonic(mnemonic string) error {
	_, err := parseMnemonic(mnemonic)
	return err
}

// SeedFromMnemonic validates mnemonic and returns its 64-byte BIP39 seed:
// PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic"+passphrase. The
// passphrase (the optional "25th word") may be empty.
//
// BIP39 normalizes the passphrase to Unicode NFKD; rusty-kaspa (and so
// Kaspa-NG) hashes it as typed. Both give the same seed exactly when the
// passphrase already is in NFKD form (any ASCII passphrase is), so any
// other passphrase is refused with ErrPassphraseNotNormalized rather than
// giving addresses that one of the two wallets would not show.
func SeedFromMnemonic(mnemonic, passphrase string) ([]byte, error) {
	m, err := parseMnemonic(mnemonic)
	if err != nil {
		return nil, err
	}
	if !norm.NFKD.IsNormalString(passphrase) {
		return nil, fmt.Errorf("%w: BIP39 wallets and rusty-kaspa would derive different keys from it; type it in decomposed (NFKD) form or use ASCII", ErrPassphraseNotNormalized)
	}
	return bip39.NewSeed(m, passphrase), nil
}
