package txbuild

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
)

// FeeRate is a fee rate in thousandths of a sompi per gram of mass, so
// that fractional rates stay integers: 1,000 is 1 sompi per gram.
type FeeRate uint64

// SompiPerGram returns a FeeRate of n sompi per gram.
func SompiPerGram(n uint64) FeeRate { return FeeRate(n * 1000) }

// FeeRateFromFloat converts a node's floating-point fee estimate (sompi per
// gram) to a FeeRate, rounding up so the rate is never below the estimate.
// It is the one place a float meets fees; amounts stay integers.
func FeeRateFromFloat(sompiPerGram float64) (FeeRate, error) {
	if math.IsNaN(sompiPerGram) || sompiPerGram < 0 || sompiPerGram > 1e12 {
		return 0, fmt.Errorf("fee rate %v sompi/gram is out of range", sompiPerGram)
	}
	return FeeRate(math.Ceil(sompiPerGram * 1000)), nil
}

// Fee returns the fee for mass grams at this rate, rounded up.
func (r FeeRate) Fee(mass uint64) uint64 {
	hi, lo := bits.Mul64(uint64(r), mass)
	if hi >= 1000 {
		return math.MaxUint64
	}
	q, rem := bits.Div64(hi, lo, 1000)
	if rem != 0 {
		q++
	}
	return q
}

// String formats the rate in sompi per gram.
func (r FeeRate) String() string {
	if r%1000 == 0 {
		return fmt.Sprintf("%d sompi/gram", uint64(r)/1000)
	}
	return fmt.Sprintf("%d.%03d sompi/gram", uint64(r)/1000, uint64(r)%1000)
}

// Policy holds the fee and standardness rules a network's nodes apply to
// transactions they relay. Use PolicyFor for a network's defaults.
type Policy struct {
	// FloorRate is the minimum relay fee rate in sompi per gram.
	FloorRate uint64
	// FloorBytesWeight is how many grams each serialized byte counts for
	// in the relay floor besides compute mass: Toccata's normalized
	// transient mass is 2 grams per byte. Zero counts compute mass only.
	FloorBytesWeight uint64
	// MassBudget caps each mass of a transaction kloak builds; the
	// rusty-kaspa wallet SDK's standard is 100,000 grams.
	MassBudget uint64
	// DustRule is true where the nodes still refuse outputs below the
	// pre-Toccata dust threshold (Go kaspad, 600 sompi for a P2PK output).
	DustRule bool
}

// PolicyFor returns the rules of net's nodes. Mainnet and testnet run
// rusty-kaspa after Toccata: a floor of 100 sompi × max(compute grams,
// 2 × bytes) and no dust rule. Devnet and simnet are kloak's test networks
// served by Go kaspad v0.12.23: 1 sompi per gram and the old dust rule.
func PolicyFor(net address.Network) Policy {
	switch net {
	case address.Devnet, address.Simnet:
		return Policy{FloorRate: 1, FloorBytesWeight: 0, MassBudget: MaximumStandardMass, DustRule: true}
	default:
		return Policy{FloorRate: 100, FloorBytesWeight: 2, MassBudget: MaximumStandardMass}
	}
}

// MinimumRelayFee returns the least fee a node relays tx for:
// FloorRate × max(compute mass, FloorBytesWeight × serialized size).
func (p Policy) MinimumRelayFee(tx *Transaction) uint64 {
	grams := max(ComputeMass(tx), p.FloorBytesWeight*SerializedSize(tx))
	return p.FloorRate * grams
}

// RequiredFee returns the fee tx needs at feerate: at least the relay floor
// and at least feerate × max(compute, storage) mass, which is what block
// templates order by.
func (p Policy) RequiredFee(tx *Transaction, m Masses, feerate FeeRate) uint64 {
	return max(p.MinimumRelayFee(tx), feerate.Fee(max(m.Compute, m.Storage)))
}

// IsDust reports whether o is below the dust threshold of Go kaspad's
// mempool: value × 1000 / (3 × (serialized output size + 148)) < 1000.
func IsDust(o Output) bool {
	size := 8 + 2 + 8 + uint64(len(o.ScriptPublicKey.Script)) + 148
	return uint64(o.Amount)*1000/(3*size) < 1000
}

// Problem is one rule a transaction breaks, in words a person can act on.
type Problem struct {
	Rule    string `json:"rule"`    // a stable short name, e.g. "fee-below-floor"
	Message string `json:"message"` // what is wrong and by how much
}

// The rules Check reports.
const (
	RuleUTXOs         = "utxo-entries"
	RuleNoInputs      = "no-inputs"
	RuleZeroOutput    = "zero-output"
	RuleOverspend     = "outputs-exceed-inputs"
	RuleStorageMass   = "storage-mass"
	RuleMassBudget    = "mass-budget"
	RuleConsensusMass = "consensus-mass-limit"
	RuleFeeFloor      = "fee-below-floor"
	RuleFeeRate       = "fee-below-feerate"
	RuleDust          = "dust-output"
	RuleUnsigned      = "unsigned-input"
	RuleBadSignature  = "bad-signature"
	RuleVersion       = "unsupported-version"
)

