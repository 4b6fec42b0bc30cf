package txbuild

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
)

type seededReader struct{ r *rand.Rand }

func (s seededReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(s.r.Uint32())
	}
	return len(p), nil
}

type payjoinFixture struct {
	params             PayjoinParams
	senderKey, recvKey []byte
	receiverAddrs      [2]address.Address
}

func addrOf(t testing.TB, seed byte) address.Address {
	_, spk := testKey(t, seed)
	a, err := address.FromScriptPublicKey(spk, address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newPayjoin(t testing.TB, s, r, p amount.Sompi, seed uint64) payjoinFixture {
	sk, sspk := testKey(t, 11)
	rk, rspk := testKey(t, 12)
	sa, _ := address.FromScriptPublicKey(sspk, address.Mainnet)
	ra, _ := address.FromScriptPublicKey(rspk, address.Mainnet)
	f := payjoinFixture{senderKey: sk, recvKey: rk, receiverAddrs: [2]address.Address{addrOf(t, 13), addrOf(t, 14)}}
	// The node fee of kpp.DefaultFeePolicy: 0.2 KAS minimum, 0.1 KAS unit.
	const feeMin, feeUnit = 20_000_000, 10_000_000
	nodeFee := ((p+feeMin+feeUnit-1)/feeUnit)*feeUnit - p
	f.params = PayjoinParams{
		Sender:            UTXO{Address: sa, Outpoint: Outpoint{TransactionID: Hash{0xaa}, Index: 1}, Entry: UTXOEntry{Amount: s, ScriptPublicKey: sspk}},
		SenderChange:      addrOf(t, 15),
		Receiver:          UTXO{Address: ra, Outpoint: Outpoint{TransactionID: Hash{0xbb}, Index: 2}, Entry: UTXOEntry{Amount: r, ScriptPublicKey: rspk}},
		ReceiverAddresses: f.receiverAddrs,
		Payment:           p,
		NodeFee:           nodeFee,
		NodeFeeAddress:    addrOf(t, 16),
		Policy:            PolicyFor(address.Mainnet),
		FeeRate:           SompiPerGram(1),
		Random:            seededReader{rand.New(rand.NewPCG(seed, 7))},
	}
	return f
}

func (f payjoinFixture) terms(pj *Payjoin) ReceiverTerms {
	return ReceiverTerms{
		UTXO: f.params.Receiver, InputIndex: pj.ReceiverInput, Addresses: f.receiverAddrs, Payment: f.params.Payment,
		SenderEntry: pj.UTXOs[pj.SenderInput], Policy: f.params.Policy, FeeRate: f.params.FeeRate,
	}
}

func TestBuild2In4Out(t *testing.T) {
	const kas = amount.SompiPerKAS
	orders := map[int]int{}
	positions := map[[2]int]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		f := newPayjoin(t, 50*kas, 100*kas, 1_055_000_000, seed)
		pj, err := Build2In4Out(f.params)
		if err != nil {
			t.Fatal(err)
		}
		tx := pj.Tx
		if len(tx.Inputs) != 2 || len(tx.Outputs) != 4 {
			t.Fatalf("shape %d/%d", len(tx.Inputs), len(tx.Outputs))
		}
		if tx.Inputs[pj.SenderInput].PreviousOutpoint != f.params.Sender.Outpoint || tx.Inputs[pj.ReceiverInput].PreviousOutpoint != f.params.Receiver.Outpoint {
			t.Fatal("input indexes do not match")
		}
		orders[pj.SenderInput]++
		var recv, change, node amount.Sompi
		var recvOuts []amount.Sompi
		for i, o := range tx.Outputs {
			switch {
			case o.ScriptPublicKey.Equal(f.receiverAddrs[0].ScriptPublicKey()), o.ScriptPublicKey.Equal(f.receiverAddrs[1].ScriptPublicKey()):
				recv += o.Amount
				recvOuts = append(recvOuts, o.Amount)
				if o.ScriptPublicKey.Equal(f.receiverAddrs[0].ScriptPublicKey()) {
					positions[[2]int{0, i}] = true
				}
			case o.ScriptPublicKey.Equal(f.params.SenderChange.ScriptPublicKey()):
				change = o.Amount
			case o.ScriptPublicKey.Equal(f.params.NodeFeeAddress.ScriptPublicKey()):
				node = o.Amount
			}
		}
		total := f.params.Receiver.Entry.Amount + f.params.Payment
		if recv != total || node != 25_000_000 {
			t.Fatalf("receiver %d want %d, node %d", recv, total, node)
		}
		for _, r := range recvOuts {
			if r*1000 < total*SplitMin || r*1000 > total*SplitMax {
				t.Fatalf("receiver output %d outside %d–%d per mille of %d", r, SplitMin, SplitMax, total)
			}
			if r == f.params.Payment || r == f.params.Receiver.Entry.Amount {
				t.Fatalf("receiver output %d exposes R or P", r)
			}
		}
		if pj.NodeFee != node || pj.Sender.Outpoint != f.params.Sender.Outpoint {
			t.Fatalf("Payjoin.NodeFee %d (output %d), Sender %v", pj.NodeFee, node, pj.Sender.Outpoint)
		}
		if change != f.params.Sender.Entry.Amount-f.params.Payment-node-pj.NetworkFee {
			t.Fatalf("change %d", change)
		}
		// The fee is what the rules need for the signed transaction.
		signed := tx.Clone()
		if err := SignInput(signed, pj.UTXOs, pj.SenderInput, SigHashAll, f.senderKey); err != nil {
			t.Fatal(err)
		}
		if err := SignInput(signed, pj.UTXOs, pj.ReceiverInput, SigHashAll, f.recvKey); err != nil {
			t.Fatal(err)
		}
		m, _ := CalcMasses(signed, pj.UTXOs)
		if need := f.params.Policy.RequiredFee(signed, m, f.params.FeeRate); uint64(pj.NetworkFee) != need || m != pj.Masses {
			t.Fatalf("fee %d, need %d; masses %+v vs %+v", pj.NetworkFee, need, pj.Masses, m)
		}
		if err := VerifyAsReceiver(tx, f.terms(pj)); err != nil {
			t.Fatal(err)
		}
		if err := VerifySigned(pj, signed, f.params.Policy, f.params.FeeRate); err != nil {
			t.Fatal(err)
		}
	}
	if orders[0] < 60 || orders[1] < 60 {
		t.Errorf("input order not random: %v", orders)
	}
	if len(positions) != 4 {
		t.Errorf("receiver output 0 took positions %v", positions)
	}
}

func TestBuild2In4OutRefusals(t *testing.T) {
	const kas = amount.SompiPerKAS
	// A 0.5 KAS receiver UTXO and a 0.1 KAS payment: two receiver outputs
	// of about 0.3 KAS and the 0.2 KAS node fee cost about 116,000 grams.
	f := newPayjoin(t, 50*kas, kas/2, 10_000_000, 1)
	_, err := Build2In4Out(f.params)
	if !errors.Is(err, ErrStorageMassTooHigh) || !strings.Contains(err.Error(), "> budget 100000") {
		t.Fatalf("small amounts: %v", err)
	}
	// Just enough that only a narrowed split fits: the split stays inside
	// the budget.
	f = newPayjoin(t, 50*kas, 35*kas, 5*kas, 2)
	for seed := uint64(0); seed < 50; seed++ {
		f.params.Random = seededReader{rand.New(rand.NewPCG(seed, 1))}
		pj, err := Build2In4Out(f.params)
		if err != nil {
			t.Fatal(err)
		}
		if pj.Masses.Storage > MaximumStandardMass {
			t.Fatalf("storage mass %d", pj.Masses.Storage)
		}
	}
	f = newPayjoin(t, 10*kas+1, 100*kas, 10*kas, 3)
	if _, err := Build2In4Out(f.params); !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("insufficient: %v", err)
	}
	f = newPayjoin(t, 50*kas, 100*kas, 10*kas, 4)
	f.params.SenderChange = f.receiverAddrs[1]
	if _, err := Build2In4Out(f.params); !errors.Is(err, ErrBadPayjoin) {
		t.Fatalf("shared address: %v", err)
	}
	f = newPayjoin(t, 50*kas, 100*kas, 10*kas, 5)
	f.params.Receiver.Outpoint = f.params.Sender.Outpoint
	if _, err := Build2In4Out(f.params); !errors.Is(err, ErrBadPayjoin) {
		t.Fatalf("same outpoint: %v", err)
	}
}

