package wallet_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

const kas = amount.SompiPerKAS

// fakeSource is a UTXOSource backed by a map from address to UTXOs.
type fakeSource struct {
	mu      sync.Mutex
	utxos   map[string][]txbuild.UTXO
	foreign []txbuild.UTXO // returned whatever is asked: a misbehaving node
	asked   int            // addresses in the last query
	nextID  uint64
}

func newFakeSource() *fakeSource { return &fakeSource{utxos: make(map[string][]txbuild.UTXO)} }

func (s *fakeSource) UTXOsByAddresses(ctx context.Context, addrs []address.Address) ([]txbuild.UTXO, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = len(addrs)
	var out []txbuild.UTXO
	for _, a := range addrs {
		out = append(out, s.utxos[a.String()]...)
	}
	return append(out, s.foreign...), nil
}

// add gives a a UTXO of amt sompi and returns it.
func (s *fakeSource) add(a address.Address, amt amount.Sompi, coinbase bool, daaScore uint64) txbuild.UTXO {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	var id txbuild.Hash
	binary.BigEndian.PutUint64(id[:], s.nextID)
	u := txbuild.UTXO{
		Address:  a,
		Outpoint: txbuild.Outpoint{TransactionID: id, Index: uint32(s.nextID % 3)},
		Entry:    txbuild.UTXOEntry{Amount: amt, ScriptPublicKey: a.ScriptPublicKey(), BlockDAAScore: daaScore, IsCoinbase: coinbase},
	}
	s.utxos[a.String()] = append(s.utxos[a.String()], u)
	return u
}

// daaSource adds the virtual DAA score to a fakeSource.
type daaSource struct {
	*fakeSource
	daa uint64
}

func (s daaSource) VirtualDAAScore(context.Context) (uint64, error) { return s.daa, nil }

