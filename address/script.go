package address

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Script opcodes of the standard script public keys.
const (
	opData32    = 0x20
	opData33    = 0x21
	opCheckSig  = 0xac
	opCheckSigE = 0xab // OP_CHECKSIGECDSA
	opBlake2b   = 0xaa
	opEqual     = 0x87
)

// ScriptPublicKey is the locking script of a transaction output with its
// script version.
type ScriptPublicKey struct {
	Version uint16
	Script  []byte
}

// ErrNonStandardScript is returned when a script public key is not one of
// the three standard forms that have an address.
var ErrNonStandardScript = errors.New("script public key has no address (not a standard P2PK or P2SH script)")

// ScriptPublicKey returns the standard script that pays to a.
func (a Address) ScriptPublicKey() ScriptPublicKey {
	var s []byte
	switch a.version {
	case PubKey:
		s = append(append([]byte{opData32}, a.payload...), opCheckSig)
	case PubKeyECDSA:
		s = append(append([]byte{opData33}, a.payload...), opCheckSigE)
	case ScriptHash:
		s = append(append([]byte{opBlake2b, opData32}, a.payload...), opEqual)
	default:
		return ScriptPublicKey{}
	}
	return ScriptPublicKey{Version: 0, Script: s}
}

// FromScriptPublicKey returns the address that spk pays to on network net.
func FromScriptPublicKey(spk ScriptPublicKey, net Network) (Address, error) {
	s := spk.Script
	if spk.Version != 0 {
		return Address{}, fmt.Errorf("%w: script version %d", ErrNonStandardScript, spk.Version)
	}
	switch {
	case len(s) == 34 && s[0] == opData32 && s[33] == opCheckSig:
		return New(net, PubKey, s[1:33])
	case len(s) == 35 && s[0] == opData33 && s[34] == opCheckSigE:
		return New(net, PubKeyECDSA, s[1:34])
	case len(s) == 35 && s[0] == opBlake2b && s[1] == opData32 && s[34] == opEqual:
		return New(net, ScriptHash, s[2:34])
	}
	return Address{}, fmt.Errorf("%w: %x", ErrNonStandardScript, s)
}

// Equal reports whether two script public keys are identical.
func (s ScriptPublicKey) Equal(o ScriptPublicKey) bool {
	return s.Version == o.Version && bytes.Equal(s.Script, o.Script)
}

// String returns the script as hex.
func (s ScriptPublicKey) String() string { return hex.EncodeToString(s.Script) }

type scriptPublicKeyJSON struct {
	Version         *uint16 `json:"version"`
	ScriptPublicKey *string `json:"scriptPublicKey"`
}

// MarshalJSON writes the kaspad RPC form {"version":0,"scriptPublicKey":"<hex>"}.
func (s ScriptPublicKey) MarshalJSON() ([]byte, error) {
	h := hex.EncodeToString(s.Script)
	v := s.Version
	return json.Marshal(scriptPublicKeyJSON{Version: &v, ScriptPublicKey: &h})
}

// UnmarshalJSON reads the kaspad RPC form strictly: both fields are
// required, no others are allowed and the script must be valid hex.
func (s *ScriptPublicKey) UnmarshalJSON(b []byte) error {
	var j scriptPublicKeyJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("scriptPublicKey: %w", err)
	}
	if j.Version == nil || j.ScriptPublicKey == nil {
		return errors.New(`scriptPublicKey: want both "version" and "scriptPublicKey"`)
	}
	script, err := hex.DecodeString(*j.ScriptPublicKey)
	if err != nil {
		return fmt.Errorf("scriptPublicKey: bad hex: %w", err)
	}
	*s = ScriptPublicKey{Version: *j.Version, Script: script}
	return nil
}
