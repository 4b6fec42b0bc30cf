package node_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// spendable returns a UTXO of k that the node lets it spend now.
func spendable(t *testing.T, ctx context.Context, c *node.Client, k testkit.Key, maturity uint64) node.UTXO {
	t.Helper()
	info, err := c.DAGInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	utxos, err := c.UTXOsByAddresses(ctx, []address.Address{k.Addr})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range utxos {
		if !u.Address.Equal(k.Addr) {
			t.Fatalf("UTXO of %s returned for %s", u.Address, k.Addr)
		}
		if !u.Entry.IsCoinbase || u.Entry.BlockDAAScore+maturity <= info.VirtualDAAScore {
			return u
		}
	}
	t.Fatalf("%s has no spendable UTXO among %d", k.Addr, len(utxos))
	return node.UTXO{}
}

// pay builds and signs a 1-input, 2-output payment of amt from u to "to",
// change back to from, paying the fee devnet's policy requires at rate.
func pay(t *testing.T, from testkit.Key, u node.UTXO, to address.Address, amt amount.Sompi, rate txbuild.FeeRate) (*txbuild.Transaction, amount.Sompi) {
	t.Helper()
	tx := &txbuild.Transaction{
		Inputs: []txbuild.Input{{PreviousOutpoint: u.Outpoint, SigOpCount: 1, SignatureScript: make([]byte, 66)}},
		Outputs: []txbuild.Output{
			{Amount: amt, ScriptPublicKey: to.ScriptPublicKey()},
			{Amount: u.Entry.Amount - amt, ScriptPublicKey: from.Addr.ScriptPublicKey()},
		},
	}
	utxos := []txbuild.UTXOEntry{u.Entry}
	policy := txbuild.PolicyFor(address.Devnet)
	var fee amount.Sompi
	for range 3 { // the fee changes the change output, which changes storage mass
		m, err := txbuild.CalcMasses(tx, utxos)
		if err != nil {
			t.Fatal(err)
		}
		fee = amount.Sompi(policy.RequiredFee(tx, m, rate))
		tx.Outputs[1].Amount = u.Entry.Amount - amt - fee
	}
	tx.Inputs[0].SignatureScript = nil
	if err := txbuild.SignInput(tx, utxos, 0, txbuild.SigHashAll, from.Priv); err != nil {
		t.Fatal(err)
	}
	if p := policy.Check(tx, utxos, rate); len(p) != 0 {
		t.Fatalf("payment breaks rules: %v", p)
	}
	return tx, fee
}

