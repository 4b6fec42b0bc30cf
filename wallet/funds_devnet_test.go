package wallet_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// newDevnetWallet creates a devnet wallet file with a fresh mnemonic.
func newDevnetWallet(t *testing.T, name string) *wallet.Wallet {
	t.Helper()
	m, err := wallet.NewMnemonic(24)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wallet.Create(filepath.Join(t.TempDir(), name), []byte("pw"), m,
		wallet.CreateOptions{Network: address.Devnet, Scrypt: wallet.ScryptParams{LogN: 4, R: 8, P: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestSendOnDevnet funds a wallet by mining to its first receive address
// on a real kaspad, pays a second wallet with Send, submits the payment and
// mines it, and checks both wallets' balances to the sompi.
func TestSendOnDevnet(t *testing.T) {
	n := devnet.Start(t, devnet.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := node.Dial(ctx, n.RPCAddress(), node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	sender, receiver := newDevnetWallet(t, "sender.kloak"), newDevnetWallet(t, "receiver.kloak")
	opts := wallet.FundsOptions{CoinbaseMaturity: n.SpendMaturity()}
	from, to := sender.Funds(c, opts), receiver.Funds(c, opts)
	minerAddr := otherAddress(t, address.Devnet, 0).String()

	first, err := from.FreshAddresses(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.MineUntilSpendable(ctx, first[0].String(), 10*amount.SompiPerKAS); err != nil {
		t.Fatal(err)
	}
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
		all, err := c.Balance(ctx, first[0])
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
