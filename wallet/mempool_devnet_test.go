package wallet_test

import (
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// TestSendTwiceBeforeABlock pays twice from one wallet on a real kaspad
// before any block is mined: the second Send must not pick the coins the
// first one spends (the UTXO index still lists them), so the node accepts
// both, and once mined the recipient holds both payments.
func TestSendTwiceBeforeABlock(t *testing.T) {
	d := newDevnetPair(t, 20*amount.SompiPerKAS)
	ctx, n, c, from, to, miner := d.ctx, d.n, d.c, d.from, d.to, d.miner
	// Mine elsewhere so that no coinbase reward lands on the sender while
	// the test counts.
	if err := n.MineBlocks(ctx, miner, 3); err != nil {
		t.Fatal(err)
	}
	utxos, err := from.UTXOs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(utxos) < 2 {
		t.Fatalf("sender has %d spendable UTXOs, want at least 2", len(utxos))
	}
	rate, err := c.FeeRate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recipient, err := to.FreshAddresses(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	policy := txbuild.PolicyFor(address.Devnet)
	const amt = amount.SompiPerKAS

	before, err := from.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx1, spent1, err := from.Send(ctx, recipient[0], amt, rate, policy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTransaction(ctx, tx1); err != nil {
		t.Fatal(err)
	}
	var in1 amount.Sompi
	for _, e := range spent1 {
		in1 += e.Amount
	}
	after, err := from.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Spending != in1 || after.Spendable != before.Spendable-in1 {
		t.Errorf("after the first payment: %+v, want Spending %d and Spendable %d − %d", after, in1, before.Spendable, in1)
	}

	tx2, _, err := from.Send(ctx, recipient[0], amt, rate, policy)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range tx1.Inputs {
		for _, b := range tx2.Inputs {
			if a.PreviousOutpoint == b.PreviousOutpoint {
				t.Fatalf("the second payment spends %v again", a.PreviousOutpoint)
			}
		}
	}
	id2, err := c.SubmitTransaction(ctx, tx2)
	if err != nil {
		t.Fatalf("the node refused the second payment: %v", err)
	}
	if err := n.MineBlocks(ctx, miner, 3); err != nil {
		t.Fatal(err)
	}
	for _, id := range []txbuild.Hash{tx1.ID(), id2} {
		if in, err := c.InMempool(ctx, id); err != nil || in {
			t.Fatalf("payment %s still in the mempool: %v, %v", id, in, err)
		}
	}
	if got, err := to.Balance(ctx); err != nil || got != 2*amt {
		t.Errorf("recipient holds %v, %v; want %v", got, err, 2*amt)
	}
	if b, err := from.Balances(ctx); err != nil || b.Spending != 0 {
		t.Errorf("after mining: %+v, %v; want nothing being spent", b, err)
	}
}
