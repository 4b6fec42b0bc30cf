package wallet

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"
)

// Wallet file format, version 1 (see the package documentation):
//
//	offset size
//	0      8    magic "KLOAKWLT"
//	8      2    format version, big-endian: 1
//	10     1    KDF: 1 = scrypt
//	11     1    log2(N)
//	12     4    r, big-endian
//	16     4    p, big-endian
//	20     32   salt
//	52     16   password check: HKDF-Expand(SHA-256, scrypt key, "kloak wallet v1 password check")
//	68     12   nonce
//	80     4    header checksum: first 4 bytes of SHA-256 of bytes 0..79
//	84     n+16 ChaCha20-Poly1305 of the JSON contents; additional data: bytes 0..83
const (
	fileMagic     = "KLOAKWLT"
	fileVersion   = 1
	kdfScrypt     = 1
	headerLen     = 84
	checkLen      = 16
	saltLen       = 32
	maxFileSize   = 16 << 20 // far above any wallet; bounds what Open reads
	infoCheck     = "kloak wallet v1 password check"
	infoKey       = "kloak wallet v1 encryption key"
	offVersion    = 8
	offKDF        = 10
	offSalt       = 20
	offCheck      = 52
	offNonce      = 68
	offHeaderSum  = 80
	headerSumLen  = 4
	scryptKeyLen  = 32
	minCipherText = chacha20poly1305.Overhead
)

// Default scrypt cost of new wallet files: N = 2^17, r = 8, p = 1, 128 MiB
// and about 0.3 s to open on a current server core.
const (
	DefaultScryptLogN uint8  = 17
	DefaultScryptR    uint32 = 8
	DefaultScryptP    uint32 = 1
)

// Limits on the scrypt parameters a wallet file may ask for, so that a
// hostile file cannot make Open allocate or compute without bound.
const (
	maxScryptMemory = 1 << 30 // 128·r·N bytes
	maxScryptP      = 16
	maxScryptLogN   = 24
)

// ScryptParams is the cost of the scrypt key derivation of a wallet file:
// N = 2^LogN, r, p. The zero value means the defaults (DefaultScryptLogN,
// DefaultScryptR, DefaultScryptP). Lower costs make a stolen file cheaper
// to attack; use them only in tests.
type ScryptParams struct {
	LogN uint8
	R, P uint32
}

func (s ScryptParams) withDefaults() ScryptParams {
	if s == (ScryptParams{}) {
		return ScryptParams{DefaultScryptLogN, DefaultScryptR, DefaultScryptP}
	}
	return s
}

func (s ScryptParams) validate() error {
	if s.LogN < 1 || s.LogN > maxScryptLogN || s.R < 1 || s.P < 1 || s.P > maxScryptP ||
		uint64(128)*uint64(s.R)<<s.LogN > maxScryptMemory {
		return fmt.Errorf("%w: N=2^%d r=%d p=%d (at most p=%d and 128·r·N = %d MiB)",
			ErrScryptParams, s.LogN, s.R, s.P, maxScryptP, maxScryptMemory>>20)
	}
	return nil
}

// header is the plaintext part of a wallet file.
type header struct {
	scrypt ScryptParams
	salt   [saltLen]byte
	check  [checkLen]byte
	nonce  [chacha20poly1305.NonceSize]byte
}

func (h *header) marshal() []byte {
	b := make([]byte, headerLen)
	copy(b, fileMagic)
	binary.BigEndian.PutUint16(b[offVersion:], fileVersion)
	b[offKDF] = kdfScrypt
	b[offKDF+1] = h.scrypt.LogN
	binary.BigEndian.PutUint32(b[12:], h.scrypt.R)
	binary.BigEndian.PutUint32(b[16:], h.scrypt.P)
	copy(b[offSalt:], h.salt[:])
	copy(b[offCheck:], h.check[:])
	copy(b[offNonce:], h.nonce[:])
	sum := sha256.Sum256(b[:offHeaderSum])
	copy(b[offHeaderSum:], sum[:headerSumLen])
	return b
}

