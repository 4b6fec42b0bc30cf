package kpp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/wallet"
)

// env is a real devnet kaspad, a kloak relay on a loopback socket with its
// own wallet file, and funded wallets.
type env struct {
	t        *testing.T
	ctx      context.Context
	dev      *devnet.Node
	client   *node.Client
	relayURL string
	relay    *relay.Server
	nodeW    *wallet.Wallet
	miner    address.Address
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	e.ctx, e.dev = testkit.StartDevnet(t, 4*time.Minute, devnet.Options{})
	e.client = testkit.Dial(t, e.ctx, e.dev.RPCAddress(), node.Options{})
	e.nodeW = e.wallet("node")
	r := testkit.StartRelay(t, relay.Config{FeeAddresses: relay.NewWalletFeeAddresses(e.nodeW, 16)})
	e.relay, e.relayURL = r.Server, r.URL
	m := e.wallet("miner")
	addrs, err := m.Funds(e.client, wallet.FundsOptions{}).FreshAddresses(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.miner = addrs[0]
	return e
}

// wallet creates a fresh devnet wallet file.
func (e *env) wallet(name string) *wallet.Wallet {
	e.t.Helper()
	return testkit.NewWallet(e.t, name)
}

// newFundedEnv is newEnv with a wallet for each of names, in that order,
// each funded with at least 50 KAS (fund).
func newFundedEnv(t *testing.T, names ...string) (*env, []*wallet.Wallet) {
	t.Helper()
	e := newEnv(t)
	ws := make([]*wallet.Wallet, len(names))
	for i, name := range names {
		ws[i] = e.wallet(name)
	}
	e.fund(50*amount.SompiPerKAS, ws...)
	return e, ws
}

func (e *env) funds(w *wallet.Wallet) *wallet.Funds {
	return w.Funds(e.client, wallet.FundsOptions{CoinbaseMaturity: e.dev.SpendMaturity()})
}

// fund mines to a fresh address of each wallet until it can spend at
// least min, then lets the coinbase rewards settle (a block's coinbase
// pays the miners of the blocks it merges).
func (e *env) fund(min amount.Sompi, ws ...*wallet.Wallet) {
	e.t.Helper()
	for _, w := range ws {
		a, err := e.funds(w).FreshAddresses(e.ctx, 1)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.dev.MineUntilSpendable(e.ctx, a[0].String(), uint64(min)); err != nil {
			e.t.Fatal(err)
		}
	}
	e.settle(ws...)
}

// settle mines blocks to the miner until every coin of ws is settled: the
// balances stop changing and all of it is spendable (no coinbase output is
// still maturing), and returns the balances.
func (e *env) settle(ws ...*wallet.Wallet) []amount.Sompi {
	e.t.Helper()
	var last []amount.Sompi
	for i := range 60 {
		if err := e.dev.MineBlocks(e.ctx, e.miner.String(), 1); err != nil {
			e.t.Fatal(err)
		}
		now := make([]amount.Sompi, len(ws))
		mature := true
		for j, w := range ws {
			spendable, err := e.funds(w).Balance(e.ctx)
			if err != nil {
				e.t.Fatal(err)
			}
			now[j] = e.total(w)
			mature = mature && spendable == now[j]
		}
		if i > 0 && mature && equal(now, last) {
			return now
		}
		last = now
	}
	e.t.Fatal("balances still changing after 60 blocks")
	return nil
}

// total is what the node holds for the wallet's addresses, mature or not.
func (e *env) total(w *wallet.Wallet) amount.Sompi {
	e.t.Helper()
	acct, err := w.Account()
	if err != nil {
		e.t.Fatal(err)
	}
	var addrs []address.Address
	for i := uint32(0); i < w.NextReceiveIndex()+wallet.DefaultLookahead; i++ {
		k, err := acct.Receive(i)
		if err != nil {
			e.t.Fatal(err)
		}
		addrs = append(addrs, k.Address)
	}
	for i := uint32(0); i < w.NextChangeIndex()+wallet.DefaultLookahead; i++ {
		k, err := acct.Change(i)
		if err != nil {
			e.t.Fatal(err)
		}
		addrs = append(addrs, k.Address)
	}
	bs, err := e.client.Balances(e.ctx, addrs)
	if err != nil {
		e.t.Fatal(err)
	}
	var sum amount.Sompi
	for _, b := range bs {
		sum += b
	}
	return sum
}

func equal(a, b []amount.Sompi) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// paidOnce mines 2 blocks and settles, then checks against the balances
// before (receiver's, sender's) that the receiver gained exactly P
// (testPayment) and the sender lost exactly debit: the payjoin was spent
// once.
func (e *env) paidOnce(t *testing.T, recvW, sendW *wallet.Wallet, before []amount.Sompi, debit amount.Sompi) {
	t.Helper()
	if err := e.dev.MineBlocks(e.ctx, e.miner.String(), 2); err != nil {
		t.Fatal(err)
	}
	after := e.settle(recvW, sendW)
	if got := after[0] - before[0]; got != testPayment {
		t.Errorf("the receiver gained %d sompi, want P = %d", got, testPayment)
	}
	if got := before[1] - after[1]; got != debit {
		t.Errorf("the sender lost %d sompi, want its debit %d", got, debit)
	}
}

// nodeBalance is the balance of the relay's fee addresses.
func (e *env) nodeBalance() amount.Sompi {
	e.t.Helper()
	return e.total(e.nodeW)
}

var _ = http.DefaultClient
