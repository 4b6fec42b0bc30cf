package address

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/bech32"
)

// Version is an address version: what the payload is.
type Version byte

// The address versions Kaspa defines.
const (
	PubKey      Version = 0 // Schnorr P2PK: 32-byte x-only public key
	PubKeyECDSA Version = 1 // ECDSA P2PK: 33-byte compressed public key
	ScriptHash  Version = 8 // P2SH: 32-byte BLAKE2b script hash
)

// PayloadLen returns the payload length of version v, or 0 if Kaspa defines
// no such version.
func (v Version) PayloadLen() int {
	switch v {
	case PubKey, ScriptHash:
		return 32
	case PubKeyECDSA:
		return 33
	}
	return 0
}

func (v Version) String() string {
	switch v {
	case PubKey:
		return "Schnorr P2PK"
	case PubKeyECDSA:
		return "ECDSA P2PK"
	case ScriptHash:
		return "P2SH"
	}
	return fmt.Sprintf("version %d", byte(v))
}

// Errors returned by Decode, wrapped with details; test with errors.Is.
var (
	ErrMalformed     = errors.New("malformed Kaspa address")
	ErrChecksum      = errors.New("address checksum mismatch (mistyped or damaged address)")
	ErrUnknownPrefix = errors.New("unknown Kaspa address prefix")
	ErrWrongNetwork  = errors.New("address is for another Kaspa network")
	ErrVersion       = errors.New("unknown Kaspa address version")
	ErrPayloadLength = errors.New("address payload has the wrong length for its version")
)

// Address is a decoded Kaspa address. Use New or Decode to make one.
type Address struct {
	net     Network
	version Version
	payload []byte
}

// New returns the address of payload for network net. The payload length
// must match the version.
func New(net Network, version Version, payload []byte) (Address, error) {
	if net.Prefix() == "" {
		return Address{}, fmt.Errorf("%w: network %v", ErrUnknownPrefix, net)
	}
	if version.PayloadLen() == 0 {
		return Address{}, fmt.Errorf("%w: %d", ErrVersion, byte(version))
	}
	if len(payload) != version.PayloadLen() {
		return Address{}, fmt.Errorf("%w: %v needs %d bytes, got %d", ErrPayloadLength, version, version.PayloadLen(), len(payload))
	}
	return Address{net: net, version: version, payload: bytes.Clone(payload)}, nil
}

// Network returns the address's network.
func (a Address) Network() Network { return a.net }

// Version returns the address's version.
func (a Address) Version() Version { return a.version }

// Payload returns a copy of the public key or script hash.
func (a Address) Payload() []byte { return bytes.Clone(a.payload) }

// IsZero reports whether a is the zero Address.
func (a Address) IsZero() bool { return a.net == 0 }

// Equal reports whether a and b are the same address.
func (a Address) Equal(b Address) bool {
	return a.net == b.net && a.version == b.version && bytes.Equal(a.payload, b.payload)
}

// String encodes the address as "prefix:payload".
func (a Address) String() string {
	if a.IsZero() {
		return ""
	}
	return encode(a.net.Prefix(), append([]byte{byte(a.version)}, a.payload...))
}

// encode writes prefix and the 8-bit data (version byte and payload) in
// Kaspa's address form.
func encode(prefix string, data []byte) string {
	data5, err := bech32.ConvertBits(data, 8, 5, true)
	if err != nil {
		// ConvertBits from 8 to 5 bits with padding cannot fail.
		panic(err)
	}
	sum := checksum(prefix, data5)
	var b strings.Builder
	b.Grow(len(prefix) + 1 + len(data5) + 8)
	b.WriteString(prefix)
	b.WriteByte(':')
	for _, d := range data5 {
		b.WriteByte(charset[d])
	}
	for _, d := range sum {
		b.WriteByte(charset[d])
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Decode parses s and checks that it is an address of network net.
func Decode(s string, net Network) (Address, error) {
	prefix, data, err := decode(s)
	if err != nil {
		return Address{}, err
	}
	// The network is checked first: "this is a testnet address" helps more
	// than any other complaint about it.
	if got, ok := networkOfPrefix(prefix); ok && got != net {
		return Address{}, fmt.Errorf("%w: %q is a %v address, want %v (prefix %q)", ErrWrongNetwork, s, got, net, net.Prefix()+":")
	}
	return fromData(s, prefix, data)
}

// maxAddressLen bounds the work on hostile input; the longest valid address
// (kaspatest, ECDSA) is 75 characters.
const maxAddressLen = 128

// Parse decodes s into an address of whichever network its prefix names.
// Prefer Decode, which also checks the network.
func Parse(s string) (Address, error) {
	prefix, data, err := decode(s)
	if err != nil {
		return Address{}, err
	}
	return fromData(s, prefix, data)
}

func fromData(s, prefix string, data []byte) (Address, error) {
	net, ok := networkOfPrefix(prefix)
	if !ok {
		return Address{}, fmt.Errorf("%w: %q", ErrUnknownPrefix, prefix)
	}
	version := Version(data[0])
	if version.PayloadLen() == 0 {
		return Address{}, fmt.Errorf("%w: %d in %q", ErrVersion, data[0], s)
	}
	if len(data)-1 != version.PayloadLen() {
		return Address{}, fmt.Errorf("%w: %v needs %d bytes, %q has %d", ErrPayloadLength, version, version.PayloadLen(), s, len(data)-1)
	}
	return Address{net: net, version: version, payload: data[1:]}, nil
}

// decode checks the form and checksum of s and returns its prefix and its
// 8-bit data (version byte and payload, at least one byte).
func decode(s string) (prefix string, data []byte, err error) {
	if len(s) > maxAddressLen {
		return "", nil, fmt.Errorf("%w: %d characters is too long", ErrMalformed, len(s))
	}
	lower := strings.ToLower(s)
	if lower != s && strings.ToUpper(s) != s {
		return "", nil, fmt.Errorf("%w: %q mixes upper and lower case", ErrMalformed, s)
	}
	prefix, body, ok := strings.Cut(lower, ":")
	if !ok {
		return "", nil, fmt.Errorf("%w: %q has no prefix (want e.g. \"kaspa:\")", ErrMalformed, s)
	}
	if prefix == "" {
		return "", nil, fmt.Errorf("%w: %q has an empty prefix", ErrUnknownPrefix, s)
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; c < 'a' || c > 'z' {
			return "", nil, fmt.Errorf("%w: %q", ErrUnknownPrefix, prefix)
		}
	}
	if len(body) < 8+2 {
		return "", nil, fmt.Errorf("%w: %q is too short", ErrMalformed, s)
	}
	data5 := make([]byte, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c >= 128 || charsetRev[c] < 0 {
			return "", nil, fmt.Errorf("%w: %q has the character %q, which is not in the address alphabet", ErrMalformed, s, c)
		}
		data5[i] = byte(charsetRev[c])
	}
	if !verifyChecksum(prefix, data5) {
		return "", nil, fmt.Errorf("%w: %q", ErrChecksum, s)
	}
	data, err = bech32.ConvertBits(data5[:len(data5)-8], 5, 8, false)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %q: %v", ErrMalformed, s, err)
	}
	if len(data) == 0 {
		return "", nil, fmt.Errorf("%w: %q has an empty payload", ErrMalformed, s)
	}
	return prefix, data, nil
}
