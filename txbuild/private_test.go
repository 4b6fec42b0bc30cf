package txbuild

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
)

func TestRoundness(t *testing.T) {
	const kas = amount.SompiPerKAS
	for _, tc := range []struct{ p, want amount.Sompi }{
		{1, 1}, {7_123_456_789, 1}, {1_234 * kas / 100, kas / 100}, {3 * kas / 10, kas / 10},
		{3 * kas / 2, kas / 2}, {3 * kas, kas}, {30 * kas, 10 * kas}, {100 * kas, 100 * kas}, {0, 0},
	} {
		if got := roundness(tc.p); got != tc.want {
			t.Errorf("roundness(%d) = %d, want %d", tc.p, got, tc.want)
		}
	}
}

// A decoy is exactly as round as P, never P, within a factor of about 4,
// and congruent to P modulo a tied fee unit.
func TestDecoyPayment(t *testing.T) {
	const kas = amount.SompiPerKAS
	for _, p := range []amount.Sompi{kas, 3 * kas, 3 * kas / 2, 100 * kas, 1_234 * kas / 100, 712_345_678, 3 * kas / 10, 250_000_000_003} {
		for _, unit := range []amount.Sompi{0, kas / 10} {
			made := 0
			for r := range uint64(400) {
				d, ok := decoyPayment(p, unit, r*0x9e3779b97f4a7c15)
				if !ok {
					continue
				}
				made++
				if d == p || roundness(d) != roundness(p) {
					t.Fatalf("P %d: decoy %d, roundness %d vs %d", p, d, roundness(d), roundness(p))
				}
				if unit > 0 && d%unit != p%unit {
					t.Fatalf("P %d: decoy %d not congruent modulo %d", p, d, unit)
				}
				step := max(roundness(p), unit, kas)
				if d*4 < p-min(p, 4*step) || d > 4*p+4*step {
					t.Fatalf("P %d: decoy %d too far", p, d)
				}
			}
			if made == 0 {
				t.Errorf("P %d unit %d: no decoy", p, unit)
			}
		}
	}
	if _, ok := decoyPayment(amount.MaxSompi, 0, 15); ok {
		t.Error("a decoy above the supply")
	}
}

