// Package privacy measures what a chain analyst who knows KPP learns from
// kloak's payjoins: it builds payjoins with the construction kpp's sender
// and receiver use (the node fee of kpp.FeePolicy.NodeFee, the receiver's
// coin from txbuild.ReceiverCoin, the sender's coins from
// txbuild.SenderCoins, txbuild.Build2In4Out), or with the first builder's
// or the Python original's rules for comparison, and runs package
// analysis on each. kloakbench privacy prints its figures; PRIVACY.md
// records them.
package privacy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/txbuild"
)

const kas amount.Sompi = amount.SompiPerKAS

// Distribution is how the simulated wallets' coins and payments are drawn.
type Distribution struct {
	Name string
	// Coins per wallet, each log-uniform in [CoinMin, CoinMax] (arbitrary
	// sompi).
	Coins            int
	CoinMin, CoinMax amount.Sompi
	// Payments log-uniform in [PayMin, PayMax]: half rounded to a whole or
	// half KAS, half arbitrary sompi. A payment the sender's wallet cannot
	// make (no coin holds P + 0.3 KAS + the reserve) is drawn again.
	PayMin, PayMax amount.Sompi
}

// Large and Small are the distributions of issue 11: coins of 1–10,000 KAS
// with payments of 1–1,000 KAS, and coins of 1–50 KAS with payments of
// 1–25 KAS; eight coins in each wallet.
var (
	Large = Distribution{Name: "large", Coins: 8, CoinMin: kas, CoinMax: 10_000 * kas, PayMin: kas, PayMax: 1_000 * kas}
	Small = Distribution{Name: "small", Coins: 8, CoinMin: kas, CoinMax: 50 * kas, PayMin: kas, PayMax: 25 * kas}
)

// Construction is who builds the payjoins.
type Construction string

const (
	// Kloak is kloak's sender and receiver with a kloak node that
	// announces kpp.DefaultNodeFeePolicy (F free of P): the default.
	Kloak Construction = "kloak"
	// KloakTied is kloak's sender and receiver with a node that announces
	// nothing (a Python node): F tied to P.
	KloakTied Construction = "kloak-tied"
	// First is kloak's first builder: F tied to P, a split drawn
	// uniformly from 30–70 %, the sender's smallest sufficient coin, the
	// receiver's largest.
	First Construction = "first"
	// Original is the Python original: F = P mod 0.1 KAS taken from the
	// payment, a 30–70 % split, a fixed network fee of 16,800 sompi.
	Original Construction = "original"
)

// Constructions lists them, the default first.
var Constructions = []Construction{Kloak, KloakTied, First, Original}

// Config is one run.
type Config struct {
	N            int
	Seed         uint64
	Distribution Distribution
	Construction Construction
	// Prior is the analyst's; zero: analysis.DefaultPrior.
	Prior *analysis.Prior
}

// Figures are what the analyst learned, over the payjoins built.
// Percentages are 0–100 of the payjoins built (not refused).
type Figures struct {
	N                  int     `json:"n"`
	PCertain           float64 `json:"p_certain"`
	TopCorrect         float64 `json:"top_correct"`
	SenderInputCertain float64 `json:"sender_input_certain"`
	FeeOutputCertain   float64 `json:"fee_output_certain"`
	MeanReadings       float64 `json:"mean_readings"`
	MeanLog2Readings   float64 `json:"mean_log2_readings"`
	MeanNetworkFee     float64 `json:"mean_network_fee"` // sompi
	MaxStorageMass     uint64  `json:"max_storage_mass"`
	Refused            int     `json:"refused"`
}

// Record is one payjoin as the chain shows it, with the truth: the line
// kloakbench privacy --dump writes.
type Record struct {
	Inputs  []amount.Sompi `json:"inputs"`
	Outputs []amount.Sompi `json:"outputs"`
	Fee     amount.Sompi   `json:"fee"`
	Policy  Policy         `json:"policy"`
	Truth   Truth          `json:"truth"`
}

// Policy is the node's announced fee policy.
type Policy struct {
	FeeMin  amount.Sompi `json:"fee_min"`
	FeeUnit amount.Sompi `json:"fee_unit"`
	FeeMax  amount.Sompi `json:"fee_max,omitempty"`
}

