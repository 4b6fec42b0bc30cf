//go:build linux

package kpp_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/wallet"
)

// TestSenderNodeUnresponsiveAtBroadcast: kaspad stops answering (SIGSTOP)
// after both wallets signed, while the sender broadcasts. Finalize fails
// within the sender client's CallTimeout with node.ErrUnavailable and tells
// the receiver (a *kpp.SignedError wrapping its *kpp.PeerError); what the
// receiver signed pays it in full. When kaspad runs again (SIGCONT) the
// request it had queued may or may not have reached it: resubmitting the
// same payjoin is accepted once or refused as already known, a third
// submission is refused, and once mined the receiver has gained exactly P
// and the sender lost exactly its debit: one spend.
func TestSenderNodeUnresponsiveAtBroadcast(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "sender")
	recvW, sendW := ws[0], ws[1]
	before := e.settle(recvW, sendW)
	recvSnap := e.snapshot("receiver", recvW)
	e.noLeaks(t)

	const callTimeout = 3 * time.Second
	sc, err := node.Dial(e.ctx, e.dev.RPCAddress(), node.Options{CallTimeout: callTimeout, DialTimeout: time.Second, MaxBackoff: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()

	r := e.honestReceiver(t, recvW, e.relayURL)
	sw := &recordingWallet{Funds: sendW.Funds(sc, wallet.FundsOptions{CoinbaseMaturity: e.dev.SpendMaturity()})}
	p, err := kpp.SenderPrepare(e.ctx, r.URI(), kpp.SenderConfig{Network: address.Devnet, Wallet: sw, Chain: sc, Timeouts: attackTimeouts})
	if err != nil {
		t.Fatal(err)
	}
	signed := p.Transaction()
	if err := sw.SignInput(e.ctx, signed, p.UTXOEntries(), p.SenderInput()); err != nil {
		t.Fatal(err)
	}

	resume := testkit.Freeze(t, e.dev.PID())
	began := time.Now()
	_, ferr := p.Finalize(e.ctx, signed)
	took := time.Since(began)
	if !errors.Is(ferr, node.ErrUnavailable) {
		t.Fatalf("sender: %v, want node.ErrUnavailable", ferr)
	}
	if took > callTimeout+2*time.Second {
		t.Errorf("Finalize took %v with the node frozen, CallTimeout is %v", took, callTimeout)
	}
	t.Logf("sender, after %v: %v", took.Round(time.Millisecond), ferr)
	rerr := r.refused(t)
	var se *kpp.SignedError
	var pe *kpp.PeerError
	if !errors.As(rerr, &se) || !errors.As(rerr, &pe) {
		t.Fatalf("receiver: %v, want a *kpp.SignedError wrapping the sender's *kpp.PeerError", rerr)
	}
	if se.TransactionID != signed.ID() {
		t.Errorf("the receiver signed %s, the sender holds %s", se.TransactionID, signed.ID())
	}
	paysInFull(t, p.Transaction(), honestOffer(t, recvW, r, signed, recvSnap.utxos), testPayment, se.TransactionID)
	resume()

	// Whatever the frozen node had queued, the payjoin is spent once.
	var accepted, known int
	for i := range 3 {
		id, err := e.client.SubmitTransaction(e.ctx, signed)
		var rej *node.RejectedError
		switch {
		case err == nil && id == signed.ID():
			accepted++
			t.Logf("submission %d: accepted", i+1)
		case errors.As(err, &rej):
			known++
			t.Logf("submission %d: refused: %v", i+1, err)
		default:
			t.Fatalf("submission %d: %s, %v", i+1, id, err)
		}
	}
	if accepted > 1 || known < 2 {
		t.Errorf("of 3 submissions, %d accepted and %d refused: want at most 1 accepted", accepted, known)
	}
	info, err := e.client.ServerInfo(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in, err := e.client.InMempool(e.ctx, signed.ID()); err != nil || !in || info.MempoolSize != 1 {
		t.Fatalf("mempool: payjoin in it %v (%v), %d transaction(s)", in, err, info.MempoolSize)
	}
	e.paidOnce(t, recvW, sendW, before, testPayment+p.NodeFee()+p.NetworkFee()) // P + F + fee, once
	t.Logf("one spend: the receiver gained exactly P = %s", amount.Sompi(testPayment))
}
