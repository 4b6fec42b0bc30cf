package txbuild

import (
	"fmt"
	"io"
	"math"
	"math/big"
	"math/bits"
	"sort"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
)

// The privacy construction of Build2In4Out (PRIVACY.md has the figures).
//
// An observer who knows KPP reads a payjoin by trying every assignment of
// the roles (package analysis): which input is the sender's coin S, which
// output the node fee F, which the sender's change C; the two left are the
// receiver's pair, which sums to R + P. The first builder drew the split
// of R + P uniformly from 30–70 % and the node fee tied P + F to a
// multiple of 0.1 KAS, and exactly one reading fitted every payjoin.
//
// The sender chooses the split x (the first receiver output) freely, and
// with it what the other readings say. Four readings move with x (outputs
// x, T − x, F, C with T = R + P, network fee f):
//
//	A1  same sender, change x:        S − F − f − x
//	A2  same sender, change T − x:    x + S − P − F − f − R
//	B1  R as the sender, change x:    R − F − f − x
//	B2  R as the sender, change T − x: x − P − F − f
//
// Aiming x makes any one of them a chosen decoy payment D. Each kind of
// reading is its own inverse (read from the decoy, the truth is a reading
// of the same kind), so nothing in the shape tells the truth from the
// decoy. Where the node announces a fee range the sender also chooses F,
// and two readings of opposite sign in x fix both x and F: two decoys at
// once (pairAims).
//
// A decoy is as round as P (the same power of ten, or half a KAS, divides
// both and nothing rounder divides either; congruent to P modulo the fee
// unit where F is tied to P), and near it: within a factor of 2 for a
// round P, of √2 for an arbitrary one, or the size that weighs as much
// as P where R is read as the sender's coin (balancingDecoy). A prior that
// favours round and small payments then cannot tell them apart.
//
// The builder weighs random splits and aimed ones over each of the
// sender's coins it is offered, and scores each with the analyst: the
// posterior of its top guess of P, plus a penalty where the sender's input
// is certain and a small one per doubling between the two coins (coins of
// a size make the readings that swap sender and receiver look like the
// truth). Among the candidates of lowest score it keeps one whose top
// guess is P with the probability that the best of them gives its top
// guess (at most one half), and one whose top guess is another payment
// otherwise (see private), so that the analyst's top guess is right no
// more often than it is sure. Every receiver output lies within
// SplitMin–SplitMax per mille of T, none is exactly R or P, the sender's
// coin holds P + F + the change reserve, and the masses stay within the
// budget.

// SplitMin and SplitMax bound each receiver output, in per mille of R + P.
const (
	SplitMin = 50
	SplitMax = 950
)

// MaxSenderCoins is how many of the sender's coins Build2In4Out weighs.
const MaxSenderCoins = 5

// DefaultChangeReserve is what kpp's sender requires of its coin beyond
// P + F: it covers the network fee and leaves a change output that KIP-9
// does not punish.
const DefaultChangeReserve = amount.SompiPerKAS / 2

// defaultFeeRule is the node fee rule of a node that announces nothing:
// kpp.DefaultFeePolicy.
var defaultFeeRule = analysis.FeeRule{Kind: analysis.FeeTied, Min: 20_000_000, Unit: 10_000_000}

// coinPenalty weighs, in the score, how far apart the two coins are
// (per doubling): coins of a size make the readings that swap the sender
// and the receiver look like the truth.
const coinPenalty = 0.05

// roundDecoyStep: a payment that is a multiple of it (0.1 KAS) is round,
// and gets balancing decoys.
const roundDecoyStep = amount.SompiPerKAS / 10

// How many candidates each coin gets.
const (
	randomSplits = 3
	decoyDraws   = 8
)

