package kpp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// Faults of the real parts during a payjoin: the sender's node goes away
// (here and in fault_linux_test.go), the relay restarts. Each wallet must
// end with a clear, typed error, and whatever an honest wallet signed
// before the fault must pay it in full if anyone broadcasts it
// (paysInFull); nothing may be spent twice.

// faultTimeouts keeps the honest wallets' waits short.
var faultTimeouts = kpp.Timeouts{Pair: 20 * time.Second, Step: 6 * time.Second, Seen: 3 * time.Second}

// recordingWallet is a wallet.Funds that keeps a copy of every transaction
// it signs and can run a hook right after a signature, to inject a fault at
// that moment.
type recordingWallet struct {
	*wallet.Funds
	mu     sync.Mutex
	signed []*txbuild.Transaction
	after  func()
}

func (r *recordingWallet) SignInput(ctx context.Context, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, i int) error {
	if err := r.Funds.SignInput(ctx, tx, utxos, i); err != nil {
		return err
	}
	r.mu.Lock()
	r.signed = append(r.signed, tx.Clone())
	hook := r.after
	r.after = nil
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (r *recordingWallet) signatures() []*txbuild.Transaction {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*txbuild.Transaction(nil), r.signed...)
}

// TestSenderNodeUnreachable: the sender's own node cannot be reached when
// the sender looks up the receiver's UTXO (its port refuses connections).
// SenderPrepare fails at once with node.ErrUnavailable, before it builds
// or sends anything; the receiver is told "payjoin cancelled" (nothing
// that names the sender's node); neither signed anything, and no coin
// moved.
func TestSenderNodeUnreachable(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "sender")
	recvW, sendW := ws[0], ws[1]
	snaps := []snapshot{e.snapshot("receiver", recvW), e.snapshot("sender", sendW)}
	e.noLeaks(t)

	p := testkit.StartProxy(t, e.dev.RPCAddress())
	sc, err := node.Dial(e.ctx, p.Addr(), node.Options{CallTimeout: 2 * time.Second, DialTimeout: time.Second, MaxBackoff: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()

	r := e.honestReceiver(t, recvW, e.relayURL)
	p.Stop()
	// The wallet finds its coins through the node directly (the check
	// before pairing passes); the lookups of the payjoin go through the
	// proxy, which refuses.
	sw := &recordingWallet{Funds: sendW.Funds(e.client, wallet.FundsOptions{CoinbaseMaturity: e.dev.SpendMaturity()})}
	began := time.Now()
	_, serr := kpp.SenderPrepare(e.ctx, r.URI(), kpp.SenderConfig{Network: address.Devnet, Wallet: sw, Chain: sc, Timeouts: faultTimeouts})
	if !errors.Is(serr, node.ErrUnavailable) {
		t.Fatalf("sender: %v, want node.ErrUnavailable", serr)
	}
	t.Logf("sender, after %v: %v", time.Since(began).Round(time.Millisecond), serr)
	// The receiver is told the payjoin is off, in a fixed text that does
	// not name the sender's node.
	rerr := r.refused(t)
	var pe *kpp.PeerError
	if !errors.As(rerr, &pe) || pe.Message != "payjoin cancelled" {
		t.Errorf("receiver: %v, want the sender's *kpp.PeerError \"payjoin cancelled\"", rerr)
	}
	r.wallet.signedNothing(t, "receiver")
	if n := len(sw.signatures()); n != 0 {
		t.Errorf("the sender signed %d time(s)", n)
	}
	p.Start()
	e.noLoss(t, snaps)
}

// restartableRelay is a kloak relay on a fixed 127.0.0.1 port that a test
// can stop (Shutdown) and replace with a new one on the same port.
type restartableRelay struct {
	t    *testing.T
	e    *env
	addr string
	url  string
	log  *slog.Logger

	mu  sync.Mutex
	srv *relay.Server
}

func (e *env) restartableRelay(t *testing.T, logger *slog.Logger) *restartableRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &restartableRelay{t: t, e: e, addr: ln.Addr().String(), log: logger}
	r.url = "ws://" + r.addr + "/kpp"
	r.serve(ln)
	t.Cleanup(func() { r.stop(5 * time.Second) })
	return r
}

func (r *restartableRelay) serve(ln net.Listener) {
	r.t.Helper()
	cfg := relay.Config{FeeAddresses: relay.NewWalletFeeAddresses(r.e.nodeW, 16), Logger: r.log}
	srv, err := relay.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	go srv.Serve(ln)
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
}

// stop shuts the relay down, waiting at most wait for its wallets.
func (r *restartableRelay) stop(wait time.Duration) {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_ = srv.Shutdown(ctx) // a wallet busy elsewhere may not answer the close in time
}

