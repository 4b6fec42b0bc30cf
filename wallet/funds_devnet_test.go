package wallet_test

import (
	"context"
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

// TestSendOnDevnet funds a wallet by mining to its first receive address
// on a real kaspad, pays a second wallet with Send, submits the payment and
// mines it, and checks both wallets' balances to the sompi.
func TestSendOnDevnet(t *testing.T) {
	d := newDevnetPair(t, 10*amount.SompiPerKAS)
	ctx, n, c, from, to, first, minerAddr := d.ctx, d.n, d.c, d.from, d.to, d.first, d.miner
	// A block's coinbase pays the miners of the blocks it merges, so the
	// sender keeps earning until blocks mined to someone else have merged
	// all of its blocks; and its coinbase outputs mature one by one. Mine
	// elsewhere until what it holds stops changing and all of it is
	// spendable, so that Balance is exact.
	var before amount.Sompi
	for i := 0; ; i++ {
		if uint64(i) == 2*n.SpendMaturity() {
			t.Fatalf("sender's balance still changing after %d blocks", i)
		}
		if err := n.MineBlocks(ctx, minerAddr, 1); err != nil {
			t.Fatal(err)
		}
		all, err := c.Balance(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		spendable, err := from.Balance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if all == before && spendable == all {
			break
		}
		before = all
	}
	utxos, err := from.UTXOs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// More than the largest coin, so Send needs two inputs.
	if len(utxos) < 2 {
		t.Fatalf("sender has %d UTXOs, want at least 2", len(utxos))
	}
	amt := utxos[0].Entry.Amount + utxos[1].Entry.Amount/2 + 12_345

	rate, err := c.FeeRate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recipient, err := to.FreshAddresses(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	tx, spent, err := from.Send(ctx, recipient[0], amt, rate, txbuild.PolicyFor(address.Devnet))
	if err != nil {
		t.Fatal(err)
	}
	fee, err := txbuild.Fee(tx, spent)
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Inputs) != 2 || len(tx.Outputs) != 2 {
		t.Errorf("%d inputs, %d outputs; want 2 and 2", len(tx.Inputs), len(tx.Outputs))
	}
	id, err := c.SubmitTransaction(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if seen, err := c.TransactionSeen(ctx, id, recipient[0]); err != nil || !seen {
		t.Fatalf("submitted payment not seen: %v, %v", seen, err)
	}
	if err := n.MineBlocks(ctx, minerAddr, 3); err != nil {
		t.Fatal(err)
	}
	if in, err := c.InMempool(ctx, id); err != nil || in {
		t.Fatalf("payment still in the mempool: %v, %v", in, err)
	}

	if got, err := to.Balance(ctx); err != nil || got != amt {
		t.Errorf("receiver balance %v, %v; want %v", got, err, amt)
	}
	if got, want := mustBalance(t, ctx, from), before-amt-fee; got != want {
		t.Errorf("sender balance %d, want %d (before %d − amount %d − fee %d)", got, want, before, amt, fee)
	}
	t.Logf("paid %v with %d inputs, fee %d sompi at %v; sender %v → %v",
		amt, len(tx.Inputs), fee, rate, before, mustBalance(t, ctx, from))
}

func mustBalance(t *testing.T, ctx context.Context, f *wallet.Funds) amount.Sompi {
	t.Helper()
	b, err := f.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// devnetPair is a real kaspad with a sender wallet that mining to its first
// receive address has funded, and a receiver wallet.
type devnetPair struct {
	ctx      context.Context
	n        *devnet.Node
	c        *node.Client
	from, to *wallet.Funds
	first    address.Address // the sender's first receive address, mined to
	miner    string          // an address of no wallet's, to mine other blocks to
}

// newDevnetPair starts the node and mines to the sender until it can spend
// at least spendable.
func newDevnetPair(t *testing.T, spendable amount.Sompi) devnetPair {
	t.Helper()
	ctx, n := testkit.StartDevnet(t, 3*time.Minute, devnet.Options{})
	c := testkit.Dial(t, ctx, n.RPCAddress(), node.Options{})
	sender, receiver := testkit.NewWallet(t, "sender"), testkit.NewWallet(t, "receiver")
	opts := wallet.FundsOptions{CoinbaseMaturity: n.SpendMaturity()}
	d := devnetPair{ctx: ctx, n: n, c: c, from: sender.Funds(c, opts), to: receiver.Funds(c, opts),
		miner: otherAddress(t, address.Devnet, 0).String()}
	first, err := d.from.FreshAddresses(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	d.first = first[0]
	if _, err := n.MineUntilSpendable(ctx, d.first.String(), uint64(spendable)); err != nil {
		t.Fatal(err)
	}
	return d
}
