package kpp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/txbuild"
)

// What a wallet tells the other is a fixed text from one table, whatever
// the error wraps: never the wallet's node, amounts, coins or files.
func TestRefusalText(t *testing.T) {
	node := errors.New("GetUTXOsByAddresses: kaspa node unavailable: 10.1.2.3:16110: EOF")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("kpp: the receiver's UTXO abc:1: %w", node), "payjoin cancelled"},
		{fmt.Errorf("%w: they get 1 KAS, want 2 KAS", txbuild.ErrNotPaidInFull), "refused: the receiver is not paid in full"},
		{fmt.Errorf("%w: output of 5 KAS", txbuild.ErrExposingSplit), "refused: the receiver's outputs would expose it"},
		{fmt.Errorf("%w: 1000 KAS for a payment of 10 KAS, cap 0.4 KAS", ErrNodeFeeTooHigh), "refused: the relay node's fee is over the sender's cap"},
		{fmt.Errorf("%w: %w", errBroadcastFailed, node), "broadcast failed"},
		{fmt.Errorf("kpp: waiting: %w", context.DeadlineExceeded), "timed out"},
		{fmt.Errorf("payjoin: %w: storage mass 140000 > budget 100000", txbuild.ErrStorageMassTooHigh), "cannot build: the payjoin would break the storage mass limit"},
	} {
		if got := refusalText(tc.err); got != tc.want {
			t.Errorf("refusalText(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	for _, r := range refusalTexts {
		if strings.ContainsAny(r.text, "0123456789%") || len(r.text) > 80 {
			t.Errorf("refusal text %q names a number or is long", r.text)
		}
	}
}