// restart stops the relay and starts a new one on the same port.
func (r *restartableRelay) restart() {
	r.t.Helper()
	r.stop(time.Second)
	r.serve(testkit.ListenAgain(r.t, r.addr, 2*time.Second))
	r.t.Logf("relay restarted on %s", r.addr)
}

// hookChain is the receiver's node with a hook run when the receiver looks
// the sender's UTXO up, that is, right after the sender data arrived.
type hookChain struct {
	*node.Client
	once     sync.Once
	onLookup func()
}

func (h *hookChain) LookupUTXO(ctx context.Context, addr address.Address, op txbuild.Outpoint) (txbuild.UTXOEntry, error) {
	h.once.Do(func() {
		if h.onLookup != nil {
			h.onLookup()
		}
	})
	return h.Client.LookupUTXO(ctx, addr, op)
}

// TestRelayRestart: the relay stops (Shutdown) and a new one starts on
// the same port at each step of a payjoin. Both wallets end with a clear
// error (kpp.ErrRelay or the relay's *kpp.RelayError; *kpp.SignedError for
// a receiver that had signed), the sender never signed before its own
// last step, and what the receiver signed pays it in full. (Where the
// relay goes just after the sender data, the proposal may already be on
// its way: the receiver may or may not sign; either is checked.) When the
// relay goes after the sender signed, the broadcast still happens (it goes
// to the sender's node) and the receiver, though it saw an error, is paid
// exactly P, once. A payjoin through the new relay then completes.
func TestRelayRestart(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "sender")
	recvW, sendW := ws[0], ws[1]
	rr := e.restartableRelay(t, nil)

	type session struct {
		r     *kpp.Receiver
		rw    *recordingWallet
		sw    *recordingWallet
		chain *hookChain
		rdone chan struct{}
		rerr  error
		sdone chan struct{}
		p     *kpp.SenderProposal
		serr  error
	}
	start := func(t *testing.T, onLookup func(), recvHook func()) *session {
		t.Helper()
		s := &session{rw: &recordingWallet{Funds: e.funds(recvW), after: recvHook}, chain: &hookChain{Client: e.client, onLookup: onLookup},
			rdone: make(chan struct{}), sdone: make(chan struct{})}
		var err error
		s.r, err = kpp.ReceiverInitiate(e.ctx, kpp.ReceiverConfig{Network: address.Devnet, RelayURL: rr.url, Amount: testPayment,
			Wallet: s.rw, Chain: s.chain, Timeouts: faultTimeouts})
		if err != nil {
			t.Fatal(err)
		}
		go func() { defer close(s.rdone); _, s.rerr = s.r.Wait(e.ctx) }()
		t.Cleanup(func() { s.r.Close(); <-s.rdone })
		return s
	}
	send := func(t *testing.T, s *session, senderHook func()) {
		s.sw = &recordingWallet{Funds: e.funds(sendW), after: senderHook}
		go func() {
			defer close(s.sdone)
			s.p, s.serr = kpp.SenderPrepare(e.ctx, s.r.URI(), kpp.SenderConfig{Network: address.Devnet, Wallet: s.sw, Chain: e.client, Timeouts: faultTimeouts})
		}()
		t.Cleanup(func() {
			<-s.sdone
			if s.p != nil {
				s.p.Abort(errors.New("test over"))
			}
		})
	}
	wait := func(t *testing.T, c chan struct{}, who string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(time.Minute):
			t.Fatalf("the %s is stuck", who)
		}
	}
	// runToEnd runs a session whose receiver and sender both end by
	// themselves, and logs how.
	runToEnd := func(t *testing.T, onLookup func(), recvHook func()) *session {
		t.Helper()
		s := start(t, onLookup, recvHook)
		waitRelay(t, rr, 1)
		send(t, s, nil)
		wait(t, s.rdone, "receiver")
		wait(t, s.sdone, "sender")
		t.Logf("receiver: %v", s.rerr)
		t.Logf("sender: %v", s.serr)
		return s
	}
	relayEnded := func(err error) bool {
		var re *kpp.RelayError
		return errors.Is(err, kpp.ErrRelay) || errors.As(err, &re)
	}
	// signedSafely: the sender signed nothing, and whatever the receiver
	// signed pays it in full.
	signedSafely := func(t *testing.T, s *session, snap snapshot) []txbuild.Hash {
		t.Helper()
		if n := len(s.sw.signatures()); n != 0 {
			t.Errorf("the sender signed %d time(s) before it could finalize", n)
		}
		var ids []txbuild.Hash
		for _, tx := range s.rw.signatures() {
			paysInFull(t, tx, honestOffer(t, recvW, &honestReceiver{Receiver: s.r}, tx, snap.utxos), testPayment, tx.ID())
			ids = append(ids, tx.ID())
		}
		if len(ids) == 0 {
			t.Log("the receiver had signed nothing")
		}
		return ids
	}

	t.Run("while the receiver waits", func(t *testing.T) {
		snaps := []snapshot{e.snapshot("receiver", recvW), e.snapshot("sender", sendW)}
		s := start(t, nil, nil)
		waitRelay(t, rr, 1)
		rr.restart()
		wait(t, s.rdone, "receiver")
		if !relayEnded(s.rerr) {
			t.Errorf("receiver: %v, want kpp.ErrRelay or a *kpp.RelayError", s.rerr)
		}
		t.Logf("receiver: %v", s.rerr)
		send(t, s, nil)
		wait(t, s.sdone, "sender")
		if !relayEnded(s.serr) {
			t.Errorf("sender: %v, want kpp.ErrRelay or a *kpp.RelayError (the new relay has no such receiver)", s.serr)
		}
		t.Logf("sender: %v", s.serr)
		signedSafely(t, s, snaps[0])
		e.noLoss(t, snaps)
	})

	t.Run("after the sender data", func(t *testing.T) {
		snaps := []snapshot{e.snapshot("receiver", recvW), e.snapshot("sender", sendW)}
		s := runToEnd(t, rr.restart, nil)
		if !relayEnded(s.rerr) || !relayEnded(s.serr) {
			t.Errorf("receiver: %v; sender: %v; want kpp.ErrRelay for both", s.rerr, s.serr)
		}
		e.noLoss(t, snaps, signedSafely(t, s, snaps[0])...)
	})

	t.Run("after the receiver signed", func(t *testing.T) {
		snaps := []snapshot{e.snapshot("receiver", recvW), e.snapshot("sender", sendW)}
		s := runToEnd(t, nil, rr.restart)
		var se *kpp.SignedError
		if !errors.As(s.rerr, &se) || !relayEnded(s.rerr) {
			t.Errorf("receiver: %v, want a *kpp.SignedError wrapping kpp.ErrRelay", s.rerr)
		}
		if !relayEnded(s.serr) {
			t.Errorf("sender: %v, want kpp.ErrRelay", s.serr)
		}
		ids := signedSafely(t, s, snaps[0])
		if len(ids) != 1 || se == nil || ids[0] != se.TransactionID {
			t.Errorf("the receiver signed %v, its error names %v", ids, se)
		}
		e.noLoss(t, snaps, ids...)
	})

	t.Run("after the sender signed", func(t *testing.T) {
		before := e.settle(recvW, sendW)
		s := start(t, nil, nil)
		waitRelay(t, rr, 1)
		send(t, s, rr.restart)
		wait(t, s.sdone, "sender")
		if s.serr != nil {
			t.Fatalf("sender: %v", s.serr)
		}
		// The relay goes while the sender signs; the broadcast goes to
		// the sender's node, not through the relay.
		res, ferr := s.p.SignAndFinalize(e.ctx)
		wait(t, s.rdone, "receiver")
		t.Logf("sender: %v", ferr)
		t.Logf("receiver: %v", s.rerr)
		// The broadcast_success may be written into the closing
		// connection without error, or fail with kpp.ErrRelay: either
		// way it never reaches the receiver.
		if res == nil || (ferr != nil && !errors.Is(ferr, kpp.ErrRelay)) {
			t.Fatalf("sender: %+v, %v; want a result, and no error or kpp.ErrRelay (could not tell the receiver)", res, ferr)
		}
		var se *kpp.SignedError
		if !errors.As(s.rerr, &se) || se.TransactionID != res.TransactionID {
			t.Fatalf("receiver: %v, want a *kpp.SignedError for %s", s.rerr, res.TransactionID)
		}
		if n := len(s.rw.signatures()); n != 1 {
			t.Errorf("the receiver signed %d time(s)", n)
		}
		e.paidOnce(t, recvW, sendW, before, res.Debit)
		t.Logf("the receiver saw an error and was paid exactly P = %s; the sender paid %s once", amount.Sompi(testPayment), res.Debit)
	})

	t.Run("the new relay serves", func(t *testing.T) {
		s := start(t, nil, nil)
		waitRelay(t, rr, 1)
		send(t, s, nil)
		wait(t, s.sdone, "sender")
		if s.serr != nil {
			t.Fatalf("sender: %v", s.serr)
		}
		if _, err := s.p.SignAndFinalize(e.ctx); err != nil {
			t.Fatal(err)
		}
		wait(t, s.rdone, "receiver")
		if s.rerr != nil {
			t.Fatalf("receiver: %v", s.rerr)
		}
		if err := e.dev.MineBlocks(e.ctx, e.miner.String(), 2); err != nil {
			t.Fatal(err)
		}
	})
}

// waitRelay waits until the relay holds n receivers waiting.
func waitRelay(t *testing.T, r *restartableRelay, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		srv := r.srv
		r.mu.Unlock()
		if srv != nil && srv.Stats().Pending >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay has no receiver waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
