package wallet_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// mempoolSource adds the node's mempool spends to a fakeSource.
type mempoolSource struct {
	*fakeSource
	spent map[txbuild.Outpoint]txbuild.Hash
	err   error
}

func (s mempoolSource) MempoolSpends(ctx context.Context, addrs []address.Address) (map[txbuild.Outpoint]txbuild.Hash, error) {
	return s.spent, s.err
}

// TestFundsMempoolSpends: outputs that a mempool transaction spends are
// neither listed, counted nor picked, and errors say they are being
// spent; a failing mempool query fails the scan rather than risk a double
// spend.
func TestFundsMempoolSpends(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	a, b := addr(t, w, 0, 0), addr(t, w, 1, 0)
	src := newFakeSource()
	big := src.add(a, 8*kas, false, 1)
	mid := src.add(b, 4*kas, false, 1)
	small := src.add(a, 1*kas, false, 1)
	spender := txbuild.Hash{0xee}
	f := w.Funds(mempoolSource{fakeSource: src, spent: map[txbuild.Outpoint]txbuild.Hash{
		big.Outpoint:                        spender,
		mid.Outpoint:                        spender,
		{TransactionID: txbuild.Hash{0x99}}: spender, // someone else's coin
	}}, wallet.FundsOptions{})

	utxos, err := f.UTXOs(ctx)
	if err != nil || len(utxos) != 1 || utxos[0].Outpoint != small.Outpoint {
		t.Fatalf("UTXOs = %v, %v; want only the 1 KAS coin", amounts(utxos), err)
	}
	bal, err := f.Balances(ctx)
	if err != nil || bal != (wallet.Balances{Spendable: 1 * kas, Spending: 12 * kas}) {
		t.Errorf("Balances = %+v, %v", bal, err)
	}
	if _, err := f.SelectUTXO(ctx, 2*kas); !errors.Is(err, wallet.ErrInsufficientFunds) ||
		!strings.Contains(err.Error(), "2 outputs holding 12 KAS are being spent by transactions in the mempool") {
		t.Errorf("SelectUTXO: %v, want it to say what is being spent", err)
	}
	if u, err := f.ContributeUTXO(ctx, kas); err != nil || u.Outpoint != small.Outpoint {
		t.Errorf("ContributeUTXO = %v, %v; want the coin not being spent", u.Outpoint, err)
	}

	down := errors.New("node went away")
	f = w.Funds(mempoolSource{fakeSource: src, err: down}, wallet.FundsOptions{})
	if _, err := f.Balance(ctx); !errors.Is(err, down) || !strings.Contains(err.Error(), "mempool spends of") {
		t.Errorf("Balance with a failing mempool query: %v", err)
	}
}
