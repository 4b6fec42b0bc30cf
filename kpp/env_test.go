package kpp_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/devnet"
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

const testScryptLogN = 4

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, dev: devnet.Start(t, devnet.Options{})}
	var err error
	if e.client, err = node.Dial(ctx, e.dev.RPCAddress(), node.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.client.Close() })
	e.nodeW = e.wallet("node")
	srv, err := relay.New(relay.Config{FeeAddresses: relay.NewWalletFeeAddresses(e.nodeW, 16)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		srv.Shutdown(sctx)
	})
	e.relay = srv
	e.relayURL = "ws://" + ln.Addr().String() + "/kpp"
	m := e.wallet("miner")
	addrs, err := m.Funds(e.client, wallet.FundsOptions{}).FreshAddresses(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.miner = addrs[0]
	return e
}

// wallet creates a fresh devnet wallet file.
func (e *env) wallet(name string) *wallet.Wallet {
	e.t.Helper()
	m, err := wallet.NewMnemonic(12)
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := wallet.Create(filepath.Join(e.t.TempDir(), name+".kloak"), []byte("pw-"+name), m,
		wallet.CreateOptions{Network: address.Devnet, Scrypt: wallet.ScryptParams{LogN: testScryptLogN, R: 8, P: 1}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { w.Close() })
	return w
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

// nodeBalance is the balance of the relay's fee addresses.
func (e *env) nodeBalance() amount.Sompi {
	e.t.Helper()
	return e.total(e.nodeW)
}

var _ = http.DefaultClient