// Truth is who owns what.
type Truth struct {
	SenderInput     int          `json:"sender_input"`
	ReceiverInput   int          `json:"receiver_input"`
	NodeFeeOutput   int          `json:"node_fee_output"`
	ChangeOutput    int          `json:"change_output"`
	ReceiverOutputs [2]int       `json:"receiver_outputs"`
	Payment         amount.Sompi `json:"payment"`
	ChangeOutputs   []int        `json:"change_outputs,omitempty"`
}

// Rules returns what an observer knows of c's payjoins.
func Rules(c Construction) (analysis.Rules, error) {
	switch c {
	case Kloak:
		return txbuild.PayjoinRules(kpp.DefaultNodeFeePolicy.Rule(), 0), nil
	case KloakTied:
		return txbuild.PayjoinRules(kpp.DefaultFeePolicy.Rule(), 0), nil
	case First:
		r := txbuild.PayjoinRules(kpp.DefaultFeePolicy.Rule(), 0)
		r.SplitMin, r.SplitMax = 300, 700
		return r, nil
	case Original:
		return analysis.Rules{Fee: analysis.FeeRule{Kind: analysis.FeeOriginal, Unit: kas / 10}, SplitMin: 300, SplitMax: 700}, nil
	}
	return analysis.Rules{}, fmt.Errorf("privacy: unknown construction %q (want kloak, kloak-tied, first or original)", c)
}

func (c Construction) policy() kpp.FeePolicy {
	if c == Kloak {
		return kpp.DefaultNodeFeePolicy
	}
	return kpp.DefaultFeePolicy
}

// ErrMissedTruth is returned when the analyst's readings leave out the
// true one: the analyst would be wrong about the rules.
var ErrMissedTruth = errors.New("privacy: the analyst missed the true reading")

// Run builds cfg.N payjoins and analyses each; record, if not nil, is
// called with every payjoin built.
func Run(cfg Config, record func(Record) error) (Figures, error) {
	rules, err := Rules(cfg.Construction)
	if err != nil {
		return Figures{}, err
	}
	if cfg.N <= 0 || cfg.Distribution.Coins <= 0 || cfg.Distribution.CoinMin == 0 || cfg.Distribution.CoinMin > cfg.Distribution.CoinMax ||
		cfg.Distribution.PayMin == 0 || cfg.Distribution.PayMin > cfg.Distribution.PayMax {
		return Figures{}, fmt.Errorf("privacy: bad config: n %d, distribution %+v", cfg.N, cfg.Distribution)
	}
	prior := analysis.DefaultPrior
	if cfg.Prior != nil {
		prior = *cfg.Prior
	}
	s := newSim(cfg)
	var f Figures
	var fees, log2 float64
	for range cfg.N {
		rec, masses, err := s.payjoin()
		if errors.Is(err, errRefused) {
			f.Refused++
			continue
		}
		if err != nil {
			return f, err
		}
		rep, err := analysis.Analyze(analysis.Tx{Inputs: rec.Inputs, Outputs: rec.Outputs, Fee: rec.Fee}, rules, prior)
		if err != nil {
			return f, err
		}
		t := rec.Truth
		if !rep.Has(t.SenderInput, t.NodeFeeOutput, t.ChangeOutput) {
			return f, fmt.Errorf("%w: %+v", ErrMissedTruth, rec)
		}
		f.N++
		f.PCertain += b2f(rep.PaymentCertain)
		f.TopCorrect += rep.TopCredit(t.Payment)
		f.SenderInputCertain += b2f(rep.SenderInputCertain)
		f.FeeOutputCertain += b2f(rep.FeeOutputCertain)
		f.MeanReadings += float64(len(rep.Readings))
		log2 += math.Log2(float64(len(rep.Readings)))
		fees += float64(rec.Fee)
		f.MaxStorageMass = max(f.MaxStorageMass, masses.Storage)
		if record != nil {
			if err := record(rec); err != nil {
				return f, err
			}
		}
	}
	if f.N > 0 {
		n := float64(f.N)
		f.PCertain *= 100 / n
		f.TopCorrect *= 100 / n
		f.SenderInputCertain *= 100 / n
		f.FeeOutputCertain *= 100 / n
		f.MeanReadings /= n
		f.MeanLog2Readings = log2 / n
		f.MeanNetworkFee = fees / n
	}
	return f, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var errRefused = errors.New("refused")

type sim struct {
	cfg   Config
	rng   *rand.Rand
	addrs [5]address.Address // receiver 1, receiver 2, node fee, change, coins
	next  uint32
}

func newSim(cfg Config) *sim {
	s := &sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6b6c6f616b))}
	for i := range s.addrs {
		var pub [32]byte
		pub[0], pub[31] = byte(i+1), 0x5a
		a, err := address.New(address.Mainnet, address.PubKey, pub[:])
		if err != nil {
			panic(err) // 32 bytes for a PubKey address: cannot fail
		}
		s.addrs[i] = a
	}
	return s
}