func newFundsWallet(t testing.TB, net address.Network) *wallet.Wallet {
	t.Helper()
	w, err := wallet.Create(filepath.Join(t.TempDir(), "w.kloak"), []byte("pw"), exampleMnemonic,
		wallet.CreateOptions{Network: net, Scrypt: wallet.ScryptParams{LogN: 4, R: 8, P: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// addr returns the address of index i of the wallet's receive (0) or change
// (1) chain, without reserving it.
func addr(t testing.TB, w *wallet.Wallet, chain, i uint32) address.Address {
	t.Helper()
	acct, err := w.Account()
	if err != nil {
		t.Fatal(err)
	}
	k, err := acct.Receive(i)
	if chain == wallet.ChangeChain {
		k, err = acct.Change(i)
	}
	if err != nil {
		t.Fatal(err)
	}
	k.Zero()
	return k.Address
}

// otherAddress is an address of another account: not the wallet's.
func otherAddress(t testing.TB, net address.Network, i uint32) address.Address {
	t.Helper()
	seed, err := wallet.SeedFromMnemonic(exampleMnemonic, "other")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := wallet.NewAccount(seed, 0, net)
	if err != nil {
		t.Fatal(err)
	}
	defer acct.Zero()
	k, err := acct.Receive(i)
	if err != nil {
		t.Fatal(err)
	}
	k.Zero()
	return k.Address
}

func amounts(utxos []txbuild.UTXO) []amount.Sompi {
	out := make([]amount.Sompi, len(utxos))
	for i, u := range utxos {
		out[i] = u.Entry.Amount
	}
	return out
}

// TestFundsScan: UTXOs of receive and change addresses up to the next
// index plus the lookahead are found, largest first; others, and outputs to
// foreign scripts a source returns, are not.
func TestFundsScan(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	src := newFakeSource()
	src.add(addr(t, w, 0, 0), 1*kas, false, 0)
	src.add(addr(t, w, 0, 19), 2*kas, false, 0)
	src.add(addr(t, w, 0, 20), 4*kas, false, 0) // one past the lookahead
	src.add(addr(t, w, 1, 19), 8*kas, false, 0)
	src.add(addr(t, w, 1, 20), 16*kas, false, 0)
	src.foreign = []txbuild.UTXO{{Address: addr(t, w, 0, 0), Entry: txbuild.UTXOEntry{Amount: 32 * kas, ScriptPublicKey: otherAddress(t, address.Devnet, 0).ScriptPublicKey()}}}

	f := w.Funds(src, wallet.FundsOptions{})
	utxos, err := f.UTXOs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(amounts(utxos)), fmt.Sprint([]amount.Sompi{8 * kas, 2 * kas, 1 * kas}); got != want {
		t.Errorf("UTXOs %s, want %s", got, want)
	}
	if src.asked != 40 {
		t.Errorf("asked for %d addresses, want 20 receive + 20 change", src.asked)
	}

	// Handing out an address moves the window.
	if _, err := f.FreshAddresses(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ChangeAddress(ctx); err != nil {
		t.Fatal(err)
	}
	if b, err := f.Balance(ctx); err != nil || b != 31*kas {
		t.Errorf("balance %v, %v; want 31 KAS", b, err)
	}

	// A shorter lookahead sees less.
	short := w.Funds(src, wallet.FundsOptions{Lookahead: 1})
	if b, err := short.Balance(ctx); err != nil || b != 1*kas {
		t.Errorf("lookahead 1: balance %v, %v; want 1 KAS", b, err)
	}
	if src.asked != 4 {
		t.Errorf("lookahead 1 asked for %d addresses, want 2 + 2", src.asked)
	}
}

// TestFundsCoinbaseMaturity: young coinbase outputs are skipped when the
// source tells the DAA score, with the default maturity or a given one.
func TestFundsCoinbaseMaturity(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	a := addr(t, w, 0, 0)
	src := newFakeSource()
	src.add(a, 1*kas, true, 990)   // 10 scores old: mature at maturity 10
	src.add(a, 2*kas, true, 991)   // 9 scores old: not
	src.add(a, 4*kas, true, 1005)  // from the future (a source racing ahead): not
	src.add(a, 8*kas, false, 1000) // not a coinbase: spendable at once
	src.add(a, 16*kas, true, 0)    // mature at the default 1000 as well

	for _, tc := range []struct {
		name string
		src  wallet.UTXOSource
		opts wallet.FundsOptions
		want amount.Sompi
	}{
		{"no DAA score: everything", src, wallet.FundsOptions{CoinbaseMaturity: 10}, 31 * kas},
		{"maturity 10", daaSource{src, 1000}, wallet.FundsOptions{CoinbaseMaturity: 10}, 25 * kas},
		{"default maturity 1000", daaSource{src, 1000}, wallet.FundsOptions{}, 24 * kas},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := w.Funds(tc.src, tc.opts).Balance(ctx)
			if err != nil || b != tc.want {
				t.Errorf("balance %v, %v; want %v", b, err, tc.want)
			}
		})
	}

	_, err := w.Funds(daaSource{src, 1000}, wallet.FundsOptions{}).SelectUTXO(ctx, 30*kas)
	if !errors.Is(err, wallet.ErrInsufficientFunds) || !strings.Contains(err.Error(), "3 coinbase outputs holding 7 KAS are not yet mature") {
		t.Errorf("error %v does not say what is immature", err)
	}
}

func TestSelectAndContributeUTXO(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	src := newFakeSource()
	f := w.Funds(src, wallet.FundsOptions{})

	_, err := f.SelectUTXO(ctx, 1)
	if !errors.Is(err, wallet.ErrInsufficientFunds) || !errors.Is(err, wallet.ErrNoFunds) {
		t.Errorf("empty wallet: SelectUTXO: %v", err)
	}
	if _, err := f.ContributeUTXO(ctx, kas); !errors.Is(err, wallet.ErrNoFunds) {
		t.Errorf("empty wallet: ContributeUTXO: %v", err)
	}

	src.add(addr(t, w, 0, 3), 3*kas, false, 0)
	src.add(addr(t, w, 1, 0), 1*kas, false, 0)
	src.add(addr(t, w, 0, 0), 5*kas, false, 0)
	for _, tc := range []struct {
		min, want amount.Sompi
	}{
		{0, 1 * kas},
		{1 * kas, 1 * kas},
		{1*kas + 1, 3 * kas},
		{3 * kas, 3 * kas},
		{4 * kas, 5 * kas},
		{5 * kas, 5 * kas},
	} {
		u, err := f.SelectUTXO(ctx, tc.min)
		if err != nil || u.Entry.Amount != tc.want {
			t.Errorf("SelectUTXO(%v) = %v, %v; want %v", tc.min, u.Entry.Amount, err, tc.want)
		}
	}
	_, err = f.SelectUTXO(ctx, 5*kas+1)
	if !errors.Is(err, wallet.ErrInsufficientFunds) || errors.Is(err, wallet.ErrNoFunds) {
		t.Fatalf("SelectUTXO above the largest: %v", err)
	}
	for _, want := range []string{"5.00000001 KAS", "the largest holds 5 KAS", "all 3 together 9 KAS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if us, err := f.SelectUTXOs(ctx, 1*kas+1); err != nil || len(us) != 2 || us[0].Entry.Amount != 3*kas || us[1].Entry.Amount != 5*kas {
		t.Errorf("SelectUTXOs(1.00000001) = %v, %v; want 3 and 5 KAS", amounts(us), err)
	}
	if _, err := f.SelectUTXOs(ctx, 5*kas+1); !errors.Is(err, wallet.ErrInsufficientFunds) {
		t.Errorf("SelectUTXOs above the largest: %v", err)
	}
	// No coin could pay 10 KAS: the receiver adds its largest.
	u, err := f.ContributeUTXO(ctx, 10*kas)
	if err != nil || u.Entry.Amount != 5*kas || !u.Address.Equal(addr(t, w, 0, 0)) {
		t.Errorf("ContributeUTXO(10 KAS) = %+v, %v; want the 5 KAS of receive 0", u, err)
	}
	// For 2 KAS, a coin that could pay it (2.8 KAS with node fee and
	// reserve): 3 or 5 KAS, drawn at random, never the 1 KAS coin.
	seen := map[amount.Sompi]bool{}
	for range 64 {
		u, err := f.ContributeUTXO(ctx, 2*kas)
		if err != nil {
			t.Fatal(err)
		}
		seen[u.Entry.Amount] = true
	}
	if len(seen) != 2 || !seen[3*kas] || !seen[5*kas] {
		t.Errorf("ContributeUTXO(2 KAS) gave %v, want 3 and 5 KAS", seen)
	}
}

// TestFreshAddresses: fresh addresses are the next of their chain, never
// repeat, and are recorded in the wallet file.
func TestFreshAddresses(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	f := w.Funds(newFakeSource(), wallet.FundsOptions{})
	seen := map[string]bool{}
	for _, n := range []int{3, 1, 2} {
		first := w.NextReceiveIndex()
		got, err := f.FreshAddresses(ctx, n)
		if err != nil || len(got) != n {
			t.Fatalf("FreshAddresses(%d) = %v, %v", n, got, err)
		}
		for i, a := range got {
			if !a.Equal(addr(t, w, 0, first+uint32(i))) || seen[a.String()] {
				t.Errorf("address %d of the batch is %s: not receive %d, or repeated", i, a, first+uint32(i))
			}
			seen[a.String()] = true
		}
	}
	for i := range uint32(2) {
		c, err := f.ChangeAddress(ctx)
		if err != nil || !c.Equal(addr(t, w, 1, i)) {
			t.Errorf("change address %s, %v; want change %d", c, err, i)
		}
	}
	if _, err := f.FreshAddresses(ctx, 0); !errors.Is(err, wallet.ErrIndexRange) {
		t.Errorf("FreshAddresses(0): %v", err)
	}
	w2, err := wallet.Open(w.Path(), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if w2.NextReceiveIndex() != 6 || w2.NextChangeIndex() != 2 {
		t.Errorf("reopened wallet: next receive %d change %d, want 6 and 2", w2.NextReceiveIndex(), w2.NextChangeIndex())
	}
}

// spendTx returns a transaction spending utxos to one output.
func spendTx(utxos []txbuild.UTXO, to address.Address) (*txbuild.Transaction, []txbuild.UTXOEntry) {
	tx := &txbuild.Transaction{Outputs: []txbuild.Output{{Amount: 1000, ScriptPublicKey: to.ScriptPublicKey()}}}
	var entries []txbuild.UTXOEntry
	for _, u := range utxos {
		tx.Inputs = append(tx.Inputs, txbuild.Input{PreviousOutpoint: u.Outpoint, SigOpCount: 1})
		entries = append(entries, u.Entry)
	}
	return tx, entries
}

func TestSignInput(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	src := newFakeSource()
	f := w.Funds(src, wallet.FundsOptions{})
	tx, utxos := spendTx([]txbuild.UTXO{
		src.add(addr(t, w, 0, 2), 1*kas, false, 0),
		src.add(addr(t, w, 1, 5), 1*kas, false, 0),
		src.add(otherAddress(t, address.Devnet, 0), 1*kas, false, 0),
		src.add(addr(t, w, 0, 25), 1*kas, false, 0), // past the lookahead until 6 addresses are handed out
	}, otherAddress(t, address.Devnet, 1))

	for _, i := range []int{0, 1} {
		if err := f.SignInput(ctx, tx, utxos, i); err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		if err := txbuild.VerifyInput(tx, utxos, i); err != nil {
			t.Errorf("input %d: %v", i, err)
		}
		if tx.Inputs[i].SignatureScript[65] != byte(txbuild.SigHashAll) {
			t.Errorf("input %d: sighash type %#x", i, tx.Inputs[i].SignatureScript[65])
		}
	}
	for _, i := range []int{2, 3} {
		err := f.SignInput(ctx, tx, utxos, i)
		if !errors.Is(err, wallet.ErrNotMine) || !strings.Contains(err.Error(), "receive addresses 0..19 and change addresses 0..19") {
			t.Errorf("input %d: %v, want ErrNotMine", i, err)
		}
		if tx.Inputs[i].SignatureScript != nil {
			t.Errorf("input %d: signature script written", i)
		}
	}
	// Once the wallet has handed out addresses up to 5, receive 25 is in
	// the window and its key is found.
	if _, err := f.FreshAddresses(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if err := f.SignInput(ctx, tx, utxos, 3); err != nil {
		t.Fatal(err)
	}
	if err := txbuild.VerifyInput(tx, utxos, 3); err != nil {
		t.Error(err)
	}
	// Signatures commit to every input's previous output: the earlier ones
	// still verify after more inputs are signed (SIGHASH_ALL does not cover
	// signature scripts).
	for _, i := range []int{0, 1} {
		if err := txbuild.VerifyInput(tx, utxos, i); err != nil {
			t.Errorf("input %d after signing input 3: %v", i, err)
		}
	}

	for _, i := range []int{-1, 4} {
		if err := f.SignInput(ctx, tx, utxos, i); err == nil {
			t.Errorf("input %d of 4 signed", i)
		}
	}
	if err := f.SignInput(ctx, tx, utxos[:3], 0); !errors.Is(err, txbuild.ErrUTXOCount) {
		t.Errorf("3 UTXO entries for 4 inputs: %v", err)
	}
	w.Close()
	if err := f.SignInput(ctx, tx, utxos, 0); !errors.Is(err, wallet.ErrClosed) {
		t.Errorf("closed wallet: %v", err)
	}
}

// sendCase is one payment Send builds.
type sendCase struct {
	name    string
	net     address.Network
	utxos   []amount.Sompi // in the wallet's receive address 0
	amt     amount.Sompi
	inputs  int  // expected inputs
	change  bool // expected change output
	burnt   bool // the change goes to the fee: fee above what the network needs
	wantErr error
	errText string
}

// noChangeFee is the fee the policy requires for a 1-input, 1-output P2PK
// payment on net.
func noChangeFee(t *testing.T, net address.Network, rate txbuild.FeeRate) amount.Sompi {
	t.Helper()
	a := otherAddress(t, net, 0)
	tx := &txbuild.Transaction{
		Inputs:  []txbuild.Input{{SigOpCount: 1, SignatureScript: make([]byte, 66)}},
		Outputs: []txbuild.Output{{Amount: 5 * kas, ScriptPublicKey: a.ScriptPublicKey()}},
	}
	utxos := []txbuild.UTXOEntry{{Amount: 10 * kas, ScriptPublicKey: a.ScriptPublicKey()}}
	m, err := txbuild.CalcMasses(tx, utxos)
	if err != nil {
		t.Fatal(err)
	}
	return amount.Sompi(txbuild.PolicyFor(net).RequiredFee(tx, m, rate))
}

func TestSend(t *testing.T) {
	rate := txbuild.SompiPerGram(1)
	ones := make([]amount.Sompi, 100)
	for i := range ones {
		ones[i] = 1 * kas
	}
	exact := 10*kas - noChangeFee(t, address.Devnet, rate)
	for _, tc := range []sendCase{
		{name: "one input, change", net: address.Devnet, utxos: []amount.Sompi{1 * kas, 10 * kas}, amt: 3 * kas, inputs: 1, change: true},
		{name: "largest first, as many as needed", net: address.Devnet, utxos: []amount.Sompi{2 * kas, 5 * kas, 3 * kas, 4 * kas}, amt: 10 * kas, inputs: 3, change: true},
		{name: "change exactly 0", net: address.Devnet, utxos: []amount.Sompi{10 * kas}, amt: exact, inputs: 1},
		{name: "small change given to the fee", net: address.Devnet, utxos: []amount.Sompi{10 * kas}, amt: 10*kas - kas/100, inputs: 1, burnt: true},
		{name: "one more input rather than give up the change", net: address.Devnet, utxos: []amount.Sompi{10 * kas, 5 * kas}, amt: 10*kas - kas/20, inputs: 2, change: true},
		{name: "79 inputs", net: address.Devnet, utxos: ones, amt: 78 * kas, inputs: 79, change: true},
		{name: "mainnet rules", net: address.Mainnet, utxos: []amount.Sompi{10 * kas}, amt: 1 * kas, inputs: 1, change: true},
		{name: "not enough for the fee", net: address.Devnet, utxos: []amount.Sompi{1 * kas, 1 * kas}, amt: 2 * kas, wantErr: wallet.ErrInsufficientFunds, errText: "needs more than the 2 KAS of 2 UTXOs"},
		{name: "not enough at all", net: address.Devnet, utxos: []amount.Sompi{1 * kas}, amt: 3 * kas, wantErr: wallet.ErrInsufficientFunds, errText: "the wallet holds 1 KAS"},
		{name: "more than 80 inputs", net: address.Devnet, utxos: ones, amt: 90 * kas, wantErr: wallet.ErrInsufficientFunds, errText: "the 80 largest of 100 UTXOs"},
		{name: "empty wallet", net: address.Devnet, amt: 1, wantErr: wallet.ErrNoFunds},
		{name: "dust payment", net: address.Devnet, utxos: []amount.Sompi{10 * kas}, amt: 100, wantErr: wallet.ErrBreaksPolicy, errText: txbuild.RuleDust},
		{name: "payment too small for the storage mass budget", net: address.Mainnet, utxos: []amount.Sompi{10 * kas}, amt: 5_000_000, wantErr: wallet.ErrBreaksPolicy, errText: txbuild.RuleMassBudget},
		{name: "change neither keepable nor small", net: address.Devnet, utxos: []amount.Sompi{kas / 5}, amt: 9_000_000, wantErr: wallet.ErrBreaksPolicy, errText: wallet.RuleChange},
		{name: "zero amount", net: address.Devnet, utxos: []amount.Sompi{10 * kas}, amt: 0, wantErr: txbuild.ErrZeroOutput},
	} {
		t.Run(tc.name, func(t *testing.T) { testSend(t, tc, rate) })
	}
}

func testSend(t *testing.T, tc sendCase, rate txbuild.FeeRate) {
	ctx := context.Background()
	w := newFundsWallet(t, tc.net)
	src := newFakeSource()
	for _, a := range tc.utxos {
		src.add(addr(t, w, 0, 0), a, false, 0)
	}
	f := w.Funds(src, wallet.FundsOptions{})
	to := otherAddress(t, tc.net, 0)
	policy := txbuild.PolicyFor(tc.net)
	nextChange := w.NextChangeIndex()

	tx, utxos, err := f.Send(ctx, to, tc.amt, rate, policy)
	if tc.wantErr != nil {
		if !errors.Is(err, tc.wantErr) || !strings.Contains(fmt.Sprint(err), tc.errText) {
			t.Fatalf("error %v, want %v saying %q", err, tc.wantErr, tc.errText)
		}
		if w.NextChangeIndex() != nextChange {
			t.Errorf("a failed Send reserved a change address")
		}
		t.Logf("%v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Inputs) != tc.inputs || len(utxos) != tc.inputs {
		t.Fatalf("%d inputs, %d UTXO entries; want %d", len(tx.Inputs), len(utxos), tc.inputs)
	}
	// Largest first.
	for i := 1; i < len(utxos); i++ {
		if utxos[i].Amount > utxos[i-1].Amount {
			t.Errorf("input %d holds %v, more than input %d", i, utxos[i].Amount, i-1)
		}
	}
	for i := range tx.Inputs {
		if err := txbuild.VerifyInput(tx, utxos, i); err != nil {
			t.Errorf("input %d: %v", i, err)
		}
	}
	if p := policy.Check(tx, utxos, rate); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}

	var paid, change amount.Sompi
	changes := 0
	for _, o := range tx.Outputs {
		switch {
		case o.ScriptPublicKey.Equal(to.ScriptPublicKey()):
			paid += o.Amount
		case o.ScriptPublicKey.Equal(addr(t, w, 1, nextChange).ScriptPublicKey()):
			change += o.Amount
			changes++
		default:
			t.Errorf("output pays %s: neither the recipient nor the fresh change address", o.ScriptPublicKey)
		}
	}
	if paid != tc.amt {
		t.Errorf("paid %v, want %v", paid, tc.amt)
	}
	if (changes == 1) != tc.change || len(tx.Outputs) != 1+changes {
		t.Fatalf("%d outputs, %d change; want change %v", len(tx.Outputs), changes, tc.change)
	}
	if tc.change && w.NextChangeIndex() != nextChange+1 {
		t.Errorf("next change index %d, want %d", w.NextChangeIndex(), nextChange+1)
	}
	if !tc.change && w.NextChangeIndex() != nextChange {
		t.Errorf("a payment without change reserved a change address")
	}
	fee, err := txbuild.Fee(tx, utxos)
	if err != nil {
		t.Fatal(err)
	}
	m, err := txbuild.CalcMasses(tx, utxos)
	if err != nil {
		t.Fatal(err)
	}
	need := amount.Sompi(policy.RequiredFee(tx, m, rate))
	switch {
	case tc.burnt:
		in, _ := txbuild.TotalIn(utxos)
		if fee != in-tc.amt || fee <= need {
			t.Errorf("fee %v, want all of the change %v (network needs %v)", fee, in-tc.amt, need)
		}
	case fee != need:
		t.Errorf("fee %d sompi, want the required %d (masses %+v)", fee, need, m)
	}
	t.Logf("%d inputs, change %v, fee %d sompi, masses %+v", len(tx.Inputs), change, fee, m)
}

func TestSendArguments(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	src := newFakeSource()
	src.add(addr(t, w, 0, 0), 10*kas, false, 0)
	f := w.Funds(src, wallet.FundsOptions{})
	policy := txbuild.PolicyFor(address.Devnet)
	if _, _, err := f.Send(ctx, otherAddress(t, address.Mainnet, 0), kas, 0, policy); err == nil || !strings.Contains(err.Error(), "is a mainnet address; the wallet is on devnet") {
		t.Errorf("mainnet recipient for a devnet wallet: %v", err)
	}
	if _, _, err := f.Send(ctx, address.Address{}, kas, 0, policy); err == nil {
		t.Error("zero recipient accepted")
	}
	if _, _, err := f.Send(ctx, otherAddress(t, address.Devnet, 0), amount.MaxSompi+1, 0, policy); !errors.Is(err, amount.ErrAboveMaxSompi) {
		t.Errorf("amount above the supply: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := f.Send(cancelled, otherAddress(t, address.Devnet, 0), kas, 0, policy); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// A higher fee rate is paid.
	tx, utxos, err := f.Send(ctx, otherAddress(t, address.Devnet, 0), kas, txbuild.SompiPerGram(10), policy)
	if err != nil {
		t.Fatal(err)
	}
	fee, _ := txbuild.Fee(tx, utxos)
	m, _ := txbuild.CalcMasses(tx, utxos)
	if want := amount.Sompi(txbuild.SompiPerGram(10).Fee(max(m.Compute, m.Storage))); fee != want {
		t.Errorf("fee %d at 10 sompi/gram, want %d", fee, want)
	}
}

// TestFundsConcurrent runs every method at once (for the race detector).
func TestFundsConcurrent(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	src := newFakeSource()
	for i := range uint32(8) {
		src.add(addr(t, w, 0, i), amount.Sompi(i+1)*kas, false, 0)
	}
	f := w.Funds(src, wallet.FundsOptions{})
	to := otherAddress(t, address.Devnet, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 8 {
		wg.Go(func() {
			if _, err := f.Balance(ctx); err != nil {
				errs <- err
			}
			if _, err := f.SelectUTXO(ctx, kas); err != nil {
				errs <- err
			}
			if _, err := f.FreshAddresses(ctx, 2); err != nil {
				errs <- err
			}
			tx, utxos, err := f.Send(ctx, to, kas, 0, txbuild.PolicyFor(address.Devnet))
			if err != nil {
				errs <- err
				return
			}
			if err := f.SignInput(ctx, tx, utxos, 0); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if w.NextReceiveIndex() != 16 || w.NextChangeIndex() != 8 {
		t.Errorf("next indexes %d, %d; want 16, 8", w.NextReceiveIndex(), w.NextChangeIndex())
	}
}

// exampleSource stands in for a node (*node.Client in a real program).
type exampleSource map[string][]txbuild.UTXO

func (s exampleSource) UTXOsByAddresses(_ context.Context, addrs []address.Address) ([]txbuild.UTXO, error) {
	var out []txbuild.UTXO
	for _, a := range addrs {
		out = append(out, s[a.String()]...)
	}
	return out, nil
}

func ExampleWallet_Funds() {
	dir, err := os.MkdirTemp("", "kloak-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	w, err := wallet.Create(filepath.Join(dir, "wallet.kloak"), []byte("a long password"), exampleMnemonic, wallet.CreateOptions{
		Network: address.Testnet,
		Scrypt:  wallet.ScryptParams{LogN: 10, R: 8, P: 1}, // cheap, for the example
	})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	// Coins at the wallet's first two receive addresses.
	acct, _ := w.Account()
	src := exampleSource{}
	for i, kas := range []amount.Sompi{3, 10} {
		k, _ := acct.Receive(uint32(i))
		src[k.Address.String()] = []txbuild.UTXO{{
			Address:  k.Address,
			Outpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{byte(i + 1)}},
			Entry:    txbuild.UTXOEntry{Amount: kas * amount.SompiPerKAS, ScriptPublicKey: k.Address.ScriptPublicKey()},
		}}
		k.Zero()
	}

	ctx := context.Background()
	f := w.Funds(src, wallet.FundsOptions{})
	balance, _ := f.Balance(ctx)
	fmt.Println("balance:", balance)
	u, _ := f.SelectUTXO(ctx, 2*amount.SompiPerKAS) // a payjoin sender's one input
	fmt.Println("sender spends:", u.Entry.Amount)
	u, _ = f.ContributeUTXO(ctx, 20*amount.SompiPerKAS) // a receiver adds, for 20 KAS: no coin could pay that, so its largest
	fmt.Println("receiver adds:", u.Entry.Amount)
	_, err = f.SelectUTXO(ctx, 11*amount.SompiPerKAS)
	fmt.Println(err)
	// Output:
	// balance: 13 KAS
	// sender spends: 3 KAS
	// receiver adds: 10 KAS
	// insufficient funds: no single UTXO holds 11 KAS: the largest holds 10 KAS, all 2 together 13 KAS
}