// PayjoinRules are the rules an observer knows of a payjoin that
// Build2In4Out makes with node fee rule fee (the zero FeeRule: a node that
// announces nothing) and change reserve (zero: DefaultChangeReserve).
func PayjoinRules(fee analysis.FeeRule, reserve amount.Sompi) analysis.Rules {
	if fee == (analysis.FeeRule{}) {
		fee = defaultFeeRule
	}
	if reserve == 0 {
		reserve = DefaultChangeReserve
	}
	return analysis.Rules{Fee: fee, SplitMin: SplitMin, SplitMax: SplitMax, ChangeReserve: reserve,
		ReceiverMargin: receiverMargin, ReceiverMarginWeight: 0.05}
}

// candidate is one way to build the payjoin: the sender's coin, the first
// receiver output r1 of total = R + P, the change and the network fee.
type candidate struct {
	coin              UTXO
	total, r1, change amount.Sompi
	nodeFee, fee      amount.Sompi
	masses            Masses
	score             float64
	tieBreak          uint64
	// maxPost is the posterior of the analyst's top guess; truthTop says
	// whether that guess is P.
	maxPost  float64
	truthTop bool
}

// scratch is a coin's unshuffled transaction, whose amounts settle sets
// for each candidate.
type scratch struct {
	tx    *Transaction
	utxos []UTXOEntry
}

func (p PayjoinParams) scratch(coin UTXO) *scratch {
	tx, utxos := (&candidate{coin: coin}).skeleton(p)
	return &scratch{tx, utxos}
}

// skeleton returns the unshuffled transaction of c (inputs S, R with
// signature-sized scripts; outputs r1, total − r1, F, change) and the
// entries it spends.
func (c *candidate) skeleton(p PayjoinParams) (*Transaction, []UTXOEntry) {
	tx := &Transaction{Outputs: c.outputs(p)}
	for _, u := range []UTXO{c.coin, p.Receiver} {
		tx.Inputs = append(tx.Inputs, Input{PreviousOutpoint: u.Outpoint, SigOpCount: 1, SignatureScript: make([]byte, 66)})
	}
	return tx, []UTXOEntry{c.coin.Entry, p.Receiver.Entry}
}

func (c *candidate) outputs(p PayjoinParams) []Output {
	return []Output{
		{Amount: c.r1, ScriptPublicKey: p.ReceiverAddresses[0].ScriptPublicKey()},
		{Amount: c.total - c.r1, ScriptPublicKey: p.ReceiverAddresses[1].ScriptPublicKey()},
		{Amount: c.nodeFee, ScriptPublicKey: p.NodeFeeAddress.ScriptPublicKey()},
		{Amount: c.change, ScriptPublicKey: p.SenderChange.ScriptPublicKey()},
	}
}

func (p PayjoinParams) budget() uint64 {
	if p.Policy.MassBudget == 0 {
		return BlockStorageMassLimit
	}
	return p.Policy.MassBudget
}

// splitPossible reports whether x can be the first receiver output of a
// total a kloak sender splits: within splitBounds, or half (the first
// builder's fallback for a tiny total).
func splitPossible(x, total amount.Sompi) bool {
	lo, hi := splitBounds(total)
	return (x >= lo && x <= hi) || x == total/2 || x == total-total/2
}

// splitBounds returns [ceil(total × SplitMin / 1000), floor(total ×
// SplitMax / 1000)].
func splitBounds(total amount.Sompi) (amount.Sompi, amount.Sompi) {
	h, l := bits.Mul64(uint64(total), SplitMin)
	lo, rem := bits.Div64(h, l, 1000)
	if rem != 0 {
		lo++
	}
	h, l = bits.Mul64(uint64(total), SplitMax)
	hi, _ := bits.Div64(h, l, 1000)
	return amount.Sompi(lo), amount.Sompi(hi)
}

// reserve is ChangeReserve or its default.
func (p PayjoinParams) reserve() amount.Sompi {
	if p.ChangeReserve == 0 {
		return DefaultChangeReserve
	}
	return p.ChangeReserve
}

