package txbuild

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/blake2b"
)

// Hash is a 32-byte Kaspa hash (transaction id, transaction hash, signature
// hash). Its text form is hex in natural byte order, as kaspad and
// rusty-kaspa print it.
type Hash [32]byte

// String returns h as hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it wants exactly 64
// hex characters.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ParseHash parses 64 hex characters.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("hash must be 64 hex characters, got %d", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash: bad hex: %w", err)
	}
	return h, nil
}

// Domain keys of the keyed BLAKE2b-256 hashers (rusty-kaspa
// crypto/hashes/src/hashers.rs).
var (
	keyTransactionID          = []byte("TransactionID")
	keyTransactionHash        = []byte("TransactionHash")
	keyTransactionSigningHash = []byte("TransactionSigningHash")
	// The ECDSA signature hash is SHA-256 over SHA-256("TransactionSigningHashECDSA")
	// followed by the Schnorr signature hash.
	ecdsaDomain = sha256.Sum256([]byte("TransactionSigningHashECDSA"))
)

// writer serialises the little-endian fields that Kaspa hashes.
type writer struct {
	h   hash.Hash
	buf [8]byte
}

func newBlake2b(key []byte) *writer {
	h, err := blake2b.New256(key)
	if err != nil {
		// Only a key over 64 bytes fails, and ours are constants.
		panic(err)
	}
	return &writer{h: h}
}

func (w *writer) bytes(b []byte) *writer { w.h.Write(b); return w }
func (w *writer) u8(v uint8) *writer     { w.buf[0] = v; w.h.Write(w.buf[:1]); return w }
func (w *writer) u16(v uint16) *writer {
	binary.LittleEndian.PutUint16(w.buf[:2], v)
	w.h.Write(w.buf[:2])
	return w
}
func (w *writer) u32(v uint32) *writer {
	binary.LittleEndian.PutUint32(w.buf[:4], v)
	w.h.Write(w.buf[:4])
	return w
}
func (w *writer) u64(v uint64) *writer {
	binary.LittleEndian.PutUint64(w.buf[:8], v)
	w.h.Write(w.buf[:8])
	return w
}
func (w *writer) varBytes(b []byte) *writer { return w.u64(uint64(len(b))).bytes(b) }

func (w *writer) sum() Hash {
	var out Hash
	w.h.Sum(out[:0])
	return out
}

var errInputIndex = errors.New("input index out of range")
