package txbuild

import (
	"crypto/sha256"
	"fmt"

	"github.com/kloakprotocol/kloak/address"
)

// SigHashType selects which parts of a transaction a signature commits to.
type SigHashType uint8

// The signature hash types Kaspa defines.
const (
	SigHashAll          SigHashType = 0x01
	SigHashNone         SigHashType = 0x02
	SigHashSingle       SigHashType = 0x04
	SigHashAnyOneCanPay SigHashType = 0x80
)

// Valid reports whether t is one of the six standard types: ALL, NONE or
// SINGLE, each with or without ANYONECANPAY.
func (t SigHashType) Valid() bool {
	switch t &^ SigHashAnyOneCanPay {
	case SigHashAll, SigHashNone, SigHashSingle:
		return true
	}
	return false
}

func (t SigHashType) anyoneCanPay() bool { return t&SigHashAnyOneCanPay != 0 }
func (t SigHashType) base() SigHashType  { return t &^ SigHashAnyOneCanPay }

// SigHasher computes the signature hashes of one transaction. It caches the
// parts that are the same for every input, so hashing all inputs costs
// linear time. A SigHasher must not be used after the transaction changes.
type SigHasher struct {
	tx    *Transaction
	utxos []UTXOEntry

	prevOutputs, sequences, sigOpCounts, outputs, payload *Hash
}

// NewSigHasher returns a SigHasher for tx, which spends utxos (one per
// input, in order).
func NewSigHasher(tx *Transaction, utxos []UTXOEntry) (*SigHasher, error) {
	if err := checkUTXOs(tx, utxos); err != nil {
		return nil, err
	}
	return &SigHasher{tx: tx, utxos: utxos}, nil
}

func (s *SigHasher) cached(slot **Hash, f func(w *writer)) Hash {
	if *slot == nil {
		w := newBlake2b(keyTransactionSigningHash)
		f(w)
		h := w.sum()
		*slot = &h
	}
	return **slot
}

// Schnorr returns the signature hash of input i that a Schnorr (BIP340)
// signature signs (rusty-kaspa calc_schnorr_signature_hash). The payload is
// hashed unless the transaction is native with an empty payload, the rule
// since Crescendo.
func (s *SigHasher) Schnorr(i int, t SigHashType) (Hash, error) {
	tx := s.tx
	if i < 0 || i >= len(tx.Inputs) {
		return Hash{}, fmt.Errorf("%w: %d of %d", errInputIndex, i, len(tx.Inputs))
	}
	if !t.Valid() {
		return Hash{}, fmt.Errorf("%w: 0x%02x", ErrBadSigHashType, uint8(t))
	}
	var zero Hash
	prevOutputs, sequences, sigOpCounts := zero, zero, zero
	if !t.anyoneCanPay() {
		prevOutputs = s.cached(&s.prevOutputs, func(w *writer) {
			for _, in := range tx.Inputs {
				w.bytes(in.PreviousOutpoint.TransactionID[:]).u32(in.PreviousOutpoint.Index)
			}
		})
		sigOpCounts = s.cached(&s.sigOpCounts, func(w *writer) {
			for _, in := range tx.Inputs {
				w.u8(in.SigOpCount)
			}
		})
		if t.base() == SigHashAll {
			sequences = s.cached(&s.sequences, func(w *writer) {
				for _, in := range tx.Inputs {
					w.u64(in.Sequence)
				}
			})
		}
	}
	outputs := zero
	switch t.base() {
	case SigHashAll:
		outputs = s.cached(&s.outputs, func(w *writer) {
			for j := range tx.Outputs {
				writeOutput(w, &tx.Outputs[j])
			}
		})
	case SigHashSingle:
		if i < len(tx.Outputs) {
			w := newBlake2b(keyTransactionSigningHash)
			writeOutput(w, &tx.Outputs[i])
			outputs = w.sum()
		}
	}
	payload := zero
	if tx.SubnetworkID != SubnetworkNative || len(tx.Payload) > 0 {
		payload = s.cached(&s.payload, func(w *writer) { w.varBytes(tx.Payload) })
	}

	in := &tx.Inputs[i]
	utxo := &s.utxos[i]
	w := newBlake2b(keyTransactionSigningHash)
	w.u16(tx.Version).bytes(prevOutputs[:]).bytes(sequences[:]).bytes(sigOpCounts[:])
	w.bytes(in.PreviousOutpoint.TransactionID[:]).u32(in.PreviousOutpoint.Index)
	w.u16(utxo.ScriptPublicKey.Version).varBytes(utxo.ScriptPublicKey.Script)
	w.u64(uint64(utxo.Amount)).u64(in.Sequence).u8(in.SigOpCount)
	w.bytes(outputs[:]).u64(tx.LockTime).bytes(tx.SubnetworkID[:]).u64(tx.Gas).bytes(payload[:])
	w.u8(uint8(t))
	return w.sum(), nil
}

// ECDSA returns the signature hash of input i that an ECDSA signature signs:
// SHA-256 keyed with SHA-256("TransactionSigningHashECDSA") over the Schnorr
// signature hash (rusty-kaspa calc_ecdsa_signature_hash).
func (s *SigHasher) ECDSA(i int, t SigHashType) (Hash, error) {
	h, err := s.Schnorr(i, t)
	if err != nil {
		return Hash{}, err
	}
	d := sha256.New()
	d.Write(ecdsaDomain[:])
	d.Write(h[:])
	var out Hash
	d.Sum(out[:0])
	return out, nil
}

// SignatureHash returns the Schnorr signature hash of input i of tx. For
// more than one input, a SigHasher saves work.
func SignatureHash(tx *Transaction, utxos []UTXOEntry, i int, t SigHashType) (Hash, error) {
	s, err := NewSigHasher(tx, utxos)
	if err != nil {
		return Hash{}, err
	}
	return s.Schnorr(i, t)
}

// signatureKind tells how a previous output's script is signed.
func signatureKind(spk address.ScriptPublicKey) (address.Version, []byte, error) {
	a, err := address.FromScriptPublicKey(spk, address.Mainnet)
	if err != nil || a.Version() == address.ScriptHash {
		return 0, nil, fmt.Errorf("%w: %x", ErrUnsupportedScript, spk.Script)
	}
	return a.Version(), a.Payload(), nil
}