func TestVerifyAsReceiverRefusals(t *testing.T) {
	const kas = amount.SompiPerKAS
	f := newPayjoin(t, 50*kas, 100*kas, 10*kas, 9)
	pj, err := Build2In4Out(f.params)
	if err != nil {
		t.Fatal(err)
	}
	recvOut := -1
	changeOut := -1
	for i, o := range pj.Tx.Outputs {
		if o.ScriptPublicKey.Equal(f.receiverAddrs[0].ScriptPublicKey()) {
			recvOut = i
		}
		if o.ScriptPublicKey.Equal(f.params.SenderChange.ScriptPublicKey()) {
			changeOut = i
		}
	}
	cases := []struct {
		name  string
		edit  func(tx *Transaction, tm *ReceiverTerms)
		want  error
		words string
	}{
		{"one sompi short", func(tx *Transaction, _ *ReceiverTerms) { tx.Outputs[recvOut].Amount--; tx.Outputs[changeOut].Amount++ }, ErrNotPaidInFull, "want 110 KAS"},
		{"receiver output redirected", func(tx *Transaction, _ *ReceiverTerms) {
			tx.Outputs[recvOut].ScriptPublicKey = f.params.SenderChange.ScriptPublicKey()
		}, ErrNotPaidInFull, ""},
		{"wrong input index", func(_ *Transaction, tm *ReceiverTerms) { tm.InputIndex = 1 - tm.InputIndex }, ErrNotAgreedShape, "not the receiver's UTXO"},
		{"third input", func(tx *Transaction, _ *ReceiverTerms) { tx.Inputs = append(tx.Inputs, Input{SigOpCount: 1}) }, ErrNotAgreedShape, "3 inputs"},
		{"lock time", func(tx *Transaction, _ *ReceiverTerms) { tx.LockTime = 1 << 40 }, ErrNotAgreedShape, ""},
		{"payload", func(tx *Transaction, _ *ReceiverTerms) { tx.Payload = []byte{1} }, ErrNotAgreedShape, ""},
		{"fee under floor", func(tx *Transaction, _ *ReceiverTerms) { tx.Outputs[changeOut].Amount += pj.NetworkFee - 1000 }, ErrBreaksRules, "relay floor"},
		{"receiver asked for more", func(_ *Transaction, tm *ReceiverTerms) { tm.Payment++ }, ErrNotPaidInFull, ""},
	}
	for _, c := range cases {
		tx := pj.Tx.Clone()
		tm := f.terms(pj)
		c.edit(tx, &tm)
		err := VerifyAsReceiver(tx, tm)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.words) {
			t.Errorf("%s: %v, want %v mentioning %q", c.name, err, c.want, c.words)
		}
	}
}

