package kpp_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/txbuild"
)

// TestPayjoinOnDevnet: a receiver and a sender with separate wallet files
// pay through a kloak relay on a loopback socket; a real kaspad accepts and
// mines the payjoin; afterwards the receiver has +P, the sender
// −(P + F + network fee) and the relay node +F, to the sompi.
func TestPayjoinOnDevnet(t *testing.T) {
	e := newEnv(t)
	recvW, sendW := e.wallet("receiver"), e.wallet("sender")
	e.fund(100*amount.SompiPerKAS, recvW, sendW)
	before := e.settle(recvW, sendW)
	nodeBefore := e.nodeBalance()

	const p = 12*amount.SompiPerKAS + 34_567_891 // 12.34567891 KAS
	var mu sync.Mutex
	var steps []kpp.Step
	onEvent := func(ev kpp.Event) { mu.Lock(); steps = append(steps, ev.Step); mu.Unlock() }

	r, err := kpp.ReceiverInitiate(e.ctx, kpp.ReceiverConfig{
		Network: address.Devnet, RelayURL: e.relayURL, Amount: p,
		Wallet: e.funds(recvW), Chain: e.client, OnEvent: onEvent,
	})
	if err != nil {
		t.Fatal(err)
	}
	uri := r.URI()
	t.Logf("payment request: %s", uri)
	type result struct {
		res *kpp.ReceiverResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := r.Wait(e.ctx)
		done <- result{res, err}
	}()

	prop, err := kpp.SenderPrepare(e.ctx, uri, kpp.SenderConfig{Network: address.Devnet, Wallet: e.funds(sendW), Chain: e.client, OnEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	f, fee := prop.NodeFee(), prop.NetworkFee()
	// The relay announces kpp.DefaultNodeFeePolicy: F from 0.2 to 0.3 KAS,
	// whatever P is.
	if f < 20_000_000 || f > 30_000_000 {
		t.Fatalf("node fee %d outside 0.2–0.3 KAS", f)
	}
	sres, err := prop.SignAndFinalize(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The receiver returns once its node shows the transaction.
	rres := <-done
	if rres.err != nil {
		t.Fatal(rres.err)
	}
	if rres.res.TransactionID != sres.TransactionID || rres.res.Received != p {
		t.Fatalf("receiver result %+v, sender %s", rres.res, sres.TransactionID)
	}
	if sres.Debit != p+f+fee {
		t.Fatalf("debit %d", sres.Debit)
	}
	if err := e.dev.MineBlocks(e.ctx, e.miner.String(), 2); err != nil {
		t.Fatal(err)
	}
	after := e.settle(recvW, sendW)
	if got := after[0] - before[0]; got != p {
		t.Errorf("receiver gained %d sompi, want %d", got, p)
	}
	if got := before[1] - after[1]; got != p+f+fee {
		t.Errorf("sender lost %d sompi, want P + F + fee = %d + %d + %d = %d", got, p, f, fee, p+f+fee)
	}
	if got := e.nodeBalance() - nodeBefore; got != f {
		t.Errorf("node gained %d sompi, want %d", got, f)
	}
	seen, err := e.client.TransactionSeen(e.ctx, sres.TransactionID, r.PaymentRequest().Address)
	if err != nil || !seen {
		t.Fatalf("payjoin not on chain: %v %v", seen, err)
	}
	// On chain: two inputs, four outputs, and the mass rules of mainnet.
	tx := sres.Transaction
	if len(tx.Inputs) != 2 || len(tx.Outputs) != 4 {
		t.Fatalf("shape %d/%d", len(tx.Inputs), len(tx.Outputs))
	}
	m, err := txbuild.CalcMasses(tx, prop.UTXOEntries())
	if err != nil || m.Storage > txbuild.MaximumStandardMass {
		t.Fatalf("masses %+v %v", m, err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("steps %v; P %s, F %s, network fee %d sompi, storage mass %d, tx %s", steps, amount.Sompi(p), f, fee, m.Storage, sres.TransactionID)
	for _, want := range []kpp.Step{kpp.StepWaitingForSender, kpp.StepSenderArrived, kpp.StepProposalSigned, kpp.StepBroadcastClaimed, kpp.StepBroadcastSeen,
		kpp.StepPaired, kpp.StepProposalSent, kpp.StepReceiverSigned, kpp.StepBroadcast} {
		found := false
		for _, s := range steps {
			found = found || s == want
		}
		if !found {
			t.Errorf("no %v event", want)
		}
	}
}

var _ = errors.Is
