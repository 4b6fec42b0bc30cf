package analysis

import (
	"errors"
	"testing"

	"github.com/kloakprotocol/kloak/amount"
)

const kas = amount.SompiPerKAS

var (
	tiedRule  = Rules{Fee: FeeRule{Kind: FeeTied, Min: kas / 5, Unit: kas / 10}, SplitMin: 300, SplitMax: 700, ChangeReserve: kas / 2}
	rangeRule = Rules{Fee: FeeRule{Kind: FeeRange, Min: kas / 5, Unit: kas / 10, Max: 3 * kas / 10}, SplitMin: 300, SplitMax: 700, ChangeReserve: kas / 2}
)

// handBuilt is a payjoin of P = 25 KAS: sender coin 60 KAS (input 0),
// receiver coin 100 KAS (input 1), receiver outputs 50 and 75 KAS, node
// fee 0.2 KAS (today's rule: 25 + 0.2 is round), network fee 3,700 sompi,
// change 60 − 25 − 0.2 − 0.000037.
func handBuilt() Tx {
	const fee amount.Sompi = 3_700
	change := 60*kas - 25*kas - kas/5 - fee
	return Tx{Inputs: []amount.Sompi{60 * kas, 100 * kas}, Outputs: []amount.Sompi{50 * kas, kas / 5, change, 75 * kas}, Fee: fee}
}

func TestTiedFeeReadsEverything(t *testing.T) {
	r, err := Analyze(handBuilt(), tiedRule, DefaultPrior)
	if err != nil {
		t.Fatal(err)
	}
	// Both coins are whole KAS, so reading the receiver's coin as the
	// sender's also gives a round payment: 50 + 75 − 60 = 65 KAS.
	if len(r.Readings) != 2 || r.PaymentCertain || r.SenderInputCertain || !r.FeeOutputCertain {
		t.Fatalf("readings %+v, want the true one and 65 KAS", r.Readings)
	}
	rd := r.Readings[0]
	if rd.Payment != 25*kas || rd.SenderInput != 0 || rd.FeeOutput != 1 || rd.ChangeOutput != 2 || r.TopCredit(25*kas) != 1 {
		t.Fatalf("reading %+v", rd)
	}
	if r.Readings[1].Payment != 65*kas || r.Readings[1].SenderInput != 1 {
		t.Fatalf("second reading %+v", r.Readings[1])
	}
	// A sender coin of 60 KAS and 1,234 sompi leaves one reading: the
	// payment, both coins, the change and the node fee are all read.
	tx := handBuilt()
	tx.Inputs[0] += 1_234
	tx.Outputs[2] += 1_234
	r, err = Analyze(tx, tiedRule, DefaultPrior)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Readings) != 1 || !r.PaymentCertain || !r.SenderInputCertain || !r.FeeOutputCertain || !r.Has(0, 1, 2) {
		t.Fatalf("readings %+v, want the one true reading", r.Readings)
	}
}

// With F free of P, the hand-built transaction has five readings (worked
// out by hand in the comments); the round 25 KAS, the smallest round one,
// is the top guess.
func TestRangeFeeReadings(t *testing.T) {
	r, err := Analyze(handBuilt(), rangeRule, DefaultPrior)
	if err != nil {
		t.Fatal(err)
	}
	want := map[amount.Sompi]bool{
		25 * kas:            true, // S, change 2: the truth
		9*kas + 79_996_300:  true, // S, change 0: pair 75 + 34.799963 − 100
		65 * kas:            true, // R as sender, change 2: 50 + 75 − 60
		49*kas + 79_996_300: true, // R, change 0: 75 + 34.799963 − 60
		24*kas + 79_996_300: true, // R, change 3: 50 + 34.799963 − 60
	}
	if len(r.Readings) != len(want) {
		t.Fatalf("%d readings %+v, want %d", len(r.Readings), r.Readings, len(want))
	}
	for _, rd := range r.Readings {
		if !want[rd.Payment] {
			t.Errorf("unexpected reading %+v", rd)
		}
	}
	if r.PaymentCertain || r.SenderInputCertain || !r.FeeOutputCertain {
		t.Errorf("certain: payment %v sender %v fee %v", r.PaymentCertain, r.SenderInputCertain, r.FeeOutputCertain)
	}
	if r.Guesses[0].Payment != 25*kas || r.TopCredit(25*kas) != 1 || r.TopCredit(65*kas) != 0 {
		t.Errorf("top guess %+v", r.Guesses[0])
	}
	if !r.Has(0, 1, 2) || r.Has(0, 1, 3) {
		t.Error("Has")
	}
}