// coins returns the sender's coins to weigh: Sender first, then the
// alternatives that hold P + F + the reserve, at most MaxSenderCoins in
// all, no outpoint twice.
func (p PayjoinParams) coins() []UTXO {
	reserve := p.reserve()
	need := uint64(p.Payment) + uint64(p.NodeFee) + uint64(reserve)
	out := []UTXO{p.Sender}
	for _, u := range p.SenderAlternatives {
		if len(out) == MaxSenderCoins {
			break
		}
		if uint64(u.Entry.Amount) < need || u.Outpoint == p.Receiver.Outpoint {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o.Outpoint == u.Outpoint
		}
		if !dup {
			out = append(out, u)
		}
	}
	return out
}

// aim is how a candidate's split and node fee are chosen: from the
// candidate settled so far (its change and network fee), the first
// receiver output and the node fee to try; false when it has none.
type aim func(c *candidate) (x, nodeFee amount.Sompi, ok bool)

// private returns the candidate that leaves an observer least sure of
// the payment, or nil when none fits (the fallback then decides).
func (p PayjoinParams) private(random io.Reader) (*candidate, error) {
	rules := PayjoinRules(p.FeeRule, p.ChangeReserve)
	var tiedUnit amount.Sompi
	if rules.Fee.Kind == analysis.FeeTied {
		tiedUnit = rules.Fee.Unit
	}
	// With a fee range the builder may choose F too (see pairAims).
	freeFee := rules.Fee.Kind == analysis.FeeRange && rules.Fee.Min > 0 && rules.Fee.Min <= rules.Fee.Max &&
		p.NodeFee >= rules.Fee.Min && p.NodeFee <= rules.Fee.Max
	total := p.Receiver.Entry.Amount + p.Payment
	lo, hi := splitBounds(total)
	if total < 4 || lo >= hi {
		return nil, nil
	}
	// best is the candidate with the lowest score; bestSide[t] the one
	// with the lowest score among those whose top guess is (t) or is not
	// P. See the end.
	var best *candidate
	var bestSide [2]*candidate
	better := func(c, b *candidate) bool {
		return b == nil || c.score < b.score || (c.score == b.score && c.tieBreak < b.tieBreak)
	}
	for _, coin := range p.coins() {
		if uint64(coin.Entry.Amount) <= uint64(p.Payment)+uint64(p.NodeFee) {
			continue
		}
		// The network fee of a middle split: with a split aimed from it,
		// the fee is the same but where storage mass sets it.
		sc := p.scratch(coin)
		mid, ok := p.settle(coin, total/2, p.NodeFee, sc)
		if !ok {
			continue
		}
		var aims []aim
		for range randomSplits {
			r, err := randUint64(random)
			if err != nil {
				return nil, err
			}
			x := lo + amount.Sompi(r%uint64(hi-lo+1))
			aims = append(aims, func(*candidate) (amount.Sompi, amount.Sompi, bool) { return x, p.NodeFee, true })
		}
		for range decoyDraws {
			r, err := randUint64(random)
			if err != nil {
				return nil, err
			}
			d, ok := decoyPayment(p.Payment, tiedUnit, r)
			if !ok {
				continue
			}
			// A: x = P + C − D; B: x = D + P + F + fee.
			aims = append(aims,
				func(c *candidate) (amount.Sompi, amount.Sompi, bool) {
					return p.Payment + c.change - d, p.NodeFee, c.change+p.Payment > d
				},
				func(c *candidate) (amount.Sompi, amount.Sompi, bool) {
					return d + p.Payment + p.NodeFee + c.fee, p.NodeFee, true
				})
			if freeFee {
				more, err := p.pairAims(coin, d, 0, rules.Fee, random)
				if err != nil {
					return nil, err
				}
				aims = append(aims, more...)
			}
		}
		// Decoys that weigh as much as P where the receiver's coin is read
		// as the sender's (family B), and the round ones either side.
		// (For a round P, or where F is tied to P: an arbitrary P with a
		// free F has decoys enough.)
		if bal := balancingDecoy(coin.Entry.Amount, p.Receiver.Entry.Amount, p.Payment); bal > 0 && (roundness(p.Payment) >= roundDecoyStep || !freeFee) {
			g := max(roundness(p.Payment), 1)
			for _, t := range []amount.Sompi{bal, bal + g/2, bal - min(bal, g/2)} {
				d, ok := decoyNear(p.Payment, t, tiedUnit)
				if !ok || !near(p.Payment, d) {
					continue
				}
				aims = append(aims, func(c *candidate) (amount.Sompi, amount.Sompi, bool) {
					return d + p.Payment + c.nodeFee + c.fee, c.nodeFee, true
				})
			}
		}
		if freeFee {
			for _, shift := range []int64{-1, 0, 1} {
				more, err := p.pairAims(coin, 0, shift, rules.Fee, random)
				if err != nil {
					return nil, err
				}
				aims = append(aims, more...)
			}
		}
		for _, aim := range aims {
			c, x, f := mid, amount.Sompi(0), amount.Sompi(0)
			for range 3 { // re-aim while the network fee moves
				var ok bool
				if x, f, ok = aim(c); !ok {
					c = nil
					break
				}
				if x == c.r1 && f == c.nodeFee {
					break
				}
				if x < lo || x > hi || x > total {
					c = nil
					break
				}
				if c, ok = p.settle(coin, x, f, sc); !ok {
					c = nil
					break
				}
			}
			if c == nil || c.r1 != x || c.nodeFee != f || p.exposes(c) {
				continue
			}
			if err := p.score(c, rules, random); err != nil {
				return nil, err
			}
			if better(c, best) {
				best = c
			}
			t := 0
			if c.truthTop {
				t = 1
			}
			if better(c, bestSide[t]) {
				bestSide[t] = c
			}
		}
	}
	if best == nil {
		return nil, nil
	}
	// Left to the score alone, the choice would lean one way between
	// candidates of equal score: P + 1 is nearer P in ratio than P − 1,
	// so the flattest decoy is more often the larger, and an analyst who
	// guesses the smaller payment would be right more often than its
	// confidence says. So the builder keeps a candidate whose top guess
	// is P with the probability the best candidate gives the top guess
	// (its posterior), and one whose top guess is not P otherwise: the
	// analyst's top guess is then right as often as it is sure, and no
	// more.
	r, err := randUint64(random)
	if err != nil {
		return nil, err
	}
	t := 0
	if float64(r>>11)/(1<<53) < min(best.maxPost, 0.5) {
		t = 1
	}
	if bestSide[t] != nil {
		return bestSide[t], nil
	}
	return best, nil
}

