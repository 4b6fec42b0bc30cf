package txbuild

import (
	"fmt"
	"strconv"
	"strings"
)

// SignatureCheck is the verdict on one input's signature script.
type SignatureCheck struct {
	Input int    `json:"input"`
	Valid bool   `json:"valid"`
	Error string `json:"error,omitempty"`
}

// Inspection is everything a wallet developer wants to know about a
// transaction a node rejected.
type Inspection struct {
	TransactionID   Hash             `json:"transactionId"`
	TransactionHash Hash             `json:"transactionHash"`
	SigHashes       []Hash           `json:"sighashes"` // Schnorr, SIGHASH_ALL, one per input
	ComputeMass     uint64           `json:"computeMass"`
	StorageMass     uint64           `json:"storageMass"`
	TransientMass   uint64           `json:"transientMass"`
	MinimumFee      uint64           `json:"minimumFee"` // sompi
	Signatures      []SignatureCheck `json:"signatures"`
	Problems        []Problem        `json:"problems"`
}

// Inspect computes tx's ids, signature hashes, masses and the fee it needs
// under p at feerate, verifies every signature script it carries, and lists
// every rule it breaks (see Check).
func (p Policy) Inspect(tx *Transaction, utxos []UTXOEntry, feerate FeeRate) Inspection {
	r := Inspection{
		TransactionID:   tx.ID(),
		TransactionHash: tx.Hash(),
		SigHashes:       []Hash{},
		ComputeMass:     ComputeMass(tx),
		TransientMass:   TransientMass(tx),
		Signatures:      []SignatureCheck{},
		Problems:        p.Check(tx, utxos, feerate),
	}
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	s, err := NewSigHasher(tx, utxos)
	if err != nil {
		r.MinimumFee = p.MinimumRelayFee(tx)
		return r
	}
	for i, in := range tx.Inputs {
		h, _ := s.Schnorr(i, SigHashAll)
		r.SigHashes = append(r.SigHashes, h)
		if len(in.SignatureScript) == 0 {
			continue
		}
		c := SignatureCheck{Input: i, Valid: true}
		if err := s.VerifyInput(i); err != nil {
			c.Valid, c.Error = false, err.Error()
		}
		r.Signatures = append(r.Signatures, c)
	}
	if st, err := TxStorageMass(tx, utxos); err == nil {
		r.StorageMass = st
	}
	r.MinimumFee = p.RequiredFee(tx, Masses{Compute: r.ComputeMass, Storage: r.StorageMass, Transient: r.TransientMass}, feerate)
	return r
}

// ParseFeeRate parses a fee rate in sompi per gram written as decimal text
// with at most three decimals ("1", "1.5", "0.001").
func ParseFeeRate(s string) (FeeRate, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || len(frac) > 3 || (hasPoint && frac == "") || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, fmt.Errorf("fee rate %q: want sompi per gram with at most 3 decimals, e.g. 1 or 1.5", s)
	}
	frac += strings.Repeat("0", 3-len(frac))
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || w > 1e12 {
		return 0, fmt.Errorf("fee rate %q is out of range", s)
	}
	f, _ := strconv.ParseUint(frac, 10, 64)
	return FeeRate(w*1000 + f), nil
}