// The original: P = 25.05 KAS, the receiver's pair gains 25 KAS, F = 0.05.
func TestOriginalRule(t *testing.T) {
	const fee amount.Sompi = 16_800
	change := 60*kas - 25*kas - kas/20 - fee
	tx := Tx{Inputs: []amount.Sompi{100*kas + 777, 60 * kas}, Outputs: []amount.Sompi{change, 50*kas + 777, 75 * kas, kas / 20}, Fee: fee}
	rules := Rules{Fee: FeeRule{Kind: FeeOriginal, Unit: kas / 10}, SplitMin: 300, SplitMax: 700}
	r, err := Analyze(tx, rules, DefaultPrior)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Readings) != 1 || r.Readings[0].Payment != 25*kas+kas/20 || r.Readings[0].SenderInput != 1 {
		t.Fatalf("readings %+v", r.Readings)
	}
}

func TestSplitRange(t *testing.T) {
	tx := handBuilt()
	narrow := rangeRule
	narrow.SplitMin, narrow.SplitMax = 450, 550
	r, err := Analyze(tx, narrow, DefaultPrior)
	if err != nil {
		t.Fatal(err)
	}
	// 50/125 = 40 % is outside 45–55 %: the truth is gone, as is every
	// reading whose pair is not near half and half.
	if r.Has(0, 1, 2) {
		t.Fatal("the split range did not apply")
	}
	// Half of an odd sum, either way, is always in range.
	if !inSplit(3, 7, narrow) || !inSplit(4, 7, narrow) || inSplit(2, 7, narrow) {
		t.Error("half of an odd sum")
	}
	if !inSplit(300, 1000, tiedRule) || inSplit(299, 1000, tiedRule) || !inSplit(700, 1000, tiedRule) || inSplit(701, 1000, tiedRule) {
		t.Error("bounds of 30–70 %")
	}
	if hi := mulDiv(uint64(amount.MaxSompi), 999, true); hi >= uint64(amount.MaxSompi) || hi == 0 {
		t.Errorf("mulDiv overflow: %d", hi)
	}
}

func TestChangeReserve(t *testing.T) {
	tx := handBuilt()
	strict := rangeRule
	strict.ChangeReserve = 40 * kas // more than the true change of 34.8
	r, err := Analyze(tx, strict, DefaultPrior)
	if err != nil {
		t.Fatal(err)
	}
	for _, rd := range r.Readings {
		if tx.Outputs[rd.ChangeOutput]+tx.Fee < 40*kas {
			t.Errorf("reading with change %s under the reserve", tx.Outputs[rd.ChangeOutput])
		}
	}
	if r.Has(0, 1, 2) {
		t.Error("the true reading survived a reserve it breaks")
	}
}

func TestPrior(t *testing.T) {
	p := DefaultPrior
	if !(p.Weight(3*kas) > 1000*p.Weight(3*kas+1)) {
		t.Error("a whole payment is not far likelier than an arbitrary one")
	}
	if !(p.Weight(2*kas) > p.Weight(3*kas)) || !(p.Weight(2*kas+7) > p.Weight(3*kas+7)) {
		t.Error("a smaller payment is not likelier")
	}
	if !(p.Weight(10*kas) > p.Weight(9*kas)) {
		t.Error("a multiple of 10 KAS is not likelier than 9 KAS")
	}
	if p.Weight(0) != 0 {
		t.Error("weight of 0")
	}
}

func TestBadShape(t *testing.T) {
	for _, tx := range []Tx{
		{Inputs: []amount.Sompi{1}, Outputs: []amount.Sompi{1, 1, 1, 1}},
		{Inputs: []amount.Sompi{10, 10}, Outputs: []amount.Sompi{1, 1, 1, 1}, Fee: 1},
	} {
		if _, err := Analyze(tx, tiedRule, DefaultPrior); !errors.Is(err, ErrShape) {
			t.Errorf("%+v: %v", tx, err)
		}
	}
	zero := tiedRule
	zero.Fee.Unit = 0
	if _, err := Analyze(handBuilt(), zero, DefaultPrior); err == nil {
		t.Error("unit 0 accepted")
	}
}