// pairAims aim two decoys at once, where the node's fee rule is a range
// and the sender chooses F: d1 and a second decoy d2 as round as P. Of the
// four readings that move with x (A1: S − F − fee − x; A2: x + S − P − F −
// fee − R; B1: R − F − fee − x; B2: x − P − F − fee), the pairs with
// opposite signs of x fix both x and F: F = (K − d1 − d2) / 2 with K as
// below, so d2 is drawn from the window that puts F in [Min, Max].
//
// d1 = 0 centres the pair instead: d1 is the payment as round as P
// nearest (K − Min − Max) / 2 + shift, so that both decoys are about
// K / 2.
func (p PayjoinParams) pairAims(coin UTXO, d1 amount.Sompi, shift int64, rule analysis.FeeRule, random io.Reader) ([]aim, error) {
	S, R, P := int64(coin.Entry.Amount), int64(p.Receiver.Entry.Amount), int64(p.Payment)
	if S < 0 || R < 0 { // above MaxSompi: no such coin
		return nil, nil
	}
	type pairing struct {
		k func(fee int64) int64
		x func(fee, f, d1, d2 int64) int64
	}
	pairings := []pairing{
		{ // A1 = d1, A2 = d2
			func(fee int64) int64 { return 2*S - P - R - 2*fee },
			func(fee, f, d1, _ int64) int64 { return S - f - fee - d1 },
		},
		{ // A1 = d1, B2 = d2
			func(fee int64) int64 { return S - P - 2*fee },
			func(fee, f, _, d2 int64) int64 { return d2 + P + f + fee },
		},
		{ // B1 = d1, A2 = d2
			func(fee int64) int64 { return S - P - 2*fee },
			func(fee, f, d1, _ int64) int64 { return R - fee - f - d1 },
		},
		{ // B1 = d1, B2 = d2
			func(fee int64) int64 { return R - P - 2*fee },
			func(fee, f, _, d2 int64) int64 { return d2 + P + f + fee },
		},
	}
	g := int64(roundness(p.Payment))
	var aims []aim
	for _, pr := range pairings {
		r, err := randUint64(random)
		if err != nil {
			return nil, err
		}
		aims = append(aims, func(c *candidate) (amount.Sompi, amount.Sompi, bool) {
			fee := int64(c.fee)
			d1 := int64(d1)
			if d1 == 0 {
				t := (pr.k(fee)-int64(rule.Min)-int64(rule.Max))/2 + shift*g
				if t <= 0 {
					return 0, 0, false
				}
				d, ok := decoyNear(p.Payment, amount.Sompi(t), 0)
				if !ok || !near(p.Payment, d) {
					return 0, 0, false
				}
				d1 = int64(d)
			}
			k := pr.k(fee) - d1
			// d2 in [k − 2 Max, k − 2 Min], a multiple of g as round as P,
			// k − d2 even.
			lo, hi := k-2*int64(rule.Max), k-2*int64(rule.Min)
			if hi <= 0 {
				return 0, 0, false
			}
			lo = max(lo, 1)
			first := (lo + g - 1) / g
			last := hi / g
			if first > last {
				return 0, 0, false
			}
			n := last - first + 1
			for try := range min(n, 4) {
				d2 := (first + (int64(r%uint64(n))+try)%n) * g
				if (k-d2)%2 != 0 || roundness(amount.Sompi(d2)) != amount.Sompi(g) || !near(p.Payment, amount.Sompi(d2)) {
					continue
				}
				f := (k - d2) / 2
				x := pr.x(fee, f, d1, d2)
				if x <= 0 || f < int64(rule.Min) || f > int64(rule.Max) {
					continue
				}
				return amount.Sompi(x), amount.Sompi(f), true
			}
			return 0, 0, false
		})
	}
	return aims, nil
}

