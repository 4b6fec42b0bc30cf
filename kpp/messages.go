package kpp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// The encrypted messages between the wallets (kloak-v1-python.md §1.4).
// Offers carry no "type"; each party knows from its state which message
// comes next and decodes strictly, so a replayed, reflected or malformed
// message is refused rather than misread.

// Types of the typed messages.
const (
	MsgTransaction       = "transaction"
	MsgReceiverSignature = "receiver_signature"
	MsgBroadcastSuccess  = "broadcast_success"
	MsgBroadcastError    = "broadcast_error"
	msgLegacyError       = "error"
)

// ErrUnexpectedMessage is returned when the peer (or the relay) sends
// something other than the one message the protocol expects next.
var ErrUnexpectedMessage = errors.New("kpp: unexpected message")

// ReceiverOffer is the receiver's encrypted blob, stored by the relay
// until a sender comes: the UTXO it contributes, its two output addresses
// and the amount it asks for.
type ReceiverOffer struct {
	UTXO     txbuild.UTXO
	Address1 address.Address
	Address2 address.Address
	Amount   amount.Sompi
}

// SenderData is the sender's first message: its UTXO, change address and
// the amount it pays.
type SenderData struct {
	UTXO          txbuild.UTXO
	ChangeAddress address.Address
	Amount        amount.Sompi
}

// TransactionMessage is the sender's proposal.
type TransactionMessage struct {
	Tx               *txbuild.Transaction
	YourInputIndex   int // the receiver's input
	SenderInputIndex int
}

// kaspy's MessageToDict form of a getUtxosByAddresses entry: uint64 fields as
// strings, fields with default values left out.
type utxoJSON struct {
	Address  string `json:"address"`
	Outpoint *struct {
		TransactionID string   `json:"transactionId"`
		Index         flexUint `json:"index"`
	} `json:"outpoint"`
	UTXOEntry *struct {
		Amount          flexUint `json:"amount"`
		ScriptPublicKey *struct {
			Version         flexUint `json:"version"`
			ScriptPublicKey string   `json:"scriptPublicKey"`
			Script          string   `json:"script"`
		} `json:"scriptPublicKey"`
		BlockDAAScore flexUint `json:"blockDaaScore"`
		IsCoinbase    bool     `json:"isCoinbase"`
	} `json:"utxoEntry"`
}

// flexUint reads a JSON number or decimal string.
type flexUint uint64

func (f *flexUint) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want an unsigned integer, got %s", b)
	}
	*f = flexUint(v)
	return nil
}

func encodeUTXO(u txbuild.UTXO) map[string]any {
	return map[string]any{
		"address":  u.Address.String(),
		"outpoint": map[string]any{"transactionId": u.Outpoint.TransactionID.String(), "index": u.Outpoint.Index},
		"utxoEntry": map[string]any{
			"amount":          strconv.FormatUint(uint64(u.Entry.Amount), 10),
			"scriptPublicKey": map[string]any{"version": u.Entry.ScriptPublicKey.Version, "scriptPublicKey": hex.EncodeToString(u.Entry.ScriptPublicKey.Script)},
			"blockDaaScore":   strconv.FormatUint(u.Entry.BlockDAAScore, 10),
			"isCoinbase":      u.Entry.IsCoinbase,
		},
	}
}

func decodeUTXO(raw json.RawMessage, net address.Network) (txbuild.UTXO, error) {
	var j utxoJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return txbuild.UTXO{}, fmt.Errorf("utxo: %w", err)
	}
	if j.Outpoint == nil || j.UTXOEntry == nil || j.UTXOEntry.ScriptPublicKey == nil {
		return txbuild.UTXO{}, errors.New("utxo: want address, outpoint and utxoEntry with scriptPublicKey")
	}
	a, err := address.Decode(j.Address, net)
	if err != nil {
		return txbuild.UTXO{}, fmt.Errorf("utxo address: %w", err)
	}
	id, err := txbuild.ParseHash(j.Outpoint.TransactionID)
	if err != nil {
		return txbuild.UTXO{}, fmt.Errorf("utxo outpoint: %w", err)
	}
	if j.Outpoint.Index > 0xffffffff || j.UTXOEntry.ScriptPublicKey.Version > 0xffff {
		return txbuild.UTXO{}, errors.New("utxo: index or script version out of range")
	}
	scriptHex := j.UTXOEntry.ScriptPublicKey.ScriptPublicKey
	if scriptHex == "" {
		scriptHex = j.UTXOEntry.ScriptPublicKey.Script
	}
	script, err := hex.DecodeString(scriptHex)
	if err != nil || len(script) == 0 {
		return txbuild.UTXO{}, fmt.Errorf("utxo script: bad or empty hex")
	}
	amt := amount.Sompi(j.UTXOEntry.Amount)
	if amt == 0 || amt > amount.MaxSompi {
		return txbuild.UTXO{}, fmt.Errorf("utxo amount %d sompi is out of range", amt)
	}
	return txbuild.UTXO{
		Address:  a,
		Outpoint: txbuild.Outpoint{TransactionID: id, Index: uint32(j.Outpoint.Index)},
		Entry: txbuild.UTXOEntry{
			Amount:          amt,
			ScriptPublicKey: address.ScriptPublicKey{Version: uint16(j.UTXOEntry.ScriptPublicKey.Version), Script: script},
			BlockDAAScore:   uint64(j.UTXOEntry.BlockDAAScore),
			IsCoinbase:      j.UTXOEntry.IsCoinbase,
		},
	}, nil
}