// With a node fee range, the builder chooses among the sender's coins and
// F within the range, and the analyst of package analysis finds the true
// reading among others.
func TestBuild2In4OutPrivate(t *testing.T) {
	const kas = amount.SompiPerKAS
	rule := analysis.FeeRule{Kind: analysis.FeeRange, Min: kas / 5, Unit: kas / 10, Max: 3 * kas / 10}
	rules := PayjoinRules(rule, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	ambiguous, senderUnsure := 0, 0
	const runs = 200
	for seed := range uint64(runs) {
		p := amount.Sompi(1+rng.IntN(300)) * kas / 2
		if seed%2 == 1 {
			p += amount.Sompi(rng.IntN(kas))
		}
		f := newPayjoin(t, 0, p+amount.Sompi(rng.Int64N(int64(20*p))), p, seed)
		f.params.NodeFee = rule.Min + amount.Sompi(rng.IntN(kas/10))
		f.params.FeeRule = rule
		var coins []UTXO
		for i := range 5 {
			u := f.params.Sender
			u.Outpoint.Index = uint32(i)
			u.Entry.Amount = p + kas + amount.Sompi(rng.Int64N(int64(10*p)))
			coins = append(coins, u)
		}
		f.params.Sender, f.params.SenderAlternatives = coins[0], coins[1:]
		pj, err := Build2In4Out(f.params)
		if err != nil {
			t.Fatal(err)
		}
		if pj.NodeFee < rule.Min || pj.NodeFee > rule.Max {
			t.Fatalf("node fee %d outside the range", pj.NodeFee)
		}
		if pj.Tx.Inputs[pj.SenderInput].PreviousOutpoint != pj.Sender.Outpoint || pj.UTXOs[pj.SenderInput].Amount != pj.Sender.Entry.Amount {
			t.Fatal("Payjoin.Sender is not the input spent")
		}
		found := false
		for _, c := range coins {
			found = found || c.Outpoint == pj.Sender.Outpoint
		}
		if !found {
			t.Fatal("spent a coin it was not offered")
		}
		if err := VerifyAsReceiver(pj.Tx, f.terms(pj)); err != nil {
			t.Fatal(err)
		}
		tx := analysis.Tx{Fee: pj.NetworkFee}
		var truth [3]int
		truth[0] = pj.SenderInput
		for _, e := range pj.UTXOs {
			tx.Inputs = append(tx.Inputs, e.Amount)
		}
		for i, o := range pj.Tx.Outputs {
			tx.Outputs = append(tx.Outputs, o.Amount)
			switch {
			case o.ScriptPublicKey.Equal(f.params.NodeFeeAddress.ScriptPublicKey()):
				truth[1] = i
			case o.ScriptPublicKey.Equal(f.params.SenderChange.ScriptPublicKey()):
				truth[2] = i
			}
		}
		rep, err := analysis.Analyze(tx, rules, analysis.DefaultPrior)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Has(truth[0], truth[1], truth[2]) {
			t.Fatalf("the analyst missed the truth: %+v", rep.Readings)
		}
		if len(rep.Guesses) > 1 && rep.MaxPosterior() < 0.9 {
			ambiguous++
		}
		if !rep.SenderInputCertain {
			senderUnsure++
		}
	}
	if ambiguous < runs*9/10 || senderUnsure < runs*8/10 {
		t.Errorf("of %d payjoins, %d leave P in doubt and %d the sender's input", runs, ambiguous, senderUnsure)
	}
}

func TestVerifyAsReceiverExposingSplit(t *testing.T) {
	const kas = amount.SompiPerKAS
	f := newPayjoin(t, 50*kas, 100*kas, 10*kas, 1)
	pj, err := Build2In4Out(f.params)
	if err != nil {
		t.Fatal(err)
	}
	tx := pj.Tx.Clone()
	for i, o := range tx.Outputs {
		switch {
		case o.ScriptPublicKey.Equal(f.receiverAddrs[0].ScriptPublicKey()):
			tx.Outputs[i].Amount = 100 * kas
		case o.ScriptPublicKey.Equal(f.receiverAddrs[1].ScriptPublicKey()):
			tx.Outputs[i].Amount = 10 * kas
		}
	}
	if err := VerifyAsReceiver(tx, f.terms(pj)); !errors.Is(err, ErrExposingSplit) {
		t.Fatalf("outputs of exactly R and P: %v", err)
	}
	// A split of 1 % and 99 %, and all of R + P to one address (the other
	// output moved to the first address), are refused too; so is a
	// receiver input that counts no signature operation.
	for name, mutate := range map[string]func(tx *Transaction){
		"1 % split": func(tx *Transaction) {
			for i, o := range tx.Outputs {
				switch {
				case o.ScriptPublicKey.Equal(f.receiverAddrs[0].ScriptPublicKey()):
					tx.Outputs[i].Amount = 110 * kas / 100
				case o.ScriptPublicKey.Equal(f.receiverAddrs[1].ScriptPublicKey()):
					tx.Outputs[i].Amount = 110*kas - 110*kas/100
				}
			}
		},
		"one address": func(tx *Transaction) {
			for i, o := range tx.Outputs {
				if o.ScriptPublicKey.Equal(f.receiverAddrs[1].ScriptPublicKey()) {
					tx.Outputs[i].ScriptPublicKey = f.receiverAddrs[0].ScriptPublicKey()
				}
			}
		},
	} {
		tx := pj.Tx.Clone()
		mutate(tx)
		if err := VerifyAsReceiver(tx, f.terms(pj)); !errors.Is(err, ErrExposingSplit) {
			t.Errorf("%s: %v", name, err)
		}
	}
	tx = pj.Tx.Clone()
	tx.Inputs[pj.ReceiverInput].SigOpCount = 0
	if err := VerifyAsReceiver(tx, f.terms(pj)); !errors.Is(err, ErrNotAgreedShape) {
		t.Errorf("SigOpCount 0: %v", err)
	}
	if err := VerifyAsReceiver(pj.Tx, f.terms(pj)); err != nil {
		t.Errorf("the builder's own split: %v", err)
	}
}

func TestSenderAndReceiverCoins(t *testing.T) {
	const kas = amount.SompiPerKAS
	var us []UTXO
	for i, a := range []amount.Sompi{7, 1, 9, 3, 20, 5, 2, 11} {
		us = append(us, UTXO{Outpoint: Outpoint{Index: uint32(i)}, Entry: UTXOEntry{Amount: a * kas}})
	}
	got := SenderCoins(us, 3*kas)
	want := []amount.Sompi{3, 5, 7, 9, 11}
	if len(got) != len(want) {
		t.Fatalf("SenderCoins: %d coins", len(got))
	}
	for i := range want {
		if got[i].Entry.Amount != want[i]*kas {
			t.Errorf("SenderCoins[%d] = %s, want %d KAS", i, got[i].Entry.Amount, want[i])
		}
	}
	if len(SenderCoins(us, 21*kas)) != 0 {
		t.Error("SenderCoins above the largest")
	}
	// For 4 KAS a receiver contributes one of its ReceiverCoins (4)
	// smallest coins of at least 4.8 KAS: 5, 7, 9 or 11.
	rng := seededReader{rand.New(rand.NewPCG(1, 2))}
	seen := map[amount.Sompi]int{}
	for range 400 {
		u, ok, err := ReceiverCoin(us, 4*kas, rng)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		seen[u.Entry.Amount/kas]++
	}
	if len(seen) != 4 || seen[5] == 0 || seen[7] == 0 || seen[9] == 0 || seen[11] == 0 {
		t.Errorf("ReceiverCoin(4 KAS): %v", seen)
	}
	if u, ok, _ := ReceiverCoin(us, 30*kas, rng); !ok || u.Entry.Amount != 20*kas {
		t.Errorf("ReceiverCoin(30 KAS) = %s, want the largest", u.Entry.Amount)
	}
	if _, ok, _ := ReceiverCoin(nil, kas, rng); ok {
		t.Error("ReceiverCoin of no coins")
	}
}
