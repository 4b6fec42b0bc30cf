package kpp

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
)

// The plaintext messages between a wallet and a relay node. Their shapes
// and texts are the Python original's (kloak-v1-python.md §1.3), so that
// its wallets and nodes work with kloak's.

// Roles in the handshake.
const (
	RoleReceiver = "receiver"
	RoleSender   = "sender"
)

// Handshake is a wallet's first message to the relay.
type Handshake struct {
	Role      string `json:"role"`
	SessionID string `json:"session_id"`
}

// SessionID is the pairing id of a session: hex(sha256(e2ee key)), 64
// lowercase hex characters. The relay sees it; it cannot derive the key.
func SessionID(key [32]byte) string {
	h := sha256.Sum256(key[:])
	return hex.EncodeToString(h[:])
}

// ErrBadSessionID is returned for a session id that is not 64 hex characters.
var ErrBadSessionID = errors.New("session_id must be 64 hexadecimal characters")

// NormalizeSessionID checks that s is 64 hex characters and returns it in
// lower case.
func NormalizeSessionID(s string) (string, error) {
	if len(s) != 64 {
		return "", fmt.Errorf("%w (got %d characters)", ErrBadSessionID, len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", ErrBadSessionID
	}
	return strings.ToLower(s), nil
}

// ParseHandshake decodes a wallet's first message. It returns the role
// and the normalized session id, or an error whose RelayError the relay
// can send back.
func ParseHandshake(b []byte) (Handshake, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Handshake{}, &RelayError{Code: "Invalid handshake", Message: "The first message must be a JSON object with role and session_id."}
	}
	var h Handshake
	if v, ok := raw["session_id"]; ok && string(v) != "null" && string(v) != `""` {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return Handshake{}, &RelayError{Code: "Invalid session_id", Message: ErrBadSessionID.Error()}
		}
		id, err := NormalizeSessionID(s)
		if err != nil {
			return Handshake{}, &RelayError{Code: "Invalid session_id", Message: err.Error()}
		}
		h.SessionID = id
	} else {
		return Handshake{}, &RelayError{Code: ErrTextMissingSessionID}
	}
	if v, ok := raw["role"]; ok {
		_ = json.Unmarshal(v, &h.Role)
	}
	if h.Role != RoleReceiver && h.Role != RoleSender {
		return Handshake{}, &RelayError{Code: "Invalid role", Message: `role must be "receiver" or "sender"`}
	}
	return h, nil
}

// Error texts of the Python relay, which its wallets match on.
const (
	ErrTextMissingSessionID = "Missing session_id"
	ErrTextCollision        = "Session collision"
	ErrTextCollisionMessage = "Please regenerate QR code and try again"
	ErrTextNoReceiver       = "No matching receiver waiting"
	ErrTextNoReceiverMsg    = "The receiver may have disconnected or the QR code is invalid. Please ask the receiver to reconnect and try again."
)

// RelayError is a relay's plaintext error message {"error":..,"message":..}.
type RelayError struct {
	Code    string `json:"error"`
	Message string `json:"message,omitempty"`
}

func (e *RelayError) Error() string {
	if e.Message == "" {
		return "relay: " + e.Code
	}
	return "relay: " + e.Code + ": " + e.Message
}

// Marshal returns the JSON the relay sends.
func (e *RelayError) Marshal() []byte {
	b, _ := json.Marshal(e)
	return b
}

// FeePolicy is a relay node's fee rule. Without Max (a Python node, or a
// kloak node configured so), the fee output F for a payment P is
// ceil((P + Min) / Unit) × Unit − P, so the sender's debit P + F is a round
// figure and F is at least Min: the first rule, which ties F to P and lets
// an observer read P (PRIVACY.md). With Max, the sender draws F uniformly
// from [Min, Max], whatever P is. Defaults: Unit 0.1 KAS, Min 0.2 KAS, no
// Max; kloak nodes announce DefaultNodeFeePolicy.
type FeePolicy struct {
	Min  amount.Sompi
	Unit amount.Sompi
	Max  amount.Sompi
}

// DefaultFeePolicy is what a node that announces nothing (a Python node)
// charges.
var DefaultFeePolicy = FeePolicy{Min: 20_000_000, Unit: 10_000_000}

// DefaultNodeFeePolicy is what a kloak node announces unless configured
// otherwise: F drawn from 0.2–0.3 KAS whatever the payment, the same mean
// as DefaultFeePolicy's rule.
var DefaultNodeFeePolicy = FeePolicy{Min: 20_000_000, Unit: 10_000_000, Max: 30_000_000}