// settle builds coin with first receiver output x, node fee f and the
// least network fee that meets the policy; false where the coin cannot
// pay, the fee does not settle or a mass breaks the budget.
// sc is the coin's transaction, reused: only its amounts change.
func (p PayjoinParams) settle(coin UTXO, x, f amount.Sompi, sc *scratch) (*candidate, bool) {
	total := p.Receiver.Entry.Amount + p.Payment
	c := &candidate{coin: coin, total: total, r1: x, nodeFee: f}
	fixed := uint64(p.Payment) + uint64(f)
	var fee amount.Sompi
	tx, utxos := sc.tx, sc.utxos
	tx.Outputs[0].Amount, tx.Outputs[1].Amount, tx.Outputs[2].Amount = x, total-x, f
	for range 8 {
		if uint64(coin.Entry.Amount) <= fixed+uint64(fee) {
			return nil, false
		}
		c.change = coin.Entry.Amount - amount.Sompi(fixed) - fee
		tx.Outputs[3].Amount = c.change
		m, err := CalcMasses(tx, utxos)
		if err != nil {
			return nil, false
		}
		need := amount.Sompi(p.Policy.RequiredFee(tx, m, p.FeeRate))
		if need <= fee {
			c.fee, c.masses = fee, m
			budget := p.budget()
			// The change reserve is a rule the analyst knows: a coin that
			// pays a larger F than the caller drew must still hold it.
			return c, m.Storage <= budget && m.Compute <= budget && c.change+c.fee >= p.reserve()
		}
		fee = need
	}
	return nil, false
}

// exposes reports whether a receiver output is exactly R or P, which
// would show the receiver's coin and the payment.
func (p PayjoinParams) exposes(c *candidate) bool {
	for _, o := range []amount.Sompi{c.r1, c.total - c.r1} {
		if o == p.Receiver.Entry.Amount || o == p.Payment || o == 0 {
			return true
		}
	}
	return false
}