// kasNumber is an amount written as a JSON number of KAS, exactly.
func kasNumber(a amount.Sompi) json.RawMessage { return json.RawMessage(a.KAS()) }

func decodeKAS(raw json.RawMessage) (amount.Sompi, error) {
	if len(raw) == 0 {
		return 0, errors.New("amount missing")
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("amount is not a JSON number: %s", raw)
	}
	return amount.ParseKASNumber(n.String())
}

func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only maps, strings and numbers are marshalled
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// strictObject decodes plaintext into a map of fields and checks that it
// has exactly the given fields.
func strictObject(plaintext []byte, fields ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(plaintext, &m); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrUnexpectedMessage)
	}
	if len(m) != len(fields) {
		return nil, fmt.Errorf("%w: want fields %v", ErrUnexpectedMessage, fields)
	}
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			return nil, fmt.Errorf("%w: no %q field (want %v)", ErrUnexpectedMessage, f, fields)
		}
	}
	return m, nil
}

// Marshal returns the offer's JSON.
func (o ReceiverOffer) Marshal() []byte {
	return marshal(map[string]any{"utxo": encodeUTXO(o.UTXO), "address_1": o.Address1.String(), "address_2": o.Address2.String(), "amount": kasNumber(o.Amount)})
}

// DecodeReceiverOffer decodes a receiver's offer for network net.
func DecodeReceiverOffer(plaintext []byte, net address.Network) (ReceiverOffer, error) {
	m, err := strictObject(plaintext, "utxo", "address_1", "address_2", "amount")
	if err != nil {
		return ReceiverOffer{}, fmt.Errorf("receiver offer: %w", err)
	}
	var o ReceiverOffer
	if o.UTXO, err = decodeUTXO(m["utxo"], net); err != nil {
		return ReceiverOffer{}, fmt.Errorf("%w: receiver offer: %w", ErrUnexpectedMessage, err)
	}
	if o.Address1, err = decodeAddress(m["address_1"], net); err != nil {
		return ReceiverOffer{}, fmt.Errorf("%w: receiver offer: address_1: %w", ErrUnexpectedMessage, err)
	}
	if o.Address2, err = decodeAddress(m["address_2"], net); err != nil {
		return ReceiverOffer{}, fmt.Errorf("%w: receiver offer: address_2: %w", ErrUnexpectedMessage, err)
	}
	if o.Amount, err = decodeKAS(m["amount"]); err != nil {
		return ReceiverOffer{}, fmt.Errorf("%w: receiver offer: %w", ErrUnexpectedMessage, err)
	}
	return o, nil
}

func decodeAddress(raw json.RawMessage, net address.Network) (address.Address, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return address.Address{}, errors.New("not a string")
	}
	return address.Decode(s, net)
}

// Marshal returns the sender data's JSON.
func (d SenderData) Marshal() []byte {
	return marshal(map[string]any{"utxo": encodeUTXO(d.UTXO), "change_address": d.ChangeAddress.String(), "amount": kasNumber(d.Amount)})
}

// DecodeSenderData decodes a sender's first message for network net.
func DecodeSenderData(plaintext []byte, net address.Network) (SenderData, error) {
	m, err := strictObject(plaintext, "utxo", "change_address", "amount")
	if err != nil {
		return SenderData{}, fmt.Errorf("sender data: %w", err)
	}
	var d SenderData
	if d.UTXO, err = decodeUTXO(m["utxo"], net); err != nil {
		return SenderData{}, fmt.Errorf("%w: sender data: %w", ErrUnexpectedMessage, err)
	}
	if d.ChangeAddress, err = decodeAddress(m["change_address"], net); err != nil {
		return SenderData{}, fmt.Errorf("%w: sender data: change_address: %w", ErrUnexpectedMessage, err)
	}
	if d.Amount, err = decodeKAS(m["amount"]); err != nil {
		return SenderData{}, fmt.Errorf("%w: sender data: %w", ErrUnexpectedMessage, err)
	}
	return d, nil
}

// Marshal returns the proposal's JSON.
func (t TransactionMessage) Marshal() []byte {
	tx, _ := json.Marshal(t.Tx)
	return marshal(map[string]any{"type": MsgTransaction, "tx": json.RawMessage(tx), "your_input_index": t.YourInputIndex, "sender_input_index": t.SenderInputIndex})
}

