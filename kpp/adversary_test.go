package kpp_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// The cast of the attack tests (attack_test.go, mitm_test.go): honest
// wallets that run kpp's flows with every signature counted, and attackers
// that speak KPP at the wire level with the package's own primitives (Seal,
// Open, the message codecs, txbuild) and do what an attacker would. Every
// attack must end in a typed refusal by the honest side and, proven on the
// devnet node, no loss: noLoss.

// testPayment is P in the attack tests.
const testPayment = 10 * amount.SompiPerKAS

// attackTimeouts keeps an honest wallet's waits short. Every attack ends in
// a refusal long before Pair or Step; Seen is what a lying sender costs the
// receiver.
var attackTimeouts = kpp.Timeouts{Pair: 20 * time.Second, Step: 8 * time.Second, Seen: 2 * time.Second}

// countingWallet is a wallet.Funds that counts its signatures, so that a
// test can show that an honest party signed nothing.
type countingWallet struct {
	*wallet.Funds
	signed atomic.Int32
}

func (c *countingWallet) SignInput(ctx context.Context, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, i int) error {
	c.signed.Add(1)
	return c.Funds.SignInput(ctx, tx, utxos, i)
}

// signedNothing fails the test if the wallet signed anything.
func (c *countingWallet) signedNothing(t *testing.T, who string) {
	t.Helper()
	if n := c.signed.Load(); n != 0 {
		t.Errorf("the honest %s signed %d time(s)", who, n)
	}
}

// snapshot is an honest wallet's coins as the node reports them before an
// attack.
type snapshot struct {
	name  string
	w     *wallet.Wallet
	utxos []txbuild.UTXO
	total amount.Sompi
}