// score is what the analyst makes of c: the posterior of its top guess of
// P, plus 0.25 when the sender's input is certain, plus coinPenalty per
// doubling between the two coins. Lower is better.
func (p PayjoinParams) score(c *candidate, rules analysis.Rules, random io.Reader) error {
	rep, err := analysis.Analyze(analysis.Tx{
		Inputs:  []amount.Sompi{c.coin.Entry.Amount, p.Receiver.Entry.Amount},
		Outputs: []amount.Sompi{c.r1, c.total - c.r1, c.nodeFee, c.change},
		Fee:     c.fee,
	}, rules, analysis.DefaultPrior)
	if err != nil {
		return fmt.Errorf("payjoin: %w", err)
	}
	c.maxPost = rep.MaxPosterior()
	c.truthTop = rep.TopCredit(p.Payment) > 0.5
	c.score = c.maxPost
	if rep.SenderInputCertain {
		c.score += 0.25
	}
	c.score += coinPenalty * math.Abs(math.Log2(float64(c.coin.Entry.Amount)/float64(p.Receiver.Entry.Amount)))
	c.tieBreak, err = randUint64(random)
	return err
}

// decoyRatios are the decoy's size relative to P, in per mille:
// 2^(k/4) for k = −8 … 8 but 0.
var decoyRatios = [...]uint64{500, 595, 707, 841, 1189, 1414, 1682, 2000}

// nearRatios are the decoy's size for an arbitrary P: 2^(k/8) for k = −4
// … 4 but 0.
var nearRatios = [...]uint64{707, 771, 841, 917, 1091, 1189, 1297, 1414}

// decoyPayment returns a payment as round as p and about p × a ratio drawn
// by r, congruent to p modulo tiedUnit when that is not zero; false when
// the draw gives none.
func decoyPayment(p, tiedUnit amount.Sompi, r uint64) (amount.Sompi, bool) {
	ratio := decoyRatios[r%uint64(len(decoyRatios))]
	if roundness(p) < roundDecoyStep {
		// An arbitrary amount has a decoy at any distance: keep it near.
		ratio = nearRatios[r%uint64(len(nearRatios))]
	}
	h, l := bits.Mul64(uint64(p), ratio)
	if h >= 1000 {
		return 0, false
	}
	target, _ := bits.Div64(h, l, 1000)
	return decoyNear(p, amount.Sompi(target), tiedUnit)
}

// decoyNear returns the payment as round as p nearest target (and
// congruent to p modulo tiedUnit when that is not zero); false when that
// is p itself or there is none.
func decoyNear(p, target, tiedUnit amount.Sompi) (amount.Sompi, bool) {
	g := roundness(p)
	step := g
	if g == amount.SompiPerKAS/2 {
		step = amount.SompiPerKAS // 1.5 + 1 is still a half
	}
	if tiedUnit > 0 {
		var ok bool
		if step, ok = lcm(step, tiedUnit); !ok {
			return 0, false
		}
	}
	var d uint64
	if target >= p {
		k := (uint64(target-p) + uint64(step)/2) / uint64(step)
		hi, lo := bits.Mul64(k, uint64(step))
		if hi != 0 || lo > uint64(amount.MaxSompi) {
			return 0, false
		}
		d = uint64(p) + lo
	} else {
		k := (uint64(p-target) + uint64(step)/2) / uint64(step)
		if k*uint64(step) >= uint64(p) { // k·step < p: no overflow
			return 0, false
		}
		d = uint64(p) - k*uint64(step)
	}
	if d == uint64(p) || d == 0 || d > uint64(amount.MaxSompi) || roundness(amount.Sompi(d)) != g {
		return 0, false
	}
	return amount.Sompi(d), true
}

// near reports whether decoy d is within a factor of 3 of p: a decoy far
// from P is one an analyst who knows how large payments run can rule out.
func near(p, d amount.Sompi) bool {
	return uint64(d)*3 >= uint64(p) && uint64(d) <= 3*uint64(p)
}