// Read makes the simulation's generator the builder's randomness, so a
// seed reproduces a run.
func (s *sim) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], s.rng.Uint64())
		copy(p[i:], b[:])
	}
	return len(p), nil
}

// logUniform draws from [lo, hi] log-uniformly, to the sompi.
func (s *sim) logUniform(lo, hi amount.Sompi) amount.Sompi {
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	v := amount.Sompi(math.Exp(l + s.rng.Float64()*(h-l)))
	return min(max(v, lo), hi)
}

func (s *sim) wallet() []txbuild.UTXO {
	d := s.cfg.Distribution
	out := make([]txbuild.UTXO, d.Coins)
	for i := range out {
		s.next++
		out[i] = txbuild.UTXO{
			Address:  s.addrs[4],
			Outpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{byte(s.next), byte(s.next >> 8), byte(s.next >> 16), byte(s.next >> 24)}, Index: 0},
			Entry:    txbuild.UTXOEntry{Amount: s.logUniform(d.CoinMin, d.CoinMax), ScriptPublicKey: s.addrs[4].ScriptPublicKey()},
		}
	}
	return out
}

// payment draws a payment: half whole or half KAS, half arbitrary sompi.
// Drawing the amount is the simulation's only use of floating point; the
// payjoin is built in integer sompi.
func (s *sim) payment() amount.Sompi {
	d := s.cfg.Distribution
	p := s.logUniform(d.PayMin, d.PayMax)
	if s.rng.IntN(2) == 0 {
		half := kas / 2
		p = max((p+half/2)/half*half, half*2)
	}
	return p
}

// payjoin builds one payjoin: wallets, payment, coins, transaction.
func (s *sim) payjoin() (Record, txbuild.Masses, error) {
	c := s.cfg.Construction
	reserve := amount.Sompi(txbuild.DefaultChangeReserve)
	if c == Original {
		reserve = 0
	}
	var sender, receiver []txbuild.UTXO
	var p amount.Sompi
	for {
		sender, receiver = s.wallet(), s.wallet()
		ok := false
		for range 20 {
			p = s.payment()
			for _, u := range sender {
				ok = ok || u.Entry.Amount >= p+30_000_000+reserve+20_000
			}
			if ok {
				break
			}
		}
		if ok {
			break
		}
	}
	switch c {
	case Kloak, KloakTied:
		return s.kloak(c, sender, receiver, p)
	case First:
		return s.first(sender, receiver, p)
	default:
		return s.original(sender, receiver, p)
	}
}