// TestPythonProposalRefused: the transaction the Python original builds
// (§4.1: fixed input order, node fee D = P mod 0.1 KAS as an output,
// receiver paid the rounded-down payment, fee 1,000 sompi) underpays the
// receiver and breaks KIP-9 and the relay floor; each is named.
func TestPythonProposalRefused(t *testing.T) {
	const kas = amount.SompiPerKAS
	f := newPayjoin(t, 50*kas, 100*kas, 1_055_000_000, 3)
	p, r, s := f.params.Payment, f.params.Receiver.Entry.Amount, f.params.Sender.Entry.Amount
	pr := p / 10_000_000 * 10_000_000
	d := p - pr
	rt := pr + r
	r1 := rt / 2
	tx := &Transaction{
		Inputs: []Input{{PreviousOutpoint: f.params.Sender.Outpoint, SigOpCount: 1}, {PreviousOutpoint: f.params.Receiver.Outpoint, SigOpCount: 1}},
		Outputs: []Output{
			{Amount: r1, ScriptPublicKey: f.receiverAddrs[0].ScriptPublicKey()},
			{Amount: rt - r1, ScriptPublicKey: f.receiverAddrs[1].ScriptPublicKey()},
			{Amount: s - pr - d - 1000, ScriptPublicKey: f.params.SenderChange.ScriptPublicKey()},
			{Amount: d, ScriptPublicKey: f.params.NodeFeeAddress.ScriptPublicKey()},
		},
	}
	terms := ReceiverTerms{UTXO: f.params.Receiver, InputIndex: 1, Addresses: f.receiverAddrs, Payment: p, SenderEntry: f.params.Sender.Entry, Policy: f.params.Policy}
	err := VerifyAsReceiver(tx, terms)
	if !errors.Is(err, ErrNotPaidInFull) {
		t.Fatalf("python proposal: %v", err)
	}
	// Were the receiver paid in full, the mass and fee rules still refuse it.
	terms.Payment = pr
	err = VerifyAsReceiver(tx, terms)
	if !errors.Is(err, ErrBreaksRules) || !strings.Contains(err.Error(), "storage mass") || !strings.Contains(err.Error(), "relay floor") {
		t.Fatalf("python proposal rules: %v", err)
	}
}