// balancingDecoy returns the size of decoy D whose reading with the
// receiver's coin as the sender's weighs as much as the truth under a
// prior of 1/P and a split of density 1/(pair sum): D (S + D) = P (R + P).
func balancingDecoy(s, r, p amount.Sompi) amount.Sompi {
	// D = (sqrt(S² + 4 P (R + P)) − S) / 2, in integers.
	S, R, P := new(big.Int).SetUint64(uint64(s)), new(big.Int).SetUint64(uint64(r)), new(big.Int).SetUint64(uint64(p))
	v := new(big.Int).Mul(S, S)
	v.Add(v, new(big.Int).Lsh(new(big.Int).Mul(P, new(big.Int).Add(R, P)), 2))
	v.Sqrt(v)
	v.Sub(v, S)
	v.Rsh(v, 1)
	if !v.IsUint64() || v.Uint64() > uint64(amount.MaxSompi) {
		return 0
	}
	return amount.Sompi(v.Uint64())
}

// roundness is the roundest step that divides p: the largest power of ten
// (up to 10^13 sompi), or half a KAS for a half that is not whole.
func roundness(p amount.Sompi) amount.Sompi {
	if p == 0 {
		return 0
	}
	g := amount.Sompi(1)
	for g < 10_000_000_000_000 && p%(g*10) == 0 {
		g *= 10
	}
	if g == amount.SompiPerKAS/10 && p%(amount.SompiPerKAS/2) == 0 {
		return amount.SompiPerKAS / 2
	}
	return g
}

func lcm(a, b amount.Sompi) (amount.Sompi, bool) {
	x, y := uint64(a), uint64(b)
	for y != 0 {
		x, y = y, x%y
	}
	h, l := bits.Mul64(uint64(a)/x, uint64(b))
	return amount.Sompi(l), h == 0 && l <= uint64(amount.MaxSompi)
}

// SenderCoins returns the coins a payjoin sender offers Build2In4Out (as
// Sender and SenderAlternatives): up to MaxSenderCoins of utxos holding at
// least min, smallest first.
func SenderCoins(utxos []UTXO, min amount.Sompi) []UTXO {
	var out []UTXO
	for _, u := range utxos {
		if u.Entry.Amount >= min {
			out = append(out, u)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Entry.Amount < out[j].Entry.Amount })
	if len(out) > MaxSenderCoins {
		out = out[:MaxSenderCoins]
	}
	return out
}

// receiverMargin is what a receiver's coin holds beyond the payment, when
// it has such a coin: what a sender's coin would (0.3 KAS of node fee and
// DefaultChangeReserve).
const receiverMargin = 30_000_000 + DefaultChangeReserve

// ReceiverCoins is how many of its smallest eligible coins a receiver
// picks its contribution from.
const ReceiverCoins = 4

// ReceiverCoin returns the coin a payjoin receiver contributes for a
// payment: one drawn at random among the ReceiverCoins smallest of those
// that could pay it as a sender's coin would (payment + 0.3 KAS of node fee
// + DefaultChangeReserve), so that the two inputs look alike and either
// can be read as the sender's; the largest coin where none is that large
// (a large input keeps the storage mass low). false for no coins.
func ReceiverCoin(utxos []UTXO, payment amount.Sompi, random io.Reader) (UTXO, bool, error) {
	if len(utxos) == 0 {
		return UTXO{}, false, nil
	}
	need := uint64(payment) + uint64(receiverMargin)
	var eligible []UTXO
	largest := utxos[0]
	for _, u := range utxos {
		if uint64(u.Entry.Amount) >= need {
			eligible = append(eligible, u)
		}
		if u.Entry.Amount > largest.Entry.Amount {
			largest = u
		}
	}
	if len(eligible) == 0 {
		return largest, true, nil
	}
	sort.SliceStable(eligible, func(i, j int) bool { return eligible[i].Entry.Amount < eligible[j].Entry.Amount })
	n := min(len(eligible), ReceiverCoins)
	if random == nil {
		return eligible[0], true, nil
	}
	r, err := randUint64(random)
	if err != nil {
		return UTXO{}, false, err
	}
	return eligible[r%uint64(n)], true, nil
}