// parseHeader checks the plaintext header of a wallet file. Everything it
// reports is ErrCorrupt, except a format version above ours.
func parseHeader(b []byte) (*header, error) {
	if len(b) < offVersion+2 || !bytes.Equal(b[:len(fileMagic)], []byte(fileMagic)) {
		return nil, fmt.Errorf("%w: no kloak wallet header", ErrCorrupt)
	}
	switch v := binary.BigEndian.Uint16(b[offVersion:]); {
	case v > fileVersion:
		return nil, fmt.Errorf("%w: format version %d, this kloak reads version %d", ErrUnsupportedVersion, v, fileVersion)
	case v < fileVersion:
		return nil, fmt.Errorf("%w: format version %d", ErrCorrupt, v)
	}
	if len(b) < headerLen+minCipherText {
		return nil, fmt.Errorf("%w: truncated (%d bytes)", ErrCorrupt, len(b))
	}
	sum := sha256.Sum256(b[:offHeaderSum])
	if !bytes.Equal(sum[:headerSumLen], b[offHeaderSum:headerLen]) {
		return nil, fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	if b[offKDF] != kdfScrypt {
		return nil, fmt.Errorf("%w: unknown key derivation %d", ErrCorrupt, b[offKDF])
	}
	h := &header{scrypt: ScryptParams{
		LogN: b[offKDF+1],
		R:    binary.BigEndian.Uint32(b[12:]),
		P:    binary.BigEndian.Uint32(b[16:]),
	}}
	if err := h.scrypt.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	copy(h.salt[:], b[offSalt:])
	copy(h.check[:], b[offCheck:])
	copy(h.nonce[:], b[offNonce:])
	return h, nil
}

// fileKey is the secret derived from the password once per Open or
// Create: the AEAD key, kept for saves, and the password check.
type fileKey struct {
	aead  cipher.AEAD
	key   []byte
	check [checkLen]byte
}

func deriveFileKey(password []byte, salt []byte, s ScryptParams) (*fileKey, error) {
	master, err := scrypt.Key(password, salt, 1<<s.LogN, int(s.R), int(s.P), scryptKeyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScryptParams, err)
	}
	defer clear(master)
	check, err := hkdf.Expand(sha256.New, master, infoCheck, checkLen)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Expand(sha256.New, master, infoKey, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		clear(key)
		return nil, err
	}
	fk := &fileKey{aead: aead, key: key}
	copy(fk.check[:], check)
	return fk, nil
}

// zero wipes the key bytes this package holds. The cipher keeps its own
// expanded copy, which Go gives no way to wipe; dropping the last
// reference to it is all that can be done.
func (k *fileKey) zero() {
	clear(k.key)
	k.aead = nil
}

// seal encrypts plaintext under a fresh random nonce and returns the
// whole file.
func seal(k *fileKey, h header, plaintext []byte) ([]byte, error) {
	if _, err := rand.Read(h.nonce[:]); err != nil {
		return nil, err
	}
	h.check = k.check
	hb := h.marshal()
	return k.aead.Seal(hb, h.nonce[:], plaintext, hb), nil
}

// openFile decrypts a wallet file: ErrUnsupportedVersion, ErrCorrupt or
// ErrWrongPassword, or the plaintext and the key for later saves.
func openFile(data, password []byte) (*header, *fileKey, []byte, error) {
	h, err := parseHeader(data)
	if err != nil {
		return nil, nil, nil, err
	}
	k, err := deriveFileKey(password, h.salt[:], h.scrypt)
	if err != nil {
		return nil, nil, nil, err
	}
	if subtle.ConstantTimeCompare(k.check[:], h.check[:]) != 1 {
		k.zero()
		return nil, nil, nil, ErrWrongPassword
	}
	plain, err := k.aead.Open(nil, h.nonce[:], data[headerLen:], data[:headerLen])
	if err != nil {
		k.zero()
		return nil, nil, nil, fmt.Errorf("%w: the password is right but the encrypted contents are damaged", ErrCorrupt)
	}
	return h, k, plain, nil
}
