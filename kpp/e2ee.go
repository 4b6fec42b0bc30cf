package kpp

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// The end-to-end envelope (kloak-v1-python.md §2): ChaCha20-Poly1305 with
// the 32-byte key of the payment request, a random 12-byte nonce and no
// additional data; on the wire the standard base64 (with padding) of
// nonce || ciphertext || tag, in a text frame. Both directions use the same
// key, so the envelope alone does not stop a relay from replaying or
// reflecting a message: each party accepts only the one message type its
// state expects next, which turns a replay or reflection into a refusal.

// Key is a session's end-to-end key. The receiver makes it; it travels
// only in the payment request.
type Key [32]byte

// NewKey returns a fresh random key.
func NewKey() (Key, error) {
	var k Key
	_, err := io.ReadFull(rand.Reader, k[:])
	return k, err
}

// SessionID returns hex(sha256(k)), the id the relay pairs the two wallets by.
func (k Key) SessionID() string { return SessionID(k) }

// MaxEnvelope bounds the base64 text Open accepts; a KPP message is a few
// kilobytes.
const MaxEnvelope = 64 << 10

// ErrEnvelope is returned for a message that is not a valid envelope
// under the session key: damaged, forged, or from another session.
var ErrEnvelope = errors.New("kpp: message is not sealed with this session's key (damaged, forged or from another session)")

// Seal encrypts plaintext under k with a fresh nonce from random (nil means
// crypto/rand) and returns the wire text.
func Seal(k Key, plaintext []byte, random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	aead, err := chacha20poly1305.New(k[:])
	if err != nil {
		return "", err
	}
	buf := make([]byte, chacha20poly1305.NonceSize, chacha20poly1305.NonceSize+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(random, buf); err != nil {
		return "", fmt.Errorf("kpp: nonce: %w", err)
	}
	buf = aead.Seal(buf, buf[:chacha20poly1305.NonceSize], plaintext, nil)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// Open decrypts wire text sealed under k.
func Open(k Key, wire string) ([]byte, error) {
	if len(wire) > MaxEnvelope {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrEnvelope, len(wire), MaxEnvelope)
	}
	raw, err := base64.StdEncoding.DecodeString(wire)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %v", ErrEnvelope, err)
	}
	aead, err := chacha20poly1305.New(k[:])
	if err != nil {
		return nil, err
	}
	if len(raw) < chacha20poly1305.NonceSize+aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrEnvelope, len(raw))
	}
	pt, err := aead.Open(nil, raw[:chacha20poly1305.NonceSize], raw[chacha20poly1305.NonceSize:], nil)
	if err != nil {
		return nil, ErrEnvelope
	}
	return pt, nil
}
