package kpp_test

import (
	"encoding/json"
	"testing"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
)

// TestOnPathRedirectsNodeFee shows the one thing an on-path attacker (or a
// relay) gains from the only plaintext message a wallet acts on: it
// rewrites the dust_address message to name its own address, within the
// sender's fee cap. The payjoin completes; the receiver still gets exactly
// P and the sender pays exactly P + F + network fee, as agreed, but F goes
// to the attacker instead of the relay node. (Over the cap, the sender
// refuses: TestRelayMisbehaves/dust_address_asks_a_fee_min_of_1000_KAS.)
// Serving the relay over wss:// keeps an on-path attacker out; the relay
// itself is trusted with F.
func TestOnPathRedirectsNodeFee(t *testing.T) {
	e := newEnv(t)
	recvW, sendW, evilW := e.wallet("receiver"), e.wallet("sender"), e.wallet("attacker")
	e.fund(50*amount.SompiPerKAS, recvW, sendW)
	before := e.settle(recvW, sendW)
	nodeBefore := e.nodeBalance()
	mine, err := e.funds(evilW).FreshAddresses(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.noLeaks(t)

	m := newMITM(t, e.relayURL, func(f mitmFrame) []mitmOut {
		if f.is(kpp.RoleSender, toWallet, 0) {
			var fa kpp.FeeAddress
			if err := json.Unmarshal(f.Data, &fa); err != nil {
				t.Errorf("mitm: dust_address: %v", err)
			}
			fa.Address = mine[0].String()
			f.Data = fa.Marshal()
		}
		return pass(f)
	})
	r := e.honestReceiver(t, recvW, m.url)
	s := e.honestSender(t, sendW, r.URI(), kpp.SenderConfig{})
	<-s.done
	if s.err != nil {
		t.Fatal(s.err)
	}
	sres, err := s.p.SignAndFinalize(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.outcome(t); err != nil {
		t.Fatal(err)
	}
	e.paidOnce(t, recvW, sendW, before, sres.Debit)
	if got, want := e.total(evilW), s.p.NodeFee(); got != want {
		t.Errorf("the attacker got %d sompi, want F = %d", got, want)
	}
	if got := e.nodeBalance(); got != nodeBefore {
		t.Errorf("the relay node's fee wallet went from %s to %s", nodeBefore, got)
	}
	t.Logf("on path: the attacker took F = %s; receiver +P, sender −(P + F + fee) as agreed", s.p.NodeFee())
}
