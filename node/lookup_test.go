package node_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// TestLookups checks LookupUTXO, TransactionSeen, FeeRate and
// VirtualDAAScore against a real kaspad: an unspent output is found with
// its entry, a spent, a made-up and a misattributed one are not; a payment
// is seen while in the mempool and after a block accepted it, and a random
// id is never seen.
func TestLookups(t *testing.T) {
	ctx, n := testkit.StartDevnet(t, 3*time.Minute, devnet.Options{})
	c := testkit.Dial(t, ctx, n.RPCAddress(), node.Options{})

	sender, recipient, miner := testkit.NewKey(t, address.Devnet, 4), testkit.NewKey(t, address.Devnet, 5), testkit.NewKey(t, address.Devnet, 6)
	if _, err := n.MineUntilSpendable(ctx, sender.Addr.String(), 10*amount.SompiPerKAS); err != nil {
		t.Fatal(err)
	}
	u := spendable(t, ctx, c, sender, n.SpendMaturity())

	got, err := c.LookupUTXO(ctx, sender.Addr, u.Outpoint)
	if err != nil {
		t.Fatal(err)
	}
	if got.Amount != u.Entry.Amount || !got.ScriptPublicKey.Equal(sender.Addr.ScriptPublicKey()) ||
		got.BlockDAAScore != u.Entry.BlockDAAScore || !got.IsCoinbase {
		t.Errorf("LookupUTXO = %+v, want %+v", got, u.Entry)
	}

	var random txbuild.Hash
	rand.Read(random[:])
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"made-up outpoint", func() error {
			_, err := c.LookupUTXO(ctx, sender.Addr, txbuild.Outpoint{TransactionID: random, Index: 0})
			return err
		}},
		{"existing outpoint, other index", func() error {
			_, err := c.LookupUTXO(ctx, sender.Addr, txbuild.Outpoint{TransactionID: u.Outpoint.TransactionID, Index: u.Outpoint.Index + 7})
			return err
		}},
		{"existing outpoint, wrong address", func() error {
			_, err := c.LookupUTXO(ctx, recipient.Addr, u.Outpoint)
			return err
		}},
	} {
		err := tc.run()
		if !errors.Is(err, node.ErrUTXONotFound) || !strings.Contains(err.Error(), "spent, never existed, or not paying that address") {
			t.Errorf("%s: %v, want ErrUTXONotFound", tc.name, err)
		}
	}

	rate, err := c.FeeRate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fees, err := c.FeeEstimate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rate != fees.Normal || rate < txbuild.SompiPerGram(1) {
		t.Errorf("FeeRate %v, FeeEstimate %+v", rate, fees)
	}
	daa, err := c.VirtualDAAScore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if daa < u.Entry.BlockDAAScore+n.CoinbaseMaturity() {
		t.Errorf("virtual DAA score %d, but UTXO of score %d is spendable", daa, u.Entry.BlockDAAScore)
	}

	const amt = 2 * amount.SompiPerKAS
	tx, _ := pay(t, sender, u, recipient.Addr, amt, rate)
	id, err := c.SubmitTransaction(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if seen, err := c.TransactionSeen(ctx, id, recipient.Addr); err != nil || !seen {
		t.Fatalf("in the mempool: TransactionSeen = %v, %v", seen, err)
	}
	// Mempool outputs are not in the UTXO index.
	if _, err := c.LookupUTXO(ctx, recipient.Addr, txbuild.Outpoint{TransactionID: id}); !errors.Is(err, node.ErrUTXONotFound) {
		t.Errorf("output of a mempool transaction: %v", err)
	}

	if err := n.MineBlocks(ctx, miner.Addr.String(), 3); err != nil {
		t.Fatal(err)
	}
	if in, err := c.InMempool(ctx, id); err != nil || in {
		t.Fatalf("still in the mempool after mining: %v, %v", in, err)
	}
	if seen, err := c.TransactionSeen(ctx, id, recipient.Addr); err != nil || !seen {
		t.Errorf("in a block: TransactionSeen = %v, %v", seen, err)
	}
	if seen, err := c.TransactionSeen(ctx, random, recipient.Addr); err != nil || seen {
		t.Errorf("random id: TransactionSeen = %v, %v", seen, err)
	}
	// A transaction that pays the address nothing is not seen through it.
	if seen, err := c.TransactionSeen(ctx, id, miner.Addr); err != nil || seen {
		t.Errorf("through an address it does not pay: TransactionSeen = %v, %v", seen, err)
	}

	paid, err := c.LookupUTXO(ctx, recipient.Addr, txbuild.Outpoint{TransactionID: id, Index: 0})
	if err != nil {
		t.Fatal(err)
	}
	if paid.Amount != amt || paid.IsCoinbase || !paid.ScriptPublicKey.Equal(recipient.Addr.ScriptPublicKey()) {
		t.Errorf("payment output %+v", paid)
	}
	_, err = c.LookupUTXO(ctx, sender.Addr, u.Outpoint)
	if !errors.Is(err, node.ErrUTXONotFound) || !strings.Contains(err.Error(), u.Outpoint.String()) || !strings.Contains(err.Error(), sender.Addr.String()) {
		t.Errorf("spent outpoint: %v", err)
	}
	if later, err := c.VirtualDAAScore(ctx); err != nil || later <= daa {
		t.Errorf("virtual DAA score %d after mining, was %d (%v)", later, daa, err)
	}
}
