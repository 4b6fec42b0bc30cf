package txbuild

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
)

// The JSON forms are kaspad's RPC messages (RpcTransaction, RpcUtxoEntry) as
// protojson writes them: camelCase names, hex strings for byte fields.
// Integers are read from JSON numbers or from decimal strings (protojson
// writes 64-bit integers as strings) and written as numbers, the form the
// Python original and kaspad both read. Decoding is strict: an unknown
// field, a missing field, bad hex or an out-of-range integer is an error
// that names the field. "verboseData" (which the node adds) is accepted
// and ignored.

// jsonUint reads a JSON number or decimal string as an unsigned integer.
// A value that is not one is kept and reported with its field's path by
// fieldErr.uint.
type jsonUint struct {
	v   uint64
	set bool
	bad string
}

func (u *jsonUint) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		u.bad = string(b)
		if len(u.bad) > 40 {
			u.bad = u.bad[:40] + "…"
		}
		return nil
	}
	u.v, u.set = v, true
	return nil
}

type txJSON struct {
	Version      *jsonUint       `json:"version"`
	Inputs       *[]inputJSON    `json:"inputs"`
	Outputs      *[]outputJSON   `json:"outputs"`
	LockTime     *jsonUint       `json:"lockTime"`
	SubnetworkID *string         `json:"subnetworkId"`
	Gas          *jsonUint       `json:"gas"`
	Payload      *string         `json:"payload"`
	Mass         *jsonUint       `json:"mass,omitempty"`
	VerboseData  json.RawMessage `json:"verboseData,omitempty"`
}

type outpointJSON struct {
	TransactionID *string   `json:"transactionId"`
	Index         *jsonUint `json:"index"`
}

type inputJSON struct {
	PreviousOutpoint *outpointJSON   `json:"previousOutpoint"`
	SignatureScript  *string         `json:"signatureScript"`
	Sequence         *jsonUint       `json:"sequence"`
	SigOpCount       *jsonUint       `json:"sigOpCount"`
	VerboseData      json.RawMessage `json:"verboseData,omitempty"`
}

type outputJSON struct {
	Amount          *jsonUint                `json:"amount"`
	ScriptPublicKey *address.ScriptPublicKey `json:"scriptPublicKey"`
	VerboseData     json.RawMessage          `json:"verboseData,omitempty"`
}

type utxoJSON struct {
	Amount          *jsonUint                `json:"amount"`
	ScriptPublicKey *address.ScriptPublicKey `json:"scriptPublicKey"`
	BlockDAAScore   *jsonUint                `json:"blockDaaScore"`
	IsCoinbase      *bool                    `json:"isCoinbase"`
}

// fieldErr collects the first decoding problem with its JSON path.
type fieldErr struct{ err error }

func (f *fieldErr) fail(path, format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
	}
}

func (f *fieldErr) uint(path string, u *jsonUint, bits int) uint64 {
	if u != nil && u.bad != "" {
		f.fail(path, "want an unsigned integer, got %s", u.bad)
		return 0
	}
	if u == nil || !u.set {
		f.fail(path, "missing")
		return 0
	}
	if bits < 64 && u.v>>bits != 0 {
		f.fail(path, "%d does not fit in %d bits", u.v, bits)
	}
	return u.v
}

func (f *fieldErr) hex(path string, s *string, want int) []byte {
	if s == nil {
		f.fail(path, "missing")
		return nil
	}
	b, err := hex.DecodeString(*s)
	if err != nil {
		f.fail(path, "bad hex: %v", err)
		return nil
	}
	if want >= 0 && len(b) != want {
		f.fail(path, "want %d bytes, got %d", want, len(b))
	}
	return b
}

func (f *fieldErr) sompi(path string, u *jsonUint) amount.Sompi {
	v := f.uint(path, u, 64)
	if amount.Sompi(v) > amount.MaxSompi {
		f.fail(path, "%d sompi is above the maximum supply", v)
	}
	return amount.Sompi(v)
}

func (f *fieldErr) spk(path string, s *address.ScriptPublicKey) address.ScriptPublicKey {
	if s == nil {
		f.fail(path, "missing")
		return address.ScriptPublicKey{}
	}
	return *s
}

// knownKeys are the exact names of the fields of kaspad's RPC transaction
// and UTXO entry. encoding/json matches names without regard to case and
// lets a repeated key win over an earlier one; checkKeys refuses both.
var knownKeys = map[string]bool{
	"version": true, "inputs": true, "outputs": true, "lockTime": true, "subnetworkId": true, "gas": true,
	"payload": true, "mass": true, "verboseData": true, "previousOutpoint": true, "transactionId": true,
	"index": true, "signatureScript": true, "sequence": true, "sigOpCount": true, "amount": true,
	"scriptPublicKey": true, "blockDaaScore": true, "isCoinbase": true,
}

