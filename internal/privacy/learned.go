package privacy

import (
	"math"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
)

// Learner is a second analyst, one that learns from payjoins whose truth
// it is shown (kloakbench privacy --dump's records), as an outside analyst
// would: for each reading package analysis finds, it bins a few features
// (each coin and the change against the payment, the split, how round the
// payment is, its size) and learns, by naive Bayes, how much likelier
// each bin is among true readings than among the others. It then weighs
// each reading of a new payjoin by the rule analyst's prior times that
// likelihood ratio. It is how kloak checks that its construction does not
// hide P from the stated prior only.
type Learner struct {
	rules analysis.Rules
	prior analysis.Prior
	// counts[truth][feature][bin]
	counts [2][nFeatures][nBins]float64
	totals [2]float64
}

const (
	nFeatures = 11
	nBins     = 36
)

// NewLearner returns an untrained learner for payjoins made under rules.
func NewLearner(rules analysis.Rules, prior analysis.Prior) *Learner {
	return &Learner{rules: rules, prior: prior}
}

// Train learns from one payjoin and its truth.
func (l *Learner) Train(rec Record) error {
	rep, err := analysis.Analyze(analysis.Tx{Inputs: rec.Inputs, Outputs: rec.Outputs, Fee: rec.Fee}, l.rules, l.prior)
	if err != nil {
		return err
	}
	for _, rd := range rep.Readings {
		k := 0
		if rd.SenderInput == rec.Truth.SenderInput && rd.FeeOutput == rec.Truth.NodeFeeOutput && rd.ChangeOutput == rec.Truth.ChangeOutput {
			k = 1
		}
		for f, b := range bins(rec, rd) {
			l.counts[k][f][b]++
		}
		l.totals[k]++
	}
	return nil
}

// Report analyses rec as the rule analyst does, then reweighs its readings
// by what the learner learned.
func (l *Learner) Report(rec Record) (analysis.Report, error) {
	rep, err := analysis.Analyze(analysis.Tx{Inputs: rec.Inputs, Outputs: rec.Outputs, Fee: rec.Fee}, l.rules, l.prior)
	if err != nil {
		return rep, err
	}
	rep.Reweigh(func(rd analysis.Reading) float64 {
		lr := 0.0
		for f, b := range bins(rec, rd) {
			// Laplace smoothing: a bin never seen is not impossible.
			pt := (l.counts[1][f][b] + 1) / (l.totals[1] + nBins)
			pf := (l.counts[0][f][b] + 1) / (l.totals[0] + nBins)
			lr += math.Log(pt / pf)
		}
		return math.Exp(lr)
	})
	return rep, nil
}

// bins are the reading's features, binned.
func bins(rec Record, rd analysis.Reading) [nFeatures]int {
	s := float64(rec.Inputs[rd.SenderInput])
	r := float64(rec.Inputs[rd.ReceiverInput])
	p := float64(rd.Payment)
	c := float64(rec.Outputs[rd.ChangeOutput])
	a, b := float64(rec.Outputs[rd.ReceiverOutputs[0]]), float64(rec.Outputs[rd.ReceiverOutputs[1]])
	return [nFeatures]int{
		bin(math.Log2(s/p), -2, 14),
		bin(math.Log2(r/p), -6, 14),
		bin(math.Min(a, b)/(a+b), 0, 0.5),
		bin(math.Log2(c/s), -20, 0),
		bin(math.Log2(s/r), -12, 12),
		bin(math.Log2(p/float64(amount.SompiPerKAS)), -2, 12),
		bin(math.Log2(c/p), -14, 14),
		int(roundClass(rd.Payment)),
		// Joint bins (6 × 6) of pairs of the above, for what naive Bayes
		// cannot see from each alone.
		joint(math.Log2(s/p), -2, 14, math.Log2(r/p), -6, 14),
		joint(math.Min(a, b)/(a+b), 0, 0.5, math.Log2(c/p), -14, 14),
		joint(math.Log2(c/s), -20, 0, math.Log2(s/r), -12, 12),
	}
}

// joint bins two features into one of 6 × 6 bins.
func joint(v, vlo, vhi, w, wlo, whi float64) int {
	return bin(v, vlo, vhi)*6/nBins*6 + bin(w, wlo, whi)*6/nBins
}

func bin(v, lo, hi float64) int {
	if math.IsNaN(v) || v <= lo {
		return 0
	}
	if v >= hi {
		return nBins - 1
	}
	return int((v - lo) / (hi - lo) * nBins)
}

// roundClass is 0 for an arbitrary amount up to 6 for a multiple of
// 100 KAS.
func roundClass(p amount.Sompi) int {
	for i, step := range []amount.Sompi{100 * kas, 10 * kas, kas, kas / 2, kas / 10, kas / 100} {
		if p%step == 0 {
			return 6 - i
		}
	}
	return 0
}