// TestFirstRealTransaction funds a key by mining on a real kaspad, pays
// another address with a signed 1-in/2-out transaction, sees it in the
// mempool and then accepted in a block, and checks both balances to the
// sompi. A wrongly signed transaction comes back as a *RejectedError.
func TestFirstRealTransaction(t *testing.T) {
	ctx, n := testkit.StartDevnet(t, 3*time.Minute, devnet.Options{})
	c := testkit.Dial(t, ctx, n.RPCAddress(), node.Options{})

	info, err := c.ServerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Network != "kaspa-devnet" || !info.UTXOIndex {
		t.Fatalf("server info %+v", info)
	}

	sender, recipient, miner := testkit.NewKey(t, address.Devnet, 1), testkit.NewKey(t, address.Devnet, 2), testkit.NewKey(t, address.Devnet, 3)
	if _, err := n.MineUntilSpendable(ctx, sender.Addr.String(), 10*amount.SompiPerKAS); err != nil {
		t.Fatal(err)
	}
	// A block's coinbase pays the miners of the blocks it merges, so the
	// sender keeps earning until blocks mined to someone else have merged
	// all of its blocks. Settle that before taking the balance.
	before := settledBalance(t, ctx, c, n, sender, miner)
	u := spendable(t, ctx, c, sender, n.SpendMaturity())
	fees, err := c.FeeEstimate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fee estimate %+v", fees)

	const amt = 3*amount.SompiPerKAS + 12_345
	tx, fee := pay(t, sender, u, recipient.Addr, amt, fees.Normal)

	// A signature made for other outputs is refused by the node.
	forged := tx.Clone()
	forged.Outputs[0].Amount++
	forged.Outputs[1].Amount--
	_, err = c.SubmitTransaction(ctx, forged)
	var rej *node.RejectedError
	if !errors.As(err, &rej) || !errors.Is(err, node.ErrRejected) || rej.TransactionID != forged.ID() || rej.Reason == "" {
		t.Fatalf("forged transaction: %v", err)
	}
	t.Logf("node refused the forged transaction: %v", err)

	id, err := c.SubmitTransaction(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if id != tx.ID() {
		t.Fatalf("id %s, want %s", id, tx.ID())
	}
	if ok, err := c.InMempool(ctx, id); err != nil || !ok {
		t.Fatalf("not in mempool: %v, %v", ok, err)
	}
	start, err := c.DAGInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.MineBlocks(ctx, miner.Addr.String(), 3); err != nil {
		t.Fatal(err)
	}
	chain, err := c.VirtualChainFromBlock(ctx, start.PruningPoint, true)
	if err != nil {
		t.Fatal(err)
	}
	var acceptedIn txbuild.Hash
	for _, a := range chain.Accepted {
		if slices.Contains(a.IDs, id) {
			acceptedIn = a.Block
		}
	}
	if acceptedIn.IsZero() {
		t.Fatalf("transaction %s not accepted by any of %d chain blocks", id, len(chain.Added))
	}
	if ok, err := c.InMempool(ctx, id); err != nil || ok {
		t.Fatalf("still in mempool after acceptance: %v, %v", ok, err)
	}

	got, err := c.Balances(ctx, []address.Address{recipient.Addr, sender.Addr})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != amt {
		t.Errorf("recipient balance %d, want %d", got[0], amt)
	}
	if want := before - amt - fee; got[1] != want {
		t.Errorf("sender balance %d, want %d (before %d − amount %d − fee %d)", got[1], want, before, amt, fee)
	}
	ru, err := c.UTXOsByAddresses(ctx, []address.Address{recipient.Addr})
	if err != nil || len(ru) != 1 || ru[0].Outpoint != (txbuild.Outpoint{TransactionID: id, Index: 0}) || ru[0].Entry.Amount != amt {
		t.Fatalf("recipient UTXOs %+v, %v", ru, err)
	}
	// The accepting chain block's merge set holds the transaction.
	blk, err := c.Block(ctx, acceptedIn, true)
	if err != nil {
		t.Fatal(err)
	}
	if !blk.IsChainBlock || blk.Timestamp <= 0 {
		t.Fatalf("accepting block %+v", blk)
	}
	t.Logf("paid %s with fee %d sompi; accepted by chain block %s", amount.Sompi(amt), fee, acceptedIn)

	// GetBlocks from the accepting block's chain parent: that block
	// first, then blocks not in its past, each as Block has it.
	low := chain.Added[slices.Index(chain.Added, acceptedIn)-1]
	batch, err := c.BlocksFrom(ctx, low, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) < 2 || batch[0].Hash != low {
		t.Fatalf("batch from %s: %d blocks", low, len(batch))
	}
	i := slices.IndexFunc(batch, func(b *node.Block) bool { return b.Hash == acceptedIn })
	if i < 0 {
		t.Fatalf("the batch from %s lacks its chain child %s", low, acceptedIn)
	}
	if !reflect.DeepEqual(batch[i], blk) || len(blk.ParentsByLevel) == 0 || !slices.Equal(blk.ParentsByLevel[0], blk.Parents) {
		t.Fatalf("in the batch %+v, alone %+v", batch[i], blk)
	}
	headers, err := c.BlocksFrom(ctx, low, false)
	if err != nil || len(headers) != len(batch) || headers[i].Transactions != nil {
		t.Fatalf("headers only: %d blocks, %v", len(headers), err)
	}
	var ne *node.NodeError
	_, err = c.BlocksFrom(ctx, txbuild.Hash{1}, false)
	if !errors.As(err, &ne) {
		t.Fatalf("from an unknown block: %v", err)
	}
	t.Logf("%d blocks from %s; from an unknown block: %v", len(batch), low, err)
}

func settledBalance(t *testing.T, ctx context.Context, c *node.Client, n *devnet.Node, k, miner testkit.Key) amount.Sompi {
	t.Helper()
	last := amount.Sompi(0)
	for i := range 20 {
		if err := n.MineBlocks(ctx, miner.Addr.String(), 1); err != nil {
			t.Fatal(err)
		}
		b, err := c.Balance(ctx, k.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && b == last {
			return b
		}
		last = b
	}
	t.Fatalf("balance of %s still changing after 20 blocks", k.Addr)
	return 0
}

// TestCallBounds: a cancelled call returns at once with ErrUnavailable and
// the client keeps working; a closed client says so; an address where no
// node listens fails within the dial timeout.
func TestCallBounds(t *testing.T) {
	n := devnet.Start(t, devnet.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := node.Dial(ctx, n.RPCAddress(), node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := c.DAGInfo(done); err == nil {
		t.Fatal("cancelled call succeeded")
	}
	if _, err := c.DAGInfo(ctx); err != nil {
		t.Fatalf("after a cancelled call: %v", err)
	}
	c.Close()
	if _, err := c.DAGInfo(ctx); !errors.Is(err, node.ErrClosed) {
		t.Fatalf("closed client: %v", err)
	}

	began := time.Now()
	_, err = node.Dial(ctx, "127.0.0.1:1", node.Options{DialTimeout: 2 * time.Second})
	if !errors.Is(err, node.ErrUnavailable) {
		t.Fatalf("dial of a closed port: %v", err)
	}
	if time.Since(began) > 10*time.Second {
		t.Fatalf("dial took %v", time.Since(began))
	}
}
