package discovery

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// fakeWallet is a PulseWallet of raw keys: one funded key, and a new key
// per change address.
type fakeWallet struct {
	mu      sync.Mutex
	t       *testing.T
	funded  testkit.Key
	keys    map[string][]byte // script → private key
	selects int
	changes int
}

func newFakeWallet(t *testing.T) *fakeWallet {
	k := testkit.NewKey(t, address.Mainnet, 1)
	return &fakeWallet{t: t, funded: k, keys: map[string][]byte{string(k.Addr.ScriptPublicKey().Script): k.Priv}}
}

func (w *fakeWallet) SelectChangeUTXO(_ context.Context, min amount.Sompi) (txbuild.UTXO, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.selects++
	if min != PulseInputMin {
		w.t.Errorf("SelectChangeUTXO(%s), want %s", min, PulseInputMin)
	}
	return testUTXO(w.funded, amount.SompiPerKAS), nil
}

func (w *fakeWallet) ChangeAddress(context.Context) (address.Address, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.changes++
	k := testkit.NewKey(w.t, address.Mainnet, byte(100+w.changes))
	w.keys[string(k.Addr.ScriptPublicKey().Script)] = k.Priv
	return k.Addr, nil
}

func (w *fakeWallet) SignInput(_ context.Context, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, i int) error {
	w.mu.Lock()
	priv, ok := w.keys[string(utxos[i].ScriptPublicKey.Script)]
	w.mu.Unlock()
	if !ok {
		return errors.New("not mine")
	}
	return txbuild.SignInput(tx, utxos, i, txbuild.SigHashAll, priv)
}

// fakeSubmitter is a PulseChain that takes or refuses what it is told to.
type fakeSubmitter struct {
	mu   sync.Mutex
	errs []error // returned in turn; nil accepts
	sent []*txbuild.Transaction
}

func (c *fakeSubmitter) FeeRate(context.Context) (txbuild.FeeRate, error) {
	return txbuild.SompiPerGram(1), nil
}

func (c *fakeSubmitter) SubmitTransaction(_ context.Context, tx *txbuild.Transaction) (txbuild.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, tx.Clone())
	if len(c.errs) > 0 {
		err := c.errs[0]
		c.errs = c.errs[1:]
		if err != nil {
			return txbuild.Hash{}, err
		}
	}
	return tx.ID(), nil
}

func (c *fakeSubmitter) submitted() []*txbuild.Transaction {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*txbuild.Transaction(nil), c.sent...)
}

