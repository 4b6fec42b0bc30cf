package wallet_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

// TestSelectChangeUTXO: SelectChangeUTXO never picks a coin received on a
// receive address (a relay's fee output), even when SelectUTXO would.
func TestSelectChangeUTXO(t *testing.T) {
	ctx := context.Background()
	w := newFundsWallet(t, address.Devnet)
	src := newFakeSource()
	fee := src.add(addr(t, w, wallet.ReceiveChain, 3), 3*kas/10, false, 1)
	src.add(addr(t, w, wallet.ReceiveChain, 0), 50*kas, false, 1)
	f := w.Funds(src, wallet.FundsOptions{})

	if _, err := f.SelectChangeUTXO(ctx, kas/10); !errors.Is(err, wallet.ErrNoFunds) ||
		!strings.Contains(err.Error(), "need one UTXO on the change chain of at least 0.1 KAS") {
		t.Errorf("no change coin: %v", err)
	}
	own := src.add(addr(t, w, wallet.ChangeChain, 1), 2*kas, false, 1)
	src.add(addr(t, w, wallet.ChangeChain, 0), kas/20, false, 1)

	if u, err := f.SelectUTXO(ctx, kas/10); err != nil || u.Outpoint != fee.Outpoint {
		t.Fatalf("SelectUTXO = %v, %v; want the 0.3 KAS receive coin", u.Entry.Amount, err)
	}
	if u, err := f.SelectChangeUTXO(ctx, kas/10); err != nil || u.Outpoint != own.Outpoint {
		t.Errorf("SelectChangeUTXO = %v, %v; want the 2 KAS change coin", u.Entry.Amount, err)
	}
	if _, err := f.SelectChangeUTXO(ctx, 3*kas); !errors.Is(err, wallet.ErrInsufficientFunds) || errors.Is(err, wallet.ErrNoFunds) ||
		!strings.Contains(err.Error(), "no single UTXO on the change chain holds 3 KAS: the largest holds 2 KAS, all 2 together 2.05 KAS") {
		t.Errorf("too little change: %v", err)
	}
}
