package analysis

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/kloakprotocol/kloak/amount"
)

// Tx is what the chain shows of a payjoin: the amounts of its inputs (the
// coins they spend) and of its outputs, in transaction order, and the
// network fee (inputs minus outputs).
type Tx struct {
	Inputs  []amount.Sompi
	Outputs []amount.Sompi
	Fee     amount.Sompi
}

// FeeKind is how a relay node's fee F relates to the payment P.
type FeeKind int

const (
	// FeeTied is kloak's first rule, kpp.FeePolicy without fee_max:
	// F = ceil((P + Min) / Unit) × Unit − P.
	FeeTied FeeKind = iota
	// FeeRange is a node that announces fee_max: F is any amount in
	// [Min, Max], whatever P is.
	FeeRange
	// FeeOriginal is the Python original's rule: the receiver's pair gets
	// R + floor(P / Unit) × Unit and F = P mod Unit, or 1 sompi when that
	// is 0.
	FeeOriginal
)

// FeeRule is the node fee rule an observer knows: a node announces it in
// its pulses and to every sender.
type FeeRule struct {
	Kind           FeeKind
	Min, Unit, Max amount.Sompi
}

// Rules are what a protocol-aware observer knows of how a payjoin was made.
type Rules struct {
	Fee FeeRule
	// SplitMin and SplitMax bound the first receiver output, in per mille
	// of the pair's sum (today's builder: 300 and 700).
	SplitMin, SplitMax uint64
	// ChangeReserve: the sender's coin held at least P + F + ChangeReserve
	// (kpp's sender: 0.5 KAS; the original: nothing).
	ChangeReserve amount.Sompi
	// ReceiverMargin, if not zero: the receiver contributes a coin holding
	// at least P + ReceiverMargin when it has one (kloak's receiver: its
	// largest otherwise), so a reading whose receiver coin holds less is
	// weighted by ReceiverMarginWeight.
	ReceiverMargin       amount.Sompi
	ReceiverMarginWeight float64
}

// Reading is one assignment of the roles that fits the rules.
type Reading struct {
	SenderInput, ReceiverInput int
	FeeOutput, ChangeOutput    int
	ReceiverOutputs            [2]int
	Payment                    amount.Sompi
	// Weight is the prior of Payment times the likelihood of the split;
	// Posterior is Weight over the sum of all readings' weights.
	Weight, Posterior float64
}

// Guess is one payment the readings name, with the posterior weight of
// all readings that name it.
type Guess struct {
	Payment   amount.Sompi
	Posterior float64
	Readings  int
}

// Report is what the analyst makes of a transaction.
type Report struct {
	// Readings that fit, most likely first.
	Readings []Reading
	// Guesses are the distinct payments, most likely first; Guesses[0] is
	// the top guess. Ties share the top: TopGuesses says how many.
	Guesses    []Guess
	TopGuesses int
	// Certain: every reading agrees on it.
	PaymentCertain     bool
	SenderInputCertain bool
	FeeOutputCertain   bool
}

// ErrShape is returned for a transaction that is not two inputs and four
// outputs, or whose fee does not balance.
var ErrShape = errors.New("analysis: not a 2-input, 4-output payjoin")