func (e *env) snapshot(name string, w *wallet.Wallet) snapshot {
	e.t.Helper()
	us, err := e.funds(w).UTXOs(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(us) == 0 {
		e.t.Fatalf("%s has no spendable UTXO", name)
	}
	return snapshot{name: name, w: w, utxos: us, total: e.total(w)}
}

// noLoss proves on the node that an attack moved none of the honest
// wallets' coins: the mempool is empty, so no transaction spending them is
// pending; each UTXO a wallet held is still unspent (client.LookupUTXO);
// each wallet's total is what it was; and no transaction in signed (the
// ones an honest party signed) reached the mempool.
func (e *env) noLoss(t *testing.T, snaps []snapshot, signed ...txbuild.Hash) {
	t.Helper()
	info, err := e.client.ServerInfo(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.MempoolSize != 0 {
		t.Errorf("no loss: the mempool holds %d transaction(s)", info.MempoolSize)
	}
	for _, id := range signed {
		if in, err := e.client.InMempool(e.ctx, id); err != nil || in {
			t.Errorf("no loss: the signed payjoin %s is in the mempool (%v, %v)", id, in, err)
		}
	}
	for _, s := range snaps {
		for _, u := range s.utxos {
			entry, err := e.client.LookupUTXO(e.ctx, u.Address, u.Outpoint)
			if err != nil {
				t.Errorf("no loss: %s's UTXO %s: %v", s.name, u.Outpoint, err)
				continue
			}
			if entry.Amount != u.Entry.Amount {
				t.Errorf("no loss: %s's UTXO %s holds %s, held %s", s.name, u.Outpoint, entry.Amount, u.Entry.Amount)
			}
		}
		if got := e.total(s.w); got != s.total {
			t.Errorf("no loss: %s holds %s, held %s", s.name, got, s.total)
		}
	}
	if !t.Failed() {
		t.Logf("no loss: mempool empty, %d wallet(s) with every UTXO unspent on the node", len(snaps))
	}
}

// waitPending waits until the relay holds n receivers waiting for a
// sender, so that a sender does not arrive before its receiver's offer.
func (e *env) waitPending(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.relay.Stats().Pending < n {
		if time.Now().After(deadline) {
			t.Fatalf("relay: %+v, want %d pending", e.relay.Stats(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noLeaks registers a check, run when t ends (after the cleanups
// registered later, such as closing an attacker's connection), that every
// connection and goroutine of the payjoin is gone: the relay holds no
// connection or session, and no goroutine runs kpp, relay-connection or
// websocket code.
func (e *env) noLeaks(t *testing.T) {
	t.Cleanup(func() {
		t.Helper()
		deadline := time.Now().Add(8 * time.Second)
		for {
			st := e.relay.Stats()
			leaks := leakedGoroutines()
			if st.Connections == 0 && st.Pending == 0 && st.Bridged == 0 && len(leaks) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("left behind: relay %+v, %d goroutine(s):\n%s", st, len(leaks), strings.Join(leaks, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func leakedGoroutines() []string {
	return testkit.GoroutinesWith("kloak/kpp.", "kloak/relay.(*conn)", "coder/websocket.", "kpp_test.(*mitm)")
}

// frame is one WebSocket message.
type frame struct {
	typ  websocket.MessageType
	data []byte
}

func textFrame(s string) frame { return frame{websocket.MessageText, []byte(s)} }

// oversizedFrame is a text frame one byte over the relay's 64 KiB limit
// (relay.DefaultMaxMessageSize).
func oversizedFrame() frame {
	return textFrame(strings.Repeat("A", 64<<10+1))
}

func binaryFrame() frame {
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	return frame{websocket.MessageBinary, b}
}

func sealedFrame(k kpp.Key, plaintext []byte) frame {
	s, err := kpp.Seal(k, plaintext, nil)
	if err != nil {
		panic(err)
	}
	return textFrame(s)
}

// wire is an attacker's raw connection to the relay.
type wire struct {
	t   *testing.T
	ctx context.Context
	ws  *websocket.Conn
	key kpp.Key
}

// dialWire connects to the relay at url and sends the handshake for role.
func dialWire(t *testing.T, ctx context.Context, url string, key kpp.Key, role string) *wire {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	w := &wire{t: t, ctx: ctx, ws: ws, key: key}
	t.Cleanup(func() { _ = ws.CloseNow() })
	b, _ := json.Marshal(kpp.Handshake{Role: role, SessionID: key.SessionID()})
	w.send(textFrame(string(b)))
	return w
}

func (w *wire) send(f frame) {
	w.t.Helper()
	if err := w.ws.Write(w.ctx, f.typ, f.data); err != nil {
		w.t.Fatalf("attacker: write: %v", err)
	}
}

func (w *wire) sendSealed(plaintext []byte) { w.t.Helper(); w.send(sealedFrame(w.key, plaintext)) }

// read returns the next message, or the error that ended the connection.
func (w *wire) read() ([]byte, error) {
	ctx, cancel := context.WithTimeout(w.ctx, 20*time.Second)
	defer cancel()
	_, b, err := w.ws.Read(ctx)
	return b, err
}

// open reads and opens the peer's next sealed message.
func (w *wire) open() []byte {
	w.t.Helper()
	b, err := w.read()
	if err != nil {
		w.t.Fatalf("attacker: read: %v", err)
	}
	pt, err := kpp.Open(w.key, string(b))
	if err != nil {
		w.t.Fatalf("attacker: %v (%.100q)", err, b)
	}
	return pt
}

// closedWith reads until the relay closes the connection and returns the
// close status (-1 if it ended otherwise).
func (w *wire) closedWith() websocket.StatusCode {
	w.t.Helper()
	for {
		_, err := w.read()
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// expectBroadcastError reads the peer's next message and checks that it is
// a sealed broadcast_error: the honest party told the attacker why it
// stopped.
func (w *wire) expectBroadcastError() string {
	w.t.Helper()
	pt := w.open()
	var m struct {
		Type  string `json:"type"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(pt, &m); err != nil || m.Type != kpp.MsgBroadcastError {
		w.t.Fatalf("attacker got %s, want a sealed broadcast_error", pt)
	}
	return m.Error
}

// honestReceiver runs kpp.ReceiverInitiate and then Wait in the background.
type honestReceiver struct {
	*kpp.Receiver
	wallet *countingWallet
	done   chan struct{}
	res    *kpp.ReceiverResult
	err    error
}

func (e *env) honestReceiver(t *testing.T, w *wallet.Wallet, relayURL string, timeouts ...kpp.Timeouts) *honestReceiver {
	t.Helper()
	cw := &countingWallet{Funds: e.funds(w)}
	cfg := kpp.ReceiverConfig{
		Network: address.Devnet, RelayURL: relayURL, Amount: testPayment,
		Wallet: cw, Chain: e.client, Timeouts: attackTimeouts,
	}
	if len(timeouts) > 0 {
		cfg.Timeouts = timeouts[0]
	}
	r, err := kpp.ReceiverInitiate(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &honestReceiver{Receiver: r, wallet: cw, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.res, h.err = r.Wait(e.ctx)
	}()
	t.Cleanup(func() { r.Close(); <-h.done })
	e.waitPending(t, 1)
	return h
}

// offer returns the offer the receiver left at the relay, opened with the
// key of its payment request: what the attack tests check payments
// against.
func (h *honestReceiver) offerFrom(t *testing.T, blob []byte) kpp.ReceiverOffer {
	t.Helper()
	pt, err := kpp.Open(h.PaymentRequest().Key, string(blob))
	if err != nil {
		t.Fatal(err)
	}
	o, err := kpp.DecodeReceiverOffer(pt, address.Devnet)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// outcome waits for Wait's result.
func (h *honestReceiver) outcome(t *testing.T) (*kpp.ReceiverResult, error) {
	t.Helper()
	select {
	case <-h.done:
		return h.res, h.err
	case <-time.After(time.Minute):
		t.Fatal("the honest receiver is stuck")
		return nil, nil
	}
}

// refused waits for the receiver's refusal.
func (h *honestReceiver) refused(t *testing.T) error {
	t.Helper()
	res, err := h.outcome(t)
	if err == nil {
		t.Fatalf("the honest receiver completed a payjoin under attack: %+v", res)
	}
	t.Logf("receiver refused: %v", err)
	return err
}

// honestSender runs kpp.SenderPrepare in the background.
type honestSender struct {
	wallet *countingWallet
	done   chan struct{}
	p      *kpp.SenderProposal
	err    error
}

func (e *env) honestSender(t *testing.T, w *wallet.Wallet, uri string, cfg kpp.SenderConfig) *honestSender {
	cw := &countingWallet{Funds: e.funds(w)}
	cfg.Network, cfg.Wallet, cfg.Chain = address.Devnet, cw, e.client
	if cfg.Timeouts == (kpp.Timeouts{}) {
		cfg.Timeouts = attackTimeouts
	}
	s := &honestSender{wallet: cw, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.p, s.err = kpp.SenderPrepare(e.ctx, uri, cfg)
	}()
	t.Cleanup(func() {
		<-s.done
		if s.p != nil {
			s.p.Abort(errors.New("test over"))
		}
	})
	return s
}

// refused waits for SenderPrepare's refusal.
func (s *honestSender) refused(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatal("the honest sender is stuck")
	}
	if s.err == nil {
		t.Fatal("the honest sender accepted a proposal under attack")
	}
	t.Logf("sender refused: %v", s.err)
	return s.err
}

// evilSender is an attacker holding a payment request: it pairs at the
// relay as the sender and then sends whatever it likes.
type evilSender struct {
	*wire
	e     *env
	req   kpp.PaymentRequest
	fee   kpp.FeeAddress
	offer kpp.ReceiverOffer
	funds *wallet.Funds
}

// evilSender pairs with the receiver of uri through the relay at relayURL
// and reads what the relay gives a sender: the dust_address message and the
// receiver's offer. w is the attacker's own funded wallet (nil for attacks
// that need no coins).
func (e *env) evilSender(t *testing.T, uri string, w *wallet.Wallet) *evilSender {
	t.Helper()
	req, err := kpp.ParsePaymentRequest(uri, address.Devnet)
	if err != nil {
		t.Fatal(err)
	}
	s := &evilSender{wire: dialWire(t, e.ctx, req.RelayURL, req.Key, kpp.RoleSender), e: e, req: req}
	if w != nil {
		s.funds = e.funds(w)
	}
	b, err := s.read()
	if err != nil {
		t.Fatalf("attacker: pairing: %v", err)
	}
	if err := json.Unmarshal(b, &s.fee); err != nil || s.fee.Type != kpp.MsgFeeAddress {
		t.Fatalf("attacker: pairing: got %s", b)
	}
	if s.offer, err = kpp.DecodeReceiverOffer(s.open(), address.Devnet); err != nil {
		t.Fatal(err)
	}
	return s
}

// build picks the attacker's UTXO and change address and builds the honest
// payjoin for the offer, as kpp.SenderPrepare would.
func (s *evilSender) build() (kpp.SenderData, *txbuild.Payjoin) {
	s.t.Helper()
	ctx := s.ctx
	own, err := s.funds.SelectUTXO(ctx, s.req.Amount+2*amount.SompiPerKAS)
	if err != nil {
		s.t.Fatal(err)
	}
	change, err := s.funds.ChangeAddress(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	nodeFee, err := s.fee.Policy().Fee(s.req.Amount)
	if err != nil {
		s.t.Fatal(err)
	}
	feeAddr, err := address.Decode(s.fee.Address, address.Devnet)
	if err != nil {
		s.t.Fatal(err)
	}
	rate, err := s.e.client.FeeRate(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	pj, err := txbuild.Build2In4Out(txbuild.PayjoinParams{
		Sender: own, SenderChange: change, Receiver: s.offer.UTXO,
		ReceiverAddresses: [2]address.Address{s.offer.Address1, s.offer.Address2},
		Payment:           s.req.Amount, NodeFee: nodeFee, NodeFeeAddress: feeAddr,
		Policy: txbuild.PolicyFor(address.Devnet), FeeRate: rate,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return kpp.SenderData{UTXO: own, ChangeAddress: change, Amount: s.req.Amount}, pj
}

// propose sends the sender data and then the proposal tx.
func (s *evilSender) propose(sd kpp.SenderData, tx *txbuild.Transaction, yours, senders int) {
	s.t.Helper()
	s.sendSealed(sd.Marshal())
	s.sendSealed(kpp.TransactionMessage{Tx: tx, YourInputIndex: yours, SenderInputIndex: senders}.Marshal())
}

// receiverSignature reads the receiver's receiver_signature message.
func (s *evilSender) receiverSignature() *txbuild.Transaction {
	s.t.Helper()
	pt := s.open()
	var m struct {
		Type string               `json:"type"`
		Tx   *txbuild.Transaction `json:"tx"`
	}
	if err := json.Unmarshal(pt, &m); err != nil || m.Type != kpp.MsgReceiverSignature || m.Tx == nil {
		s.t.Fatalf("attacker: want receiver_signature, got %.200s (%v)", pt, err)
	}
	return m.Tx
}

// steal rewrites the honest payjoin the way a thief would: the receiver's
// UTXO R goes to the thief's change address, and the receiver's addresses
// get only P between them. Inputs, fee and node fee are unchanged.
func steal(t *testing.T, pj *txbuild.Payjoin, sd kpp.SenderData, o kpp.ReceiverOffer) *txbuild.Transaction {
	t.Helper()
	tx := pj.Tx.Clone()
	p, r := sd.Amount, o.UTXO.Entry.Amount
	var n int
	for i, out := range tx.Outputs {
		switch {
		case out.ScriptPublicKey.Equal(o.Address1.ScriptPublicKey()):
			tx.Outputs[i].Amount = p / 2
			n++
		case out.ScriptPublicKey.Equal(o.Address2.ScriptPublicKey()):
			tx.Outputs[i].Amount = p - p/2
			n++
		case out.ScriptPublicKey.Equal(sd.ChangeAddress.ScriptPublicKey()):
			tx.Outputs[i].Amount += r
			n++
		}
	}
	if n != 3 {
		t.Fatalf("steal: found %d of the 3 outputs", n)
	}
	return tx
}

// paysInFull checks that tx, as the receiver signed it, spends the
// receiver's UTXO and pays its two addresses exactly R + P, and that its id
// is id.
func paysInFull(t *testing.T, tx *txbuild.Transaction, o kpp.ReceiverOffer, p amount.Sompi, id txbuild.Hash) {
	t.Helper()
	if tx.ID() != id {
		t.Errorf("the signed transaction is %s, the receiver reports %s", tx.ID(), id)
	}
	spends := false
	for _, in := range tx.Inputs {
		spends = spends || in.PreviousOutpoint == o.UTXO.Outpoint
	}
	var got amount.Sompi
	for _, out := range tx.Outputs {
		if out.ScriptPublicKey.Equal(o.Address1.ScriptPublicKey()) || out.ScriptPublicKey.Equal(o.Address2.ScriptPublicKey()) {
			got += out.Amount
		}
	}
	if !spends || got != o.UTXO.Entry.Amount+p {
		t.Errorf("what the receiver signed pays its addresses %s, want R + P = %s + %s (spends its UTXO: %v)", got, o.UTXO.Entry.Amount, p, spends)
		return
	}
	t.Logf("what the receiver signed (%s) pays it in full: R + P = %s", id, got)
}

// evilReceiver is an attacker that shows a payment request: it leaves an
// offer at the relay and then sends whatever it likes.
type evilReceiver struct {
	*wire
	e     *env
	w     *wallet.Wallet
	funds *wallet.Funds
	offer kpp.ReceiverOffer
	uri   string
}

// evilReceiver leaves an offer for testPayment at the relay, as
// ReceiverInitiate does, with the UTXO w contributes and two fresh addresses;
// blob, if not nil, makes the frame that carries it (the honest offer,
// sealed, otherwise).
func (e *env) evilReceiver(t *testing.T, w *wallet.Wallet, blob func(k kpp.Key, o kpp.ReceiverOffer) frame) *evilReceiver {
	t.Helper()
	funds := e.funds(w)
	u, err := funds.ContributeUTXO(e.ctx, testPayment)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := funds.FreshAddresses(e.ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	key, err := kpp.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	o := kpp.ReceiverOffer{UTXO: u, Address1: addrs[0], Address2: addrs[1], Amount: testPayment}
	r := &evilReceiver{wire: dialWire(t, e.ctx, e.relayURL, key, kpp.RoleReceiver), e: e, w: w, funds: funds, offer: o}
	f := sealedFrame(key, o.Marshal())
	if blob != nil {
		f = blob(key, o)
	}
	r.send(f)
	req := kpp.PaymentRequest{Address: addrs[0], Amount: testPayment, Payload: "kpp", RelayURL: e.relayURL, Key: key, Format: kpp.FormatURI}
	r.uri = req.URI()
	return r
}

// proposal reads the sender's data and its proposal.
func (r *evilReceiver) proposal() (kpp.SenderData, kpp.TransactionMessage) {
	r.t.Helper()
	sd, err := kpp.DecodeSenderData(r.open(), address.Devnet)
	if err != nil {
		r.t.Fatal(err)
	}
	msg, err := kpp.DecodeTransactionMessage(r.open())
	if err != nil {
		r.t.Fatal(err)
	}
	return sd, msg
}

// sign signs the receiver's input of tx (SIGHASH_ALL unless t says
// otherwise) with the attacker's key, txbuild.SignInput.
func (r *evilReceiver) sign(tx *txbuild.Transaction, sd kpp.SenderData, msg kpp.TransactionMessage, t txbuild.SigHashType) {
	r.t.Helper()
	utxos := make([]txbuild.UTXOEntry, len(tx.Inputs))
	utxos[msg.YourInputIndex], utxos[msg.SenderInputIndex] = r.offer.UTXO.Entry, sd.UTXO.Entry
	priv := r.privateKey(r.offer.UTXO.Address)
	if err := txbuild.SignInput(tx, utxos, msg.YourInputIndex, t, priv); err != nil {
		r.t.Fatal(err)
	}
}

// privateKey finds the attacker wallet's key for addr.
func (r *evilReceiver) privateKey(addr address.Address) []byte {
	r.t.Helper()
	acct, err := r.w.Account()
	if err != nil {
		r.t.Fatal(err)
	}
	for i := uint32(0); i < 200; i++ {
		k, err := acct.Receive(i)
		if err != nil {
			continue
		}
		if k.Address.Equal(addr) {
			priv, err := k.PrivateKey()
			if err != nil {
				r.t.Fatal(err)
			}
			return append([]byte(nil), priv...)
		}
	}
	r.t.Fatalf("no key for %s", addr)
	return nil
}

// sendSignature sends {"type":"receiver_signature","tx":tx}.
func (r *evilReceiver) sendSignature(tx *txbuild.Transaction) {
	r.t.Helper()
	b, err := json.Marshal(map[string]any{"type": kpp.MsgReceiverSignature, "tx": tx})
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendSealed(b)
}