// Check lists every rule tx breaks when it spends utxos under policy p at
// feerate: mass budget and consensus mass limits, fee under the floor or
// the feerate, dust where the network has a dust rule, zero outputs,
// outputs above inputs, and unsigned inputs or signatures that do not
// verify. An empty list means a node with these rules accepts it.
func (p Policy) Check(tx *Transaction, utxos []UTXOEntry, feerate FeeRate) []Problem {
	var probs []Problem
	add := func(rule, format string, args ...any) {
		probs = append(probs, Problem{Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	if len(utxos) != len(tx.Inputs) {
		add(RuleUTXOs, "%d inputs but %d UTXO entries: give the previous output of every input, in order", len(tx.Inputs), len(utxos))
		return probs
	}
	if tx.Version != 0 {
		add(RuleVersion, "transaction version %d: kloak checks version 0 transactions only", tx.Version)
	}
	if len(tx.Inputs) == 0 {
		add(RuleNoInputs, "transaction has no inputs")
		return probs
	}
	zero := false
	for i, o := range tx.Outputs {
		if o.Amount == 0 {
			zero = true
			add(RuleZeroOutput, "output %d pays 0 sompi; remove it", i)
		} else if p.DustRule && IsDust(o) {
			add(RuleDust, "output %d pays %s, below this network's dust threshold; pay at least %s or drop it", i, o.Amount, dustThreshold(o))
		}
	}
	fee, feeErr := Fee(tx, utxos)
	if feeErr != nil {
		add(RuleOverspend, "%v", feeErr)
	}
	var storage uint64
	if !zero {
		s, err := TxStorageMass(tx, utxos)
		if err != nil {
			add(RuleStorageMass, "storage mass cannot be computed (%v): the outputs are far too small", err)
		}
		storage = s
	}
	m := Masses{Compute: ComputeMass(tx), Storage: storage, Transient: TransientMass(tx)}
	for _, d := range []struct {
		name        string
		mass, limit uint64
	}{
		{"compute", m.Compute, BlockComputeMassLimit},
		{"storage", m.Storage, BlockStorageMassLimit},
		{"transient", m.Transient, BlockTransientMassLimit},
	} {
		switch {
		case d.mass > d.limit:
			add(RuleConsensusMass, "%s mass %d grams exceeds the block limit %d by %d: no block can hold this transaction%s", d.name, d.mass, d.limit, d.mass-d.limit, massHint(d.name, tx))
		case p.MassBudget > 0 && d.mass > p.MassBudget:
			add(RuleMassBudget, "%s mass %d grams exceeds the standard budget %d by %d%s", d.name, d.mass, p.MassBudget, d.mass-p.MassBudget, massHint(d.name, tx))
		}
	}
	if feeErr == nil {
		if floor := p.MinimumRelayFee(tx); uint64(fee) < floor {
			add(RuleFeeFloor, "fee %d sompi is under the relay floor %d sompi (%d sompi/gram × %d grams) by %d", fee, floor, p.FloorRate, floor/max(p.FloorRate, 1), floor-uint64(fee))
		} else if need := feerate.Fee(max(m.Compute, m.Storage)); uint64(fee) < need {
			add(RuleFeeRate, "fee %d sompi is under %d sompi, the fee rate %v × max(compute %d, storage %d) grams, by %d", fee, need, feerate, m.Compute, m.Storage, need-uint64(fee))
		}
	}
	s, _ := NewSigHasher(tx, utxos)
	for i, in := range tx.Inputs {
		if len(in.SignatureScript) == 0 {
			add(RuleUnsigned, "input %d has no signature script", i)
			continue
		}
		if err := s.VerifyInput(i); err != nil {
			add(RuleBadSignature, "%v", err)
		}
	}
	return probs
}

func massHint(dimension string, tx *Transaction) string {
	if dimension != "storage" || len(tx.Outputs) == 0 {
		return ""
	}
	smallest := 0
	for i, o := range tx.Outputs {
		if o.Amount < tx.Outputs[smallest].Amount {
			smallest = i
		}
	}
	o := tx.Outputs[smallest]
	if o.Amount == 0 {
		return ""
	}
	return fmt.Sprintf(" (output %d of %s alone costs %d grams; KIP-9 storage mass is 10^12 / amount per output, so make small outputs larger or spend larger UTXOs)",
		smallest, o.Amount, StorageMassParameter/uint64(o.Amount))
}

func dustThreshold(o Output) amount.Sompi {
	size := 8 + 2 + 8 + uint64(len(o.ScriptPublicKey.Script)) + 148
	return amount.Sompi(3 * size)
}