// Analyze enumerates the readings of tx under rules, weighted by prior.
// A transaction with no reading at all gives an empty report, not an
// error: it was not made under these rules.
func Analyze(tx Tx, rules Rules, prior Prior) (Report, error) {
	if len(tx.Inputs) != 2 || len(tx.Outputs) != 4 {
		return Report{}, fmt.Errorf("%w: %d inputs, %d outputs", ErrShape, len(tx.Inputs), len(tx.Outputs))
	}
	var in, out uint64
	for _, a := range tx.Inputs {
		in += uint64(a) // two amounts under MaxSompi: no overflow
	}
	for _, a := range tx.Outputs {
		out += uint64(a)
	}
	if out+uint64(tx.Fee) != in || in > 2*uint64(amount.MaxSompi) {
		return Report{}, fmt.Errorf("%w: inputs %d ≠ outputs %d + fee %d", ErrShape, in, out, tx.Fee)
	}
	if rules.SplitMin > rules.SplitMax || rules.SplitMax > 1000 {
		return Report{}, fmt.Errorf("analysis: split range %d–%d per mille", rules.SplitMin, rules.SplitMax)
	}
	if rules.Fee.Kind != FeeRange && rules.Fee.Unit == 0 {
		return Report{}, errors.New("analysis: fee rule with a unit of 0")
	}
	r := Report{Readings: make([]Reading, 0, 24)}
	for s := range 2 {
		recv := 1 - s
		for f := range 4 {
			fee := tx.Outputs[f]
			if !rules.Fee.plausibleF(fee) {
				continue
			}
			for c := range 4 {
				if c == f {
					continue
				}
				var pair [2]int
				n := 0
				for o := range 4 {
					if o != f && o != c {
						pair[n] = o
						n++
					}
				}
				rd, ok := reading(tx, rules, prior, s, recv, f, c, pair)
				if ok {
					r.Readings = append(r.Readings, rd)
				}
			}
		}
	}
	r.summarize()
	return r, nil
}

// reading checks one assignment and weighs it.
func reading(tx Tx, rules Rules, prior Prior, s, recv, f, c int, pair [2]int) (Reading, bool) {
	a, b := tx.Outputs[pair[0]], tx.Outputs[pair[1]]
	sum := uint64(a) + uint64(b)
	R := uint64(tx.Inputs[recv])
	if sum <= R {
		return Reading{}, false
	}
	received := sum - R // what the receiver's pair gains
	fee := tx.Outputs[f]
	var pay uint64
	switch rules.Fee.Kind {
	case FeeTied:
		pay = received
		if tied(pay, rules.Fee) != uint64(fee) {
			return Reading{}, false
		}
	case FeeRange:
		pay = received
	case FeeOriginal:
		if received%uint64(rules.Fee.Unit) != 0 {
			return Reading{}, false
		}
		pay = received + uint64(fee)
		if fee == 1 {
			pay = received
		}
	}
	if pay == 0 {
		return Reading{}, false
	}
	// The sender's coin covered P + F + reserve: change + network fee ≥
	// reserve. (For the original the debit is pair gain + F.)
	if uint64(tx.Outputs[c])+uint64(tx.Fee) < uint64(rules.ChangeReserve) {
		return Reading{}, false
	}
	if !inSplit(uint64(a), sum, rules) && !inSplit(uint64(b), sum, rules) {
		return Reading{}, false
	}
	w := prior.Weight(amount.Sompi(pay)) / float64(sum)
	if rules.ReceiverMargin > 0 && R < pay+uint64(rules.ReceiverMargin) {
		w *= rules.ReceiverMarginWeight
	}
	return Reading{
		SenderInput: s, ReceiverInput: recv, FeeOutput: f, ChangeOutput: c,
		ReceiverOutputs: pair, Payment: amount.Sompi(pay), Weight: w,
	}, true
}

// tied is today's node fee for payment p: ceil((p + Min) / Unit) × Unit − p.
func tied(p uint64, rule FeeRule) uint64 {
	t := p + uint64(rule.Min)
	u := uint64(rule.Unit)
	return (t+u-1)/u*u - p
}

// plausibleF reports whether an output can be the node fee at all.
func (rule FeeRule) plausibleF(f amount.Sompi) bool {
	switch rule.Kind {
	case FeeTied:
		return f >= rule.Min && f < rule.Min+rule.Unit
	case FeeRange:
		return f >= rule.Min && f <= rule.Max
	case FeeOriginal:
		return f >= 1 && f < rule.Unit
	}
	return false
}

// inSplit reports whether x can be the first receiver output of a pair
// summing to sum: within [floor(sum × SplitMin / 1000), ceil(sum × SplitMax
// / 1000)] (a superset of what the builders draw, whichever way they
// round), or half of sum (the builders' fallback for a tiny sum).
func inSplit(x, sum uint64, rules Rules) bool {
	if x == sum/2 || x == sum-sum/2 {
		return true
	}
	lo := mulDiv(sum, rules.SplitMin, false)
	hi := mulDiv(sum, rules.SplitMax, true)
	return x >= lo && x <= hi
}