// DecodeTransactionMessage decodes a sender's proposal.
func DecodeTransactionMessage(plaintext []byte) (TransactionMessage, error) {
	m, err := typed(plaintext, MsgTransaction, "tx", "your_input_index", "sender_input_index")
	if err != nil {
		return TransactionMessage{}, err
	}
	var t TransactionMessage
	if err := json.Unmarshal(m["tx"], &t.Tx); err != nil || t.Tx == nil {
		return TransactionMessage{}, fmt.Errorf("%w: transaction: %v", ErrUnexpectedMessage, err)
	}
	if err := json.Unmarshal(m["your_input_index"], &t.YourInputIndex); err != nil {
		return TransactionMessage{}, fmt.Errorf("%w: your_input_index: %v", ErrUnexpectedMessage, err)
	}
	if err := json.Unmarshal(m["sender_input_index"], &t.SenderInputIndex); err != nil {
		return TransactionMessage{}, fmt.Errorf("%w: sender_input_index: %v", ErrUnexpectedMessage, err)
	}
	return t, nil
}

// typed checks the message's type and its exact set of other fields. A
// broadcast_error or legacy error from the peer becomes a *PeerError.
func typed(plaintext []byte, want string, fields ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(plaintext, &m); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object (want %q)", ErrUnexpectedMessage, want)
	}
	var typ string
	_ = json.Unmarshal(m["type"], &typ)
	if typ != want {
		if pe := peerError(typ, m); pe != nil {
			return nil, pe
		}
		return nil, fmt.Errorf("%w: got type %q, want %q", ErrUnexpectedMessage, typ, want)
	}
	if len(m) != len(fields)+1 {
		return nil, fmt.Errorf("%w: %q wants fields %v", ErrUnexpectedMessage, want, fields)
	}
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			return nil, fmt.Errorf("%w: %q without %q", ErrUnexpectedMessage, want, f)
		}
	}
	return m, nil
}

// peerErrorIn returns the *PeerError plaintext carries if it is a
// broadcast_error (or the original's legacy error), else nil.
func peerErrorIn(plaintext []byte) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(plaintext, &m) != nil {
		return nil
	}
	var typ string
	_ = json.Unmarshal(m["type"], &typ)
	return peerError(typ, m)
}

// PeerError is the other wallet's refusal: a broadcast_error, or the
// original's legacy error message.
type PeerError struct{ Message string }

func (e *PeerError) Error() string { return "kpp: the other wallet gave up: " + e.Message }

func peerError(typ string, m map[string]json.RawMessage) error {
	var msg string
	switch typ {
	case MsgBroadcastError:
		_ = json.Unmarshal(m["error"], &msg)
	case msgLegacyError:
		_ = json.Unmarshal(m["message"], &msg)
	default:
		return nil
	}
	return &PeerError{Message: peerText(msg)}
}

// maxPeerText bounds the text kpp keeps from a peer's or a relay's error
// message.
const maxPeerText = 500

// peerText makes text that a peer or a relay chose fit to show a person:
// control characters (a terminal escape sequence, a newline that forges a
// log line) become U+FFFD, and the result is cut to maxPeerText bytes at a
// character boundary, so it stays valid UTF-8.
func peerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	if len(s) <= maxPeerText {
		return s
	}
	n := maxPeerText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func receiverSignatureMessage(tx *txbuild.Transaction) []byte {
	b, _ := json.Marshal(tx)
	return marshal(map[string]any{"type": MsgReceiverSignature, "tx": json.RawMessage(b)})
}

func decodeReceiverSignature(plaintext []byte) (*txbuild.Transaction, error) {
	m, err := typed(plaintext, MsgReceiverSignature, "tx")
	if err != nil {
		return nil, err
	}
	var tx *txbuild.Transaction
	if err := json.Unmarshal(m["tx"], &tx); err != nil || tx == nil {
		return nil, fmt.Errorf("%w: receiver_signature transaction: %v", ErrUnexpectedMessage, err)
	}
	return tx, nil
}

func broadcastSuccessMessage(id txbuild.Hash) []byte {
	return marshal(map[string]any{"type": MsgBroadcastSuccess, "transaction_id": id.String()})
}

func broadcastErrorMessage(reason string) []byte {
	return marshal(map[string]any{"type": MsgBroadcastError, "error": reason})
}

func decodeBroadcastSuccess(plaintext []byte) (txbuild.Hash, error) {
	m, err := typed(plaintext, MsgBroadcastSuccess, "transaction_id")
	if err != nil {
		return txbuild.Hash{}, err
	}
	var s string
	if err := json.Unmarshal(m["transaction_id"], &s); err != nil {
		return txbuild.Hash{}, fmt.Errorf("%w: transaction_id", ErrUnexpectedMessage)
	}
	id, err := txbuild.ParseHash(s)
	if err != nil {
		return txbuild.Hash{}, fmt.Errorf("%w: transaction_id: %v", ErrUnexpectedMessage, err)
	}
	return id, nil
}

func decodeJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