func TestVerifyAsSender(t *testing.T) {
	const kas = amount.SompiPerKAS
	f := newPayjoin(t, 50*kas, 100*kas, 10*kas, 21)
	pj, err := Build2In4Out(f.params)
	if err != nil {
		t.Fatal(err)
	}
	honest := pj.Tx.Clone()
	if err := SignInput(honest, pj.UTXOs, pj.ReceiverInput, SigHashAll, f.recvKey); err != nil {
		t.Fatal(err)
	}
	if err := VerifyAsSender(pj, honest); err != nil {
		t.Fatal(err)
	}
	// The receiver swaps the sender's change output for its own address
	// and signs that: refused.
	swapped := pj.Tx.Clone()
	for i, o := range swapped.Outputs {
		if o.ScriptPublicKey.Equal(f.params.SenderChange.ScriptPublicKey()) {
			swapped.Outputs[i].ScriptPublicKey = f.receiverAddrs[0].ScriptPublicKey()
		}
	}
	if err := SignInput(swapped, pj.UTXOs, pj.ReceiverInput, SigHashAll, f.recvKey); err != nil {
		t.Fatal(err)
	}
	if err := VerifyAsSender(pj, swapped); !errors.Is(err, ErrProposalChanged) {
		t.Fatalf("swapped change: %v", err)
	}
	// A signature with SIGHASH_NONE would let anyone redirect the outputs.
	none := pj.Tx.Clone()
	if err := SignInput(none, pj.UTXOs, pj.ReceiverInput, SigHashNone|SigHashAnyOneCanPay, f.recvKey); err != nil {
		t.Fatal(err)
	}
	if err := VerifyAsSender(pj, none); !errors.Is(err, ErrBadSigHashType) {
		t.Fatalf("NONE|ANYONECANPAY: %v", err)
	}
	bad := honest.Clone()
	bad.Inputs[pj.ReceiverInput].SignatureScript[3] ^= 1
	if err := VerifyAsSender(pj, bad); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	empty := pj.Tx.Clone()
	if err := VerifyAsSender(pj, empty); !errors.Is(err, ErrBadSignatureScript) {
		t.Fatalf("unsigned: %v", err)
	}
	senderSigned := honest.Clone()
	senderSigned.Inputs[pj.SenderInput].SignatureScript = bytes.Repeat([]byte{1}, 66)
	if err := VerifyAsSender(pj, senderSigned); !errors.Is(err, ErrProposalChanged) {
		t.Fatalf("sender input touched: %v", err)
	}
}
