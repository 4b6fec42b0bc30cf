package txbuild

import (
	"fmt"
	"io"
	"math/bits"
	"sort"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
)

// The privacy construction of Build2In4Out.
//
// An observer who knows KPP reads a payjoin by trying every assignment of
// the roles (package analysis): which input is the sender's coin S, which
// output the node fee F, which the sender's change C; the two left are the
// receiver's pair, which sums to R + P. The first builder drew the split
// of R + P uniformly from 30–70 % and the node fee tied P + F to a
// multiple of 0.1 KAS, and exactly one reading fitted every payjoin.
//
// The sender chooses the split x (the first receiver output) freely, and
// with it what the other readings say. Two families of readings move with
// x (outputs x, T − x, F, C with T = R + P):
//
//   - A, same sender, change and a receiver output swapped: the pair
//     {T − x, C} names the payment P + C − x. Aiming x = P + C − D makes
//     it D.
//   - B, the receiver's coin read as the sender's: the pair {x, C} minus S
//     names x − P − F − fee. Aiming x = D + P + F + fee makes it D.
//
// Each family is its own inverse (read from the decoy, the truth is the
// same kind of reading), so nothing in the shape tells the truth from the
// decoy. The decoy D is drawn as round as P (the same power of ten, or
// half KAS, divides both and nothing rounder divides either), congruent to
// P modulo the node's fee unit where F is tied to P, and within a factor
// of 4 of P, log-uniform, so that a prior on payments that favours round
// and small amounts cannot tell them apart. The builder weighs random
// splits and aimed ones over each of the sender's coins it is offered,
// scores each with the analyst (the posterior of its top guess of P, plus
// a penalty when the sender's input is certain) and keeps the lowest,
// breaking ties at random. The score does not look at which reading is
// the truth.

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
	return analysis.Rules{Fee: fee, SplitMin: SplitMin, SplitMax: SplitMax, ChangeReserve: reserve}
}

// candidate is one way to build the payjoin: the sender's coin, the first
// receiver output r1 of total = R + P, the change and the network fee.
type candidate struct {
	coin                UTXO
	total, r1, change   amount.Sompi
	nodeFee, fee        amount.Sompi
	masses              Masses
	score               float64
	tieBreak            uint64
	senderInputsCertain bool
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

// coins returns the sender's coins to weigh: Sender first, then the
// alternatives that hold P + F + the reserve, at most MaxSenderCoins in
// all, no outpoint twice.
func (p PayjoinParams) coins() []UTXO {
	reserve := p.ChangeReserve
	if reserve == 0 {
		reserve = DefaultChangeReserve
	}
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
	var best *candidate
	for _, coin := range p.coins() {
		if uint64(coin.Entry.Amount) <= uint64(p.Payment)+uint64(p.NodeFee) {
			continue
		}
		// The network fee of a middle split: with a split aimed from it,
		// the fee is the same but where storage mass sets it.
		mid, ok := p.settle(coin, total/2, p.NodeFee)
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
				more, err := p.pairAims(coin, d, rules.Fee, random)
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
				if c, ok = p.settle(coin, x, f); !ok {
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
			if best == nil || c.score < best.score || (c.score == best.score && c.tieBreak < best.tieBreak) {
				best = c
			}
		}
	}
	return best, nil
}

// pairAims aim two decoys at once, where the node's fee rule is a range
// and the sender chooses F: d1 and a second decoy d2 as round as P. Of the
// four readings that move with x (A1: S − F − fee − x; A2: x + S − P − F −
// fee − R; B1: R − F − fee − x; B2: x − P − F − fee), the pairs with
// opposite signs of x fix both x and F: F = (K − d1 − d2) / 2 with K as
// below, so d2 is drawn from the window that puts F in [Min, Max].
func (p PayjoinParams) pairAims(coin UTXO, d1 amount.Sompi, rule analysis.FeeRule, random io.Reader) ([]aim, error) {
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
			k := pr.k(fee) - int64(d1)
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
				if (k-d2)%2 != 0 || roundness(amount.Sompi(d2)) != amount.Sompi(g) {
					continue
				}
				f := (k - d2) / 2
				x := pr.x(fee, f, int64(d1), d2)
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
func (p PayjoinParams) settle(coin UTXO, x, f amount.Sompi) (*candidate, bool) {
	total := p.Receiver.Entry.Amount + p.Payment
	c := &candidate{coin: coin, total: total, r1: x, nodeFee: f}
	fixed := uint64(p.Payment) + uint64(f)
	var fee amount.Sompi
	for range 8 {
		if uint64(coin.Entry.Amount) <= fixed+uint64(fee) {
			return nil, false
		}
		c.change = coin.Entry.Amount - amount.Sompi(fixed) - fee
		tx, utxos := c.skeleton(p)
		m, err := CalcMasses(tx, utxos)
		if err != nil {
			return nil, false
		}
		need := amount.Sompi(p.Policy.RequiredFee(tx, m, p.FeeRate))
		if need <= fee {
			c.fee, c.masses = fee, m
			budget := p.budget()
			return c, m.Storage <= budget && m.Compute <= budget
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
// P, plus 0.25 when the sender's input is certain. Lower is better.
func (p PayjoinParams) score(c *candidate, rules analysis.Rules, random io.Reader) error {
	rep, err := analysis.Analyze(analysis.Tx{
		Inputs:  []amount.Sompi{c.coin.Entry.Amount, p.Receiver.Entry.Amount},
		Outputs: []amount.Sompi{c.r1, c.total - c.r1, c.nodeFee, c.change},
		Fee:     c.fee,
	}, rules, analysis.DefaultPrior)
	if err != nil {
		return fmt.Errorf("payjoin: %w", err)
	}
	c.score = rep.MaxPosterior()
	if rep.SenderInputCertain {
		c.score += 0.25
	}
	c.tieBreak, err = randUint64(random)
	return err
}

// decoyRatios are the decoy's size relative to P, in per mille:
// 2^(k/4) for k = −8 … 8 but 0.
var decoyRatios = [...]uint64{250, 297, 354, 420, 500, 595, 707, 841, 1189, 1414, 1682, 2000, 2378, 2828, 3364, 4000}

// decoyPayment returns a payment as round as p and about p × a ratio drawn
// by r, congruent to p modulo tiedUnit when that is not zero; false when
// the draw gives none.
func decoyPayment(p, tiedUnit amount.Sompi, r uint64) (amount.Sompi, bool) {
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
	h, l := bits.Mul64(uint64(p), decoyRatios[r%uint64(len(decoyRatios))])
	if h >= 1000 {
		return 0, false
	}
	target, _ := bits.Div64(h, l, 1000)
	var d uint64
	if target >= uint64(p) {
		k := (target - uint64(p) + uint64(step)/2) / uint64(step)
		hi, lo := bits.Mul64(k, uint64(step))
		if hi != 0 || lo > uint64(amount.MaxSompi) {
			return 0, false
		}
		d = uint64(p) + lo
	} else {
		k := (uint64(p) - target + uint64(step)/2) / uint64(step)
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

// ReceiverCoins is how many of its smallest eligible coins a receiver
// picks its contribution from.
const ReceiverCoins = 3

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
	need := uint64(payment) + 30_000_000 + uint64(DefaultChangeReserve)
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
