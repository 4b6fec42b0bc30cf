package analysis

import "github.com/kloakprotocol/kloak/amount"

// Prior is the analyst's belief about payments before it looks at a
// transaction: a mixture of an arbitrary amount and amounts rounded to
// each Round step, each log-uniform in size (so a smaller payment is
// likelier). Weight(P) = (Arbitrary + Σ over the steps that divide P of
// Share × Step) / P: an arbitrary amount spreads its share over every sompi,
// a round one over the multiples of its step, so a round payment outweighs
// an arbitrary one by about Share × Step / Arbitrary.
type Prior struct {
	Arbitrary float64
	Round     []RoundShare
}

// RoundShare is the share of payments that are multiples of Step.
type RoundShare struct {
	Step  amount.Sompi
	Share float64
}

// DefaultPrior is the prior kloak measures its privacy against: half of all
// payments arbitrary amounts, the other half round: multiples of 100 KAS
// (5 %), of 10 KAS (10 %), of 1 KAS (20 %), of 0.5 KAS (10 %) and of
// 0.1 KAS (5 %).
var DefaultPrior = Prior{
	Arbitrary: 0.5,
	Round: []RoundShare{
		{Step: 100 * amount.SompiPerKAS, Share: 0.05},
		{Step: 10 * amount.SompiPerKAS, Share: 0.10},
		{Step: amount.SompiPerKAS, Share: 0.20},
		{Step: amount.SompiPerKAS / 2, Share: 0.10},
		{Step: amount.SompiPerKAS / 10, Share: 0.05},
	},
}

// Weight returns the prior weight of payment p (unnormalized; 0 for 0).
func (pr Prior) Weight(p amount.Sompi) float64 {
	if p == 0 {
		return 0
	}
	w := pr.Arbitrary
	for _, r := range pr.Round {
		if r.Step > 0 && p%r.Step == 0 {
			w += r.Share * float64(r.Step)
		}
	}
	return w / float64(p)
}