// kloak is what kpp.SenderPrepare and kpp.ReceiverInitiate do.
func (s *sim) kloak(c Construction, sender, receiver []txbuild.UTXO, p amount.Sompi) (Record, txbuild.Masses, error) {
	policy := c.policy()
	r, ok, err := txbuild.ReceiverCoin(receiver, p, s)
	if err != nil || !ok {
		return Record{}, txbuild.Masses{}, fmt.Errorf("privacy: receiver coin: %v", err)
	}
	f, err := policy.NodeFee(p, s)
	if err != nil {
		return Record{}, txbuild.Masses{}, err
	}
	// As kpp's sender: coins that hold the drawn fee (the builder pays a
	// larger one only from a coin that holds it).
	coins := txbuild.SenderCoins(sender, p+f+txbuild.DefaultChangeReserve)
	if len(coins) == 0 {
		return Record{}, txbuild.Masses{}, errRefused
	}
	pj, err := txbuild.Build2In4Out(txbuild.PayjoinParams{
		Sender: coins[0], SenderAlternatives: coins[1:], SenderChange: s.addrs[3],
		Receiver: r, ReceiverAddresses: [2]address.Address{s.addrs[0], s.addrs[1]},
		Payment: p, NodeFee: f, NodeFeeAddress: s.addrs[2],
		Policy: txbuild.PolicyFor(address.Mainnet), FeeRate: txbuild.SompiPerGram(1),
		FeeRule: policy.Rule(), ChangeReserve: txbuild.DefaultChangeReserve, Random: s,
	})
	if err != nil {
		return Record{}, txbuild.Masses{}, errRefused
	}
	rec := Record{Fee: pj.NetworkFee, Policy: Policy{FeeMin: policy.Min, FeeUnit: policy.Unit, FeeMax: policy.Max}}
	for _, e := range pj.UTXOs {
		rec.Inputs = append(rec.Inputs, e.Amount)
	}
	rec.Truth = Truth{SenderInput: pj.SenderInput, ReceiverInput: pj.ReceiverInput, Payment: p}
	n := 0
	for i, o := range pj.Tx.Outputs {
		rec.Outputs = append(rec.Outputs, o.Amount)
		switch {
		case o.ScriptPublicKey.Equal(s.addrs[2].ScriptPublicKey()):
			rec.Truth.NodeFeeOutput = i
		case o.ScriptPublicKey.Equal(s.addrs[3].ScriptPublicKey()):
			rec.Truth.ChangeOutput = i
		default:
			rec.Truth.ReceiverOutputs[n] = i
			n++
		}
	}
	return rec, pj.Masses, nil
}

// first is kloak's first builder (before issue 11), rebuilt from its
// rules: the sender's smallest coin holding P + F + 0.5 KAS, the
// receiver's largest coin, F tied to P, a split uniform in 30–70 %
// narrowed around the middle until the storage mass fits, the network fee
// from the masses.
func (s *sim) first(sender, receiver []txbuild.UTXO, p amount.Sompi) (Record, txbuild.Masses, error) {
	f, err := kpp.DefaultFeePolicy.Fee(p)
	if err != nil {
		return Record{}, txbuild.Masses{}, err
	}
	coins := txbuild.SenderCoins(sender, p+f+txbuild.DefaultChangeReserve)
	if len(coins) == 0 {
		return Record{}, txbuild.Masses{}, errRefused
	}
	S, R := coins[0].Entry.Amount, largest(receiver)
	total := R + p
	lo, hi := (total*3+9)/10, total*7/10
	draw := amount.Sompi(s.rng.Uint64())
	outs := func(r1, change amount.Sompi) []amount.Sompi { return []amount.Sompi{r1, total - r1, f, change} }
	var fee amount.Sompi
	var m txbuild.Masses
	var r1 amount.Sompi
	for range 8 {
		if S <= p+f+fee {
			return Record{}, txbuild.Masses{}, errRefused
		}
		change := S - p - f - fee
		// Narrow [lo, hi] around the middle until the storage mass fits.
		a, b := lo, total/2
		for a < b {
			c := a + (b-a)/2
			if ms := s.masses([]amount.Sompi{S, R}, outs(c, change)); ms.Storage <= txbuild.MaximumStandardMass {
				b = c
			} else {
				a = c + 1
			}
		}
		b = total - a
		if a > hi {
			a, b = total/2, total/2
		}
		r1 = a + draw%(max(b, a)-a+1)
		m = s.masses([]amount.Sompi{S, R}, outs(r1, change))
		need := amount.Sompi(txbuild.PolicyFor(address.Mainnet).RequiredFee(s.tx([]amount.Sompi{S, R}, outs(r1, change)), m, txbuild.SompiPerGram(1)))
		if need <= fee {
			if m.Storage > txbuild.MaximumStandardMass {
				return Record{}, txbuild.Masses{}, errRefused
			}
			return s.shuffled([]amount.Sompi{S, R}, outs(r1, change), fee, p, Policy{FeeMin: kpp.DefaultFeePolicy.Min, FeeUnit: kpp.DefaultFeePolicy.Unit}), m, nil
		}
		fee = need
	}
	return Record{}, txbuild.Masses{}, errRefused
}