// checkKeys walks the JSON value and refuses a key that is not spelled
// exactly as a known field, and a key given twice in one object. The
// contents of "verboseData", which the node adds and kloak ignores, are not
// checked.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var walk func(depth int) error
	walk = func(depth int) error {
		if depth > 32 {
			return errors.New("nested too deeply")
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if seen[strings.ToLower(k)] {
					return fmt.Errorf("key %q given twice", k)
				}
				seen[strings.ToLower(k)] = true
				if k == "verboseData" {
					var skip json.RawMessage
					if err := dec.Decode(&skip); err != nil {
						return err
					}
					continue
				}
				if !knownKeys[k] {
					return fmt.Errorf("unknown field %q", k)
				}
				if err := walk(depth + 1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(depth + 1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return walk(0)
}

func decodeStrict(b []byte, v any) error {
	if err := checkKeys(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// UnmarshalJSON decodes kaspad's RpcTransaction JSON strictly.
func (tx *Transaction) UnmarshalJSON(b []byte) error {
	var j txJSON
	if err := decodeStrict(b, &j); err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	var f fieldErr
	var t Transaction
	t.Version = uint16(f.uint("version", j.Version, 16))
	if j.Inputs == nil {
		f.fail("inputs", "missing")
	} else {
		t.Inputs = make([]Input, len(*j.Inputs))
		for i, in := range *j.Inputs {
			p := fmt.Sprintf("inputs[%d]", i)
			if in.PreviousOutpoint == nil {
				f.fail(p+".previousOutpoint", "missing")
				continue
			}
			copy(t.Inputs[i].PreviousOutpoint.TransactionID[:], f.hex(p+".previousOutpoint.transactionId", in.PreviousOutpoint.TransactionID, 32))
			t.Inputs[i].PreviousOutpoint.Index = uint32(f.uint(p+".previousOutpoint.index", in.PreviousOutpoint.Index, 32))
			t.Inputs[i].SignatureScript = f.hex(p+".signatureScript", in.SignatureScript, -1)
			t.Inputs[i].Sequence = f.uint(p+".sequence", in.Sequence, 64)
			t.Inputs[i].SigOpCount = uint8(f.uint(p+".sigOpCount", in.SigOpCount, 8))
		}
	}
	if j.Outputs == nil {
		f.fail("outputs", "missing")
	} else {
		t.Outputs = make([]Output, len(*j.Outputs))
		for i, out := range *j.Outputs {
			p := fmt.Sprintf("outputs[%d]", i)
			t.Outputs[i].Amount = f.sompi(p+".amount", out.Amount)
			t.Outputs[i].ScriptPublicKey = f.spk(p+".scriptPublicKey", out.ScriptPublicKey)
		}
	}
	t.LockTime = f.uint("lockTime", j.LockTime, 64)
	copy(t.SubnetworkID[:], f.hex("subnetworkId", j.SubnetworkID, 20))
	t.Gas = f.uint("gas", j.Gas, 64)
	t.Payload = f.hex("payload", j.Payload, -1)
	if j.Mass != nil {
		t.Mass = f.uint("mass", j.Mass, 64)
	}
	if f.err != nil {
		return fmt.Errorf("transaction: %w", f.err)
	}
	*tx = t
	return nil
}

// MarshalJSON encodes tx as kaspad's RpcTransaction JSON with integers as
// JSON numbers. The mass field is written only when non-zero.
func (tx Transaction) MarshalJSON() ([]byte, error) {
	type outpoint struct {
		TransactionID Hash   `json:"transactionId"`
		Index         uint32 `json:"index"`
	}
	type input struct {
		PreviousOutpoint outpoint `json:"previousOutpoint"`
		SignatureScript  string   `json:"signatureScript"`
		Sequence         uint64   `json:"sequence"`
		SigOpCount       uint8    `json:"sigOpCount"`
	}
	type output struct {
		Amount          uint64                  `json:"amount"`
		ScriptPublicKey address.ScriptPublicKey `json:"scriptPublicKey"`
	}
	var j struct {
		Version      uint16   `json:"version"`
		Inputs       []input  `json:"inputs"`
		Outputs      []output `json:"outputs"`
		LockTime     uint64   `json:"lockTime"`
		SubnetworkID string   `json:"subnetworkId"`
		Gas          uint64   `json:"gas"`
		Payload      string   `json:"payload"`
		Mass         uint64   `json:"mass,omitempty"`
	}
	j.Version = tx.Version
	j.Inputs = make([]input, len(tx.Inputs))
	for i, in := range tx.Inputs {
		j.Inputs[i] = input{outpoint{in.PreviousOutpoint.TransactionID, in.PreviousOutpoint.Index}, hex.EncodeToString(in.SignatureScript), in.Sequence, in.SigOpCount}
	}
	j.Outputs = make([]output, len(tx.Outputs))
	for i, o := range tx.Outputs {
		j.Outputs[i] = output{uint64(o.Amount), o.ScriptPublicKey}
	}
	j.LockTime, j.SubnetworkID, j.Gas, j.Payload, j.Mass = tx.LockTime, tx.SubnetworkID.String(), tx.Gas, hex.EncodeToString(tx.Payload), tx.Mass
	return json.Marshal(j)
}

// UnmarshalJSON decodes kaspad's RpcUtxoEntry JSON strictly.
func (u *UTXOEntry) UnmarshalJSON(b []byte) error {
	var j utxoJSON
	if err := decodeStrict(b, &j); err != nil {
		return fmt.Errorf("utxoEntry: %w", err)
	}
	var f fieldErr
	e := UTXOEntry{
		Amount:          f.sompi("amount", j.Amount),
		ScriptPublicKey: f.spk("scriptPublicKey", j.ScriptPublicKey),
		BlockDAAScore:   f.uint("blockDaaScore", j.BlockDAAScore, 64),
	}
	if j.IsCoinbase == nil {
		f.fail("isCoinbase", "missing")
	} else {
		e.IsCoinbase = *j.IsCoinbase
	}
	if f.err != nil {
		return fmt.Errorf("utxoEntry: %w", f.err)
	}
	*u = e
	return nil
}

// MarshalJSON encodes u as kaspad's RpcUtxoEntry JSON.
func (u UTXOEntry) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Amount          uint64                  `json:"amount"`
		ScriptPublicKey address.ScriptPublicKey `json:"scriptPublicKey"`
		BlockDAAScore   uint64                  `json:"blockDaaScore"`
		IsCoinbase      bool                    `json:"isCoinbase"`
	}{uint64(u.Amount), u.ScriptPublicKey, u.BlockDAAScore, u.IsCoinbase})
}