// mulDiv returns sum × pm / 1000, rounded up or down, without overflow.
func mulDiv(sum, pm uint64, up bool) uint64 {
	h, l := bits.Mul64(sum, pm)
	q, rem := bits.Div64(h, l, 1000) // h < 1000 since pm ≤ 1000
	if up && rem != 0 {
		q++
	}
	return q
}

// Reweigh multiplies each reading's weight by factor (a likelihood the
// caller knows beyond the rules and the prior, as a learning analyst's)
// and recomputes the posteriors, the guesses and what is certain.
func (r *Report) Reweigh(factor func(Reading) float64) {
	for i := range r.Readings {
		r.Readings[i].Weight *= factor(r.Readings[i])
	}
	r.summarize()
}

func (r *Report) summarize() {
	var total float64
	for _, rd := range r.Readings {
		total += rd.Weight
	}
	r.Guesses = make([]Guess, 0, len(r.Readings))
	for i := range r.Readings {
		rd := &r.Readings[i]
		if total > 0 {
			rd.Posterior = rd.Weight / total
		}
		j := slices.IndexFunc(r.Guesses, func(g Guess) bool { return g.Payment == rd.Payment })
		if j < 0 {
			j = len(r.Guesses)
			r.Guesses = append(r.Guesses, Guess{Payment: rd.Payment})
		}
		r.Guesses[j].Posterior += rd.Posterior
		r.Guesses[j].Readings++
	}
	slices.SortStableFunc(r.Readings, func(a, b Reading) int { return cmp.Compare(b.Posterior, a.Posterior) })
	slices.SortStableFunc(r.Guesses, func(a, b Guess) int { return cmp.Compare(b.Posterior, a.Posterior) })
	if len(r.Guesses) > 0 {
		r.TopGuesses = 1
		for _, g := range r.Guesses[1:] {
			if !sameWeight(g.Posterior, r.Guesses[0].Posterior) {
				break
			}
			r.TopGuesses++
		}
	}
	if len(r.Readings) == 0 {
		return
	}
	first := r.Readings[0]
	r.PaymentCertain, r.SenderInputCertain, r.FeeOutputCertain = true, true, true
	for _, rd := range r.Readings[1:] {
		r.PaymentCertain = r.PaymentCertain && rd.Payment == first.Payment
		r.SenderInputCertain = r.SenderInputCertain && rd.SenderInput == first.SenderInput
		r.FeeOutputCertain = r.FeeOutputCertain && rd.FeeOutput == first.FeeOutput
	}
}

// sameWeight treats posteriors within a part in 10^9 as a tie: two
// readings of equal weight computed in another order.
func sameWeight(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*max(a, b)
}

// TopCredit is how much the top guess is worth if payment is the truth:
// 1 if it is the top guess alone, 1/n if it is one of n tied top guesses,
// 0 otherwise.
func (r Report) TopCredit(payment amount.Sompi) float64 {
	for _, g := range r.Guesses[:r.TopGuesses] {
		if g.Payment == payment {
			return 1 / float64(r.TopGuesses)
		}
	}
	return 0
}

// Has reports whether one of the readings is exactly this one: the
// sender's input, the node fee output and the change output given (the
// receiver's pair is what is left).
func (r Report) Has(senderInput, feeOutput, changeOutput int) bool {
	for _, rd := range r.Readings {
		if rd.SenderInput == senderInput && rd.FeeOutput == feeOutput && rd.ChangeOutput == changeOutput {
			return true
		}
	}
	return false
}

// MaxPosterior is the posterior of the top guess: 1 when P is certain,
// and lower the more the readings spread over payments.
func (r Report) MaxPosterior() float64 {
	if len(r.Guesses) == 0 {
		return 1
	}
	return r.Guesses[0].Posterior
}