// original is the Python original's kpp_tx_construct (kloak-v1-python.md
// §4.1): the receiver's pair gets R + floor(P / 0.1 KAS) × 0.1 KAS, the
// node P mod 0.1 KAS (or 1 sompi), a split uniform in 30–70 %, a fixed
// network fee of 16,800 sompi (its 2-in-4-out estimate). The coins: the
// sender's smallest that covers its debit, the receiver's largest. It
// ignores storage mass: MaxStorageMass shows what the network would say.
func (s *sim) original(sender, receiver []txbuild.UTXO, p amount.Sompi) (Record, txbuild.Masses, error) {
	const unit, fee = kas / 10, 16_800
	pr := p / unit * unit
	d := p - pr
	if d == 0 {
		d = 1
	}
	coins := txbuild.SenderCoins(sender, pr+d+fee+1)
	if len(coins) == 0 || pr == 0 {
		return Record{}, txbuild.Masses{}, errRefused
	}
	S, R := coins[0].Entry.Amount, largest(receiver)
	total := R + pr
	lo, hi := max(total*3/10, 1), min(total*7/10, total-1)
	r1 := total / 2
	if lo <= hi {
		r1 = lo + amount.Sompi(s.rng.Uint64()%uint64(hi-lo+1))
	}
	outs := []amount.Sompi{r1, total - r1, d, S - pr - d - fee}
	m := s.masses([]amount.Sompi{S, R}, outs)
	return s.shuffled([]amount.Sompi{S, R}, outs, fee, p, Policy{FeeMin: 0, FeeUnit: unit}), m, nil
}

func largest(us []txbuild.UTXO) amount.Sompi {
	var l amount.Sompi
	for _, u := range us {
		l = max(l, u.Entry.Amount)
	}
	return l
}

// tx is a 2-input, 4-output transaction of these amounts, signed-size.
func (s *sim) tx(ins, outs []amount.Sompi) *txbuild.Transaction {
	tx := &txbuild.Transaction{}
	for i := range ins {
		tx.Inputs = append(tx.Inputs, txbuild.Input{PreviousOutpoint: txbuild.Outpoint{Index: uint32(i)}, SigOpCount: 1, SignatureScript: make([]byte, 66)})
	}
	for i, a := range outs {
		tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: a, ScriptPublicKey: s.addrs[i%4].ScriptPublicKey()})
	}
	return tx
}

func (s *sim) masses(ins, outs []amount.Sompi) txbuild.Masses {
	entries := make([]txbuild.UTXOEntry, len(ins))
	for i, a := range ins {
		entries[i] = txbuild.UTXOEntry{Amount: a, ScriptPublicKey: s.addrs[4].ScriptPublicKey()}
	}
	m, _ := txbuild.CalcMasses(s.tx(ins, outs), entries)
	return m
}

// shuffled records ins (sender first) and outs (receiver pair, node fee,
// change) in random order, as the builders shuffle them.
func (s *sim) shuffled(ins, outs []amount.Sompi, fee, p amount.Sompi, pol Policy) Record {
	rec := Record{Fee: fee, Policy: pol, Truth: Truth{Payment: p}}
	in := s.rng.Perm(2)
	rec.Inputs = []amount.Sompi{ins[in[0]], ins[in[1]]}
	for i, k := range in {
		if k == 0 {
			rec.Truth.SenderInput = i
		} else {
			rec.Truth.ReceiverInput = i
		}
	}
	perm := s.rng.Perm(4)
	rec.Outputs = make([]amount.Sompi, 4)
	n := 0
	for i, k := range perm {
		rec.Outputs[i] = outs[k]
		switch k {
		case 2:
			rec.Truth.NodeFeeOutput = i
		case 3:
			rec.Truth.ChangeOutput = i
		default:
			rec.Truth.ReceiverOutputs[n] = i
			n++
		}
	}
	return rec
}
