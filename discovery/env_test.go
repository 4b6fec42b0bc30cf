package discovery

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// What the package promises to work with.
var (
	_ Chain       = (*node.Client)(nil)
	_ BatchChain  = (*node.Client)(nil)
	_ PulseChain  = (*node.Client)(nil)
	_ PulseWallet = (*wallet.Funds)(nil)
)

// env is a real devnet kaspad and the keys and wallets a test funds on it.
type env struct {
	t      *testing.T
	ctx    context.Context
	dev    *devnet.Node
	client *node.Client
	miner  testkit.Key
	bank   testkit.Key               // funded by mining; pays the wallets and plants
	used   map[txbuild.Outpoint]bool // outpoints of bank already spent
}

// newEnv starts a devnet node and mines until the bank holds coins UTXOs
// it can spend: one per wallet and per planted pulse of the test.
func newEnv(t *testing.T, opts devnet.Options, coins int) *env {
	t.Helper()
	e := &env{t: t, used: map[txbuild.Outpoint]bool{}}
	e.ctx, e.dev = testkit.StartDevnet(t, 3*time.Minute, opts)
	e.client = testkit.Dial(t, e.ctx, e.dev.RPCAddress(), node.Options{Logger: slog.New(slog.DiscardHandler)})
	e.miner = testkit.NewKey(t, address.Devnet, 0x33)
	e.bank = testkit.NewKey(t, address.Devnet, 0x34)
	err := e.dev.MineUntil(e.ctx, e.bank.Addr.String(), func(context.Context) (bool, error) {
		return len(e.spendableUTXOs(e.bank)) >= coins, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// nodeWallet creates a devnet wallet file and pays it one of the bank's
// coins; the payment is in the DAG at the next block mined.
func (e *env) nodeWallet(name string) *wallet.Funds {
	e.t.Helper()
	w := testkit.NewWallet(e.t, name)
	f := w.Funds(e.client, wallet.FundsOptions{CoinbaseMaturity: e.dev.SpendMaturity()})
	a, err := f.ChangeAddress(e.ctx) // pulses spend only change-chain coins
	if err != nil {
		e.t.Fatal(err)
	}
	e.pay(a)
	return f
}

// pay sends one of the bank's coins, less the fee, to a.
func (e *env) pay(a address.Address) txbuild.Hash {
	e.t.Helper()
	return e.submitFromBank(a.ScriptPublicKey(), nil)
}

// mine mines n blocks to the miner, one after the other.
func (e *env) mine(n int) {
	e.t.Helper()
	if err := e.dev.MineBlocks(e.ctx, e.miner.Addr.String(), n); err != nil {
		e.t.Fatal(err)
	}
}

// spendableUTXOs returns the UTXOs of k of at least 1 KAS that the node
// lets it spend now (past devnet.SpendMaturity) and that no plant spent.
func (e *env) spendableUTXOs(k testkit.Key) []txbuild.UTXO {
	e.t.Helper()
	info, err := e.client.DAGInfo(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	utxos, err := e.client.UTXOsByAddresses(e.ctx, []address.Address{k.Addr})
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(utxos, func(u txbuild.UTXO) bool {
		return e.used[u.Outpoint] || u.Entry.Amount < amount.SompiPerKAS ||
			(u.Entry.IsCoinbase && u.Entry.BlockDAAScore+e.dev.SpendMaturity() > info.VirtualDAAScore)
	})
}

// spendable returns one of spendableUTXOs and marks it used.
func (e *env) spendable(k testkit.Key) txbuild.UTXO {
	e.t.Helper()
	utxos := e.spendableUTXOs(k)
	if len(utxos) == 0 {
		e.t.Fatalf("%s has no unused spendable UTXO", k.Addr)
	}
	e.used[utxos[0].Outpoint] = true
	return utxos[0]
}

// plant submits a pulse-shaped transaction of the bank with these exact
// payload bytes, well-formed or not, and returns its id.
func (e *env) plant(payload []byte) txbuild.Hash {
	e.t.Helper()
	return e.submitFromBank(e.bank.Addr.ScriptPublicKey(), payload)
}

// submitFromBank submits a 1-input, 1-output transaction spending one of
// the bank's coins to script, with payload.
func (e *env) submitFromBank(script address.ScriptPublicKey, payload []byte) txbuild.Hash {
	e.t.Helper()
	u := e.spendable(e.bank)
	policy := txbuild.PolicyFor(address.Devnet)
	rate, err := e.client.FeeRate(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	tx, utxos, err := buildPulseRaw(u, script, payload, policy, rate)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := txbuild.SignInput(tx, utxos, 0, txbuild.SigHashAll, e.bank.Priv); err != nil {
		e.t.Fatal(err)
	}
	id, err := e.client.SubmitTransaction(e.ctx, tx)
	if err != nil {
		e.t.Fatalf("submitting with payload %q: %v", payload, err)
	}
	return id
}

// blockTime is a block's header time, asked of the node.
func (e *env) blockTime(h txbuild.Hash) (time.Time, bool) {
	e.t.Helper()
	b, err := e.client.Block(e.ctx, h, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return time.UnixMilli(b.Timestamp), b.IsChainBlock
}

// until polls cond every 20 ms until it holds, failing the test after d.
func (e *env) until(d time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("after %v: still not %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logRecorder is a slog handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// count returns how many records at level contain msg.
func (l *logRecorder) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(l.recs), func(r slog.Record) bool {
		return r.Level != level || !strings.Contains(r.Message, msg)
	}))
}