func TestNewPulserRefuses(t *testing.T) {
	ok := PulserConfig{Chain: &fakeSubmitter{}, Wallet: newFakeWallet(t), Network: address.Mainnet, PublicURL: "wss://relay.example/kpp"}
	if _, err := NewPulser(ok); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit func(*PulserConfig)
		want string
	}{
		"no wallet":      {func(c *PulserConfig) { c.Wallet = nil }, "no node wallet"},
		"no chain":       {func(c *PulserConfig) { c.Chain = nil }, "kaspa node"},
		"no public URL":  {func(c *PulserConfig) { c.PublicURL = "" }, "set --public-url"},
		"bad public URL": {func(c *PulserConfig) { c.PublicURL = "ws://::1:8765/kpp" }, "brackets"},
		"http URL":       {func(c *PulserConfig) { c.PublicURL = "http://relay.example/kpp" }, "not a ws:// or wss:// URL"},
		"short interval": {func(c *PulserConfig) { c.Interval = time.Second }, "under the minimum"},
		"no network":     {func(c *PulserConfig) { c.Network = 0 }, "not a Kaspa network"},
	} {
		cfg := ok
		c.edit(&cfg)
		if _, err := NewPulser(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
}

// TestPulserChains: each pulse spends the one before; a pulse the node
// did not take leaves its change address for the next; a refused chained
// input sends the pulser back to the wallet; a refused payload turns
// pulses off, said once.
func TestPulserChains(t *testing.T) {
	w := newFakeWallet(t)
	c := &fakeSubmitter{}
	logs := &logRecorder{}
	p, err := NewPulser(PulserConfig{Chain: c, Wallet: w, Network: address.Mainnet, PublicURL: "wss://relay.example/kpp", Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id1, err := p.PulseNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := p.PulseNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := c.submitted()
	if got := sent[1].Inputs[0].PreviousOutpoint; got != (txbuild.Outpoint{TransactionID: id1, Index: 0}) {
		t.Fatalf("second pulse spends %s, want the first's output", got)
	}
	if sent[1].Outputs[0].Amount >= sent[0].Outputs[0].Amount || w.selects != 1 || w.changes != 2 {
		t.Fatalf("outputs %s then %s; %d wallet selections, %d change addresses", sent[0].Outputs[0].Amount, sent[1].Outputs[0].Amount, w.selects, w.changes)
	}
	if probs := txbuild.PolicyFor(address.Mainnet).Check(sent[1], []txbuild.UTXOEntry{{Amount: sent[0].Outputs[0].Amount, ScriptPublicKey: sent[0].Outputs[0].ScriptPublicKey}}, txbuild.SompiPerGram(1)); len(probs) != 0 {
		t.Fatalf("chained pulse breaks rules: %v", probs)
	}

	// The node is unreachable: the next attempt uses the same address.
	c.errs = []error{node.ErrUnavailable, nil}
	if _, err := p.PulseNow(ctx); !errors.Is(err, node.ErrUnavailable) {
		t.Fatalf("unavailable node: %v", err)
	}
	id4, err := p.PulseNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent = c.submitted()
	if !sent[2].Outputs[0].ScriptPublicKey.Equal(sent[3].Outputs[0].ScriptPublicKey) || w.changes != 3 {
		t.Fatalf("a failed pulse's change address was not reused (%d change addresses)", w.changes)
	}
	if sent[3].Inputs[0].PreviousOutpoint.TransactionID != id2 {
		t.Fatal("the pulse after a failed submission does not spend the last accepted pulse")
	}

	// The node refuses the chained input (say it was double spent): back
	// to the wallet.
	c.errs = []error{&node.RejectedError{TransactionID: txbuild.Hash{9}, Reason: "transaction spends an output that is already spent"}, nil}
	if _, err := p.PulseNow(ctx); err == nil || errors.Is(err, ErrPayloadRefused) {
		t.Fatalf("rejected: %v", err)
	}
	if _, err := p.PulseNow(ctx); err != nil {
		t.Fatal(err)
	}
	sent = c.submitted()
	if sent[5].Inputs[0].PreviousOutpoint.TransactionID == id4 || w.selects != 2 {
		t.Fatalf("after a rejection the pulse still spends the chained output (%d selections)", w.selects)
	}
	if s := p.Status(); s.Sent != 4 || s.PayloadRefused || s.LastErr != nil {
		t.Fatalf("status %+v", s)
	}

	// Pre-Crescendo kaspad.
	c.errs = []error{&node.RejectedError{TransactionID: txbuild.Hash{9}, Reason: "transaction in the native subnetwork includes a payload: ErrInvalidPayload"}}
	for range 3 {
		if _, err := p.PulseNow(ctx); !errors.Is(err, ErrPayloadRefused) {
			t.Fatalf("payload refused: %v", err)
		}
	}
	if n := len(c.submitted()); n != 7 {
		t.Fatalf("%d submissions, want 7: the pulser kept trying after the refusal", n)
	}
	if n := logs.count(slog.LevelWarn, "refuses transaction payloads"); n != 1 {
		t.Fatalf("%d refusal warnings", n)
	}
	if s := p.Status(); !s.PayloadRefused || s.Sent != 4 {
		t.Fatalf("status %+v", s)
	}
}

// TestPulserTrigger: Run pulses at start; a Trigger is ignored within 30 s
// of the last success and honoured after; Run ends with its context.
func TestPulserTrigger(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_760_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := &fakeSubmitter{}
	logs := &logRecorder{}
	p, err := NewPulser(PulserConfig{Chain: c, Wallet: newFakeWallet(t), Network: address.Mainnet, PublicURL: "wss://relay.example/kpp",
		Interval: time.Hour, Logger: slog.New(logs), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("still not %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("pulsed at start", func() bool { s := p.Status(); return s.Sent == 1 && !s.NextAt.IsZero() })
	if s := p.Status(); !s.NextAt.Equal(clock().Add(time.Hour)) {
		t.Errorf("NextAt %v, want an hour on", s.NextAt)
	}
	if err := p.Run(ctx); err == nil {
		t.Error("a second Run ran")
	}
	advance(29 * time.Second)
	p.Trigger()
	waitFor("the trigger ignored", func() bool { return logs.count(slog.LevelDebug, "pulse request ignored") == 1 })
	advance(2 * time.Second)
	p.Trigger()
	waitFor("pulsed on trigger", func() bool { return p.Status().Sent == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := p.Status(); s.Sent != 2 || !s.NextAt.IsZero() {
		t.Fatalf("status %+v", s)
	}
}