// Fee returns the node fee for payment p under the tied rule (Max is not
// consulted; NodeFee draws the fee a sender pays).
func (f FeePolicy) Fee(p amount.Sompi) (amount.Sompi, error) {
	if f.Unit == 0 {
		return 0, errors.New("fee policy: fee_unit is 0")
	}
	total, err := amount.Add(p, f.Min)
	if err != nil {
		return 0, err
	}
	rounded := (total + f.Unit - 1) / f.Unit * f.Unit
	if rounded < total || rounded > amount.MaxSompi {
		return 0, fmt.Errorf("fee policy: %d + %d rounded up overflows", p, f.Min)
	}
	return rounded - p, nil
}

// Check reports a policy no sender can follow.
func (f FeePolicy) Check() error {
	switch {
	case f.Unit == 0:
		return errors.New("fee policy: fee_unit is 0")
	case f.Min > amount.MaxSompi || f.Unit > amount.MaxSompi || f.Max > amount.MaxSompi:
		return fmt.Errorf("fee policy: fee_min %d, fee_unit %d or fee_max %d sompi is above the maximum supply", f.Min, f.Unit, f.Max)
	case f.Max != 0 && f.Max < f.Min:
		return fmt.Errorf("fee policy: fee_max %d is under fee_min %d", f.Max, f.Min)
	case f.Max != 0 && f.Min == 0:
		return errors.New("fee policy: fee_max needs a fee_min above 0 (an output of 0 sompi is invalid)")
	}
	return nil
}

// NodeFee returns the fee a sender pays for payment p: Fee(p) without
// Max, else an amount drawn uniformly from [Min, Max] with random (nil:
// crypto/rand).
func (f FeePolicy) NodeFee(p amount.Sompi, random io.Reader) (amount.Sompi, error) {
	if err := f.Check(); err != nil {
		return 0, err
	}
	if f.Max == 0 {
		return f.Fee(p)
	}
	if random == nil {
		random = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return 0, fmt.Errorf("fee policy: randomness: %w", err)
	}
	span := uint64(f.Max-f.Min) + 1
	return f.Min + amount.Sompi(binary.LittleEndian.Uint64(b[:])%span), nil
}

// Rule is the policy as an observer who knows it reads a payjoin
// (analysis.Rules' Fee).
func (f FeePolicy) Rule() analysis.FeeRule {
	if f.Max != 0 {
		return analysis.FeeRule{Kind: analysis.FeeRange, Min: f.Min, Unit: f.Unit, Max: f.Max}
	}
	return analysis.FeeRule{Kind: analysis.FeeTied, Min: f.Min, Unit: f.Unit}
}

// FeeAddress is the relay's message to a sender: where the node fee goes,
// and, from kloak nodes, the fee policy in integer sompi (fee_max only
// where the node lets the sender pay any fee from fee_min to it).
type FeeAddress struct {
	Type    string        `json:"type"` // "dust_address"
	Address string        `json:"address"`
	FeeMin  *amount.Sompi `json:"fee_min,omitempty"`
	FeeUnit *amount.Sompi `json:"fee_unit,omitempty"`
	// FeeMax, from kloak nodes that free F from P: the sender draws F
	// from [fee_min, fee_max].
	FeeMax *amount.Sompi `json:"fee_max,omitempty"`
}

// MsgFeeAddress is the type of FeeAddress, named after the original's
// "dust" output.
const MsgFeeAddress = "dust_address"

// NewFeeAddress returns the message announcing addr and policy p.
func NewFeeAddress(addr string, p FeePolicy) FeeAddress {
	m := FeeAddress{Type: MsgFeeAddress, Address: addr, FeeMin: &p.Min, FeeUnit: &p.Unit}
	if p.Max != 0 {
		m.FeeMax = &p.Max
	}
	return m
}

// Policy returns the announced policy, or DefaultFeePolicy where the
// fields are absent.
func (m FeeAddress) Policy() FeePolicy {
	p := DefaultFeePolicy
	if m.FeeMin != nil {
		p.Min = *m.FeeMin
	}
	if m.FeeUnit != nil {
		p.Unit = *m.FeeUnit
	}
	if m.FeeMax != nil {
		p.Max = *m.FeeMax
	}
	return p
}

// Marshal returns the JSON the relay sends.
func (m FeeAddress) Marshal() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m)
	return bytes.TrimRight(b.Bytes(), "\n")
}
