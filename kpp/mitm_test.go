package kpp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/txbuild"
)

// A relay that misbehaves, played by a man in the middle: a WebSocket proxy
// on 127.0.0.1 that, for each wallet that connects, dials the real relay and
// forwards frames both ways, and lets a test tamper with, drop, replay or
// reflect any frame. Both wallets use the proxy as their relay (the
// receiver's payment request names it), so it sees exactly what a relay
// sees: the handshakes, the plaintext dust_address message and the sealed
// envelopes, never the key.

// mitmDir is a frame's direction.
type mitmDir int

const (
	toRelay  mitmDir = iota // from a wallet to the relay
	toWallet                // from the relay to a wallet
)

func (d mitmDir) String() string { return [...]string{"wallet→relay", "relay→wallet"}[d] }

// mitmFrame is one frame passing through the proxy. Frames are counted per
// connection and direction from 0:
//
//	receiver → relay: 0 handshake, 1 offer, 2 receiver_signature
//	relay → receiver: 0 sender data, 1 transaction, 2 broadcast result
//	sender → relay:   0 handshake, 1 sender data, 2 transaction, 3 broadcast result
//	relay → sender:   0 dust_address, 1 offer, 2 receiver_signature
type mitmFrame struct {
	Conn int    // connections in the order they came, from 0
	Role string // the wallet's role, from its handshake
	Dir  mitmDir
	N    int
	Type websocket.MessageType
	Data []byte
}

// mitmOut is a frame the proxy sends: on to where the frame was going, or,
// with Back, to the side it came from.
type mitmOut struct {
	Back bool
	Type websocket.MessageType
	Data []byte
}

// pass forwards f unchanged; reflect sends it back to its sender; drop is
// nil.
func pass(f mitmFrame) []mitmOut    { return []mitmOut{{Type: f.Type, Data: f.Data}} }
func reflect(f mitmFrame) []mitmOut { return []mitmOut{{Back: true, Type: f.Type, Data: f.Data}} }

// mitm is the proxy.
type mitm struct {
	t        *testing.T
	url      string
	upstream string
	// hook decides what becomes of each frame; nil forwards everything.
	// A hook that returns nil drops the frame.
	hook func(f mitmFrame) []mitmOut

	ctx    context.Context
	cancel context.CancelFunc
	srv    *http.Server
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns int
	log   []mitmFrame // every frame the wallets and the relay sent, before the hook
}

// newMITM starts a proxy in front of the relay at upstream.
func newMITM(t *testing.T, upstream string, hook func(f mitmFrame) []mitmOut) *mitm {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mitm{t: t, url: "ws://" + ln.Addr().String() + "/kpp", upstream: upstream, hook: hook}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = m.srv.Close()
		m.cancel()
		m.wg.Wait()
	})
	return m
}

func (m *mitm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.wg.Add(1)
	defer m.wg.Done()
	wallet, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	wallet.SetReadLimit(1 << 20) // the relay enforces its own limit
	relay, _, err := websocket.Dial(m.ctx, m.upstream, nil)
	if err != nil {
		_ = wallet.Close(websocket.StatusInternalError, "mitm: relay unreachable")
		return
	}
	relay.SetReadLimit(1 << 20)
	m.mu.Lock()
	id := m.conns
	m.conns++
	m.mu.Unlock()

	var role roleOnce
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.pump(id, &role, toRelay, wallet, relay) }()
	go func() { defer wg.Done(); m.pump(id, &role, toWallet, relay, wallet) }()
	wg.Wait()
}

// roleOnce holds a connection's role once its handshake has passed.
type roleOnce struct {
	mu   sync.Mutex
	role string
}

func (r *roleOnce) set(s string) { r.mu.Lock(); r.role = s; r.mu.Unlock() }
func (r *roleOnce) get() string  { r.mu.Lock(); defer r.mu.Unlock(); return r.role }

// pump forwards from → to through the hook until from ends, then ends to
// the same way (so a 1009 from the relay reaches the wallet as 1009).
func (m *mitm) pump(id int, role *roleOnce, dir mitmDir, from, to *websocket.Conn) {
	for n := 0; ; n++ {
		typ, data, err := from.Read(m.ctx)
		if err != nil {
			if s := websocket.CloseStatus(err); s != -1 {
				var ce websocket.CloseError
				errors.As(err, &ce)
				_ = to.Close(s, ce.Reason)
			} else {
				_ = to.CloseNow()
			}
			return
		}
		if dir == toRelay && n == 0 {
			var h kpp.Handshake
			_ = json.Unmarshal(data, &h)
			role.set(h.Role)
		}
		f := mitmFrame{Conn: id, Role: role.get(), Dir: dir, N: n, Type: typ, Data: data}
		m.mu.Lock()
		m.log = append(m.log, f)
		hook := m.hook
		m.mu.Unlock()
		outs := pass(f)
		if hook != nil {
			outs = hook(f)
		}
		for _, o := range outs {
			dst := to
			if o.Back {
				dst = from
			}
			_ = dst.Write(m.ctx, o.Type, o.Data)
		}
	}
}

// frame returns the n-th frame that role sent or received in direction dir.
func (m *mitm) frame(t *testing.T, role string, dir mitmDir, n int) mitmFrame {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.log {
		if f.Role == role && f.Dir == dir && f.N == n {
			return f
		}
	}
	t.Fatalf("mitm: no frame %d %s of the %s", n, dir, role)
	return mitmFrame{}
}

// is reports whether f is frame n in direction dir of a wallet of role.
func (f mitmFrame) is(role string, dir mitmDir, n int) bool {
	return f.Role == role && f.Dir == dir && f.N == n
}

// flipBit returns the sealed frame with one bit of its ciphertext flipped
// and the base64 kept valid, so that only the AEAD can notice.
func flipBit(t *testing.T, data []byte) []byte {
	raw, err := base64.StdEncoding.DecodeString(string(data))
	if err != nil {
		t.Errorf("mitm: not a sealed frame: %.60q", data)
		return data
	}
	raw[len(raw)/2] ^= 0x01
	return []byte(base64.StdEncoding.EncodeToString(raw))
}

// signedTx opens the receiver's receiver_signature frame, as the proxy saw
// it, with the key of the receiver's payment request.
func signedTx(t *testing.T, r *honestReceiver, data []byte) *txbuild.Transaction {
	t.Helper()
	pt, err := kpp.Open(r.PaymentRequest().Key, string(data))
	if err != nil {
		t.Fatal(err)
	}
	var sig struct {
		Type string               `json:"type"`
		Tx   *txbuild.Transaction `json:"tx"`
	}
	if err := json.Unmarshal(pt, &sig); err != nil || sig.Type != kpp.MsgReceiverSignature || sig.Tx == nil {
		t.Fatalf("not a receiver_signature: %.100s (%v)", pt, err)
	}
	return sig.Tx
}

// TestRelayMisbehaves: a relay (a man in the middle) that flips a bit,
// replays, reflects or rewrites frames gets a typed refusal from the honest
// wallet it targets, and no coin of either wallet moves.
func TestRelayMisbehaves(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "sender")
	recvW, sendW := ws[0], ws[1]
	snaps := []snapshot{e.snapshot("receiver", recvW), e.snapshot("sender", sendW)}
	nodeBefore := e.nodeBalance()

	// run pays through a proxy with hook and returns both wallets' errors.
	run := func(t *testing.T, hook mitmHook, timeouts ...kpp.Timeouts) (*mitm, *honestReceiver, error, *honestSender, error) {
		t.Helper()
		e.noLeaks(t)
		m := newMITM(t, e.relayURL, func(f mitmFrame) []mitmOut { return hook(t, f) })
		r := e.honestReceiver(t, recvW, m.url, timeouts...)
		var scfg kpp.SenderConfig
		if len(timeouts) > 0 {
			scfg.Timeouts = timeouts[0]
		}
		s := e.honestSender(t, sendW, r.URI(), scfg)
		serr := s.refused(t)
		rerr := r.refused(t)
		s.wallet.signedNothing(t, "sender")
		return m, r, rerr, s, serr
	}
	after := func(t *testing.T, signed ...txbuild.Hash) {
		t.Helper()
		e.noLoss(t, snaps, signed...)
		if got := e.nodeBalance(); got != nodeBefore {
			t.Errorf("the relay node's fee wallet holds %s, held %s", got, nodeBefore)
		}
	}

	// Tampering the wallets catch before the receiver signs: each ends
	// with its error, and neither signs.
	for _, tc := range []struct {
		name     string
		hook     mitmHook
		sender   expect
		receiver expect
	}{
		{"flip a bit of the offer", at(kpp.RoleSender, toWallet, 1, flipped),
			is(kpp.ErrEnvelope), otherLeft},
		{"flip a bit of the sender data", at(kpp.RoleReceiver, toWallet, 0, flipped),
			otherLeft, is(kpp.ErrEnvelope)},
		{"replay the sender data in place of the transaction", replaySenderData(),
			isPeerError, is(kpp.ErrUnexpectedMessage)},
		{"reflect the transaction back to the sender", at(kpp.RoleSender, toRelay, 2, reflected),
			is(kpp.ErrUnexpectedMessage), isPeerError},
		{"duplicate the sender data", at(kpp.RoleSender, toRelay, 1, doubled),
			isPeerError, is(kpp.ErrUnexpectedMessage)},
		{"dust_address asks a fee_min of 1000 KAS", dustAddress(func(fa kpp.FeeAddress) []byte {
			return kpp.NewFeeAddress(fa.Address, kpp.FeePolicy{Min: 1000 * amount.SompiPerKAS, Unit: kpp.DefaultFeePolicy.Unit}).Marshal()
		}), is(kpp.ErrNodeFeeTooHigh), otherLeft},
		{"dust_address with fee_unit 0", dustAddress(func(fa kpp.FeeAddress) []byte {
			return kpp.NewFeeAddress(fa.Address, kpp.FeePolicy{Min: kpp.DefaultFeePolicy.Min}).Marshal()
		}), is(kpp.ErrUnexpectedMessage), otherLeft},
		{"dust_address with fee_min near the supply", dustAddress(func(fa kpp.FeeAddress) []byte {
			return kpp.NewFeeAddress(fa.Address, kpp.FeePolicy{Min: amount.MaxSompi, Unit: kpp.DefaultFeePolicy.Unit}).Marshal()
		}), is(kpp.ErrUnexpectedMessage), otherLeft},
		{"dust_address with a negative fee_min", dustAddress(func(fa kpp.FeeAddress) []byte {
			return []byte(`{"type":"dust_address","address":"` + fa.Address + `","fee_min":-1}`)
		}), is(kpp.ErrUnexpectedMessage), otherLeft},
		{"dust_address names a mainnet address", dustAddress(func(fa kpp.FeeAddress) []byte {
			return kpp.NewFeeAddress("kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", kpp.DefaultFeePolicy).Marshal()
		}), is(address.ErrWrongNetwork), otherLeft},
		{"dust_address that is not one", at(kpp.RoleSender, toWallet, 0, func(_ *testing.T, f mitmFrame) []mitmOut {
			f.Data = []byte(`{"type":"dust_address"}`)
			return pass(f)
		}), is(kpp.ErrUnexpectedMessage), otherLeft},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r, rerr, _, serr := run(t, tc.hook)
			if !tc.sender.ok(serr) {
				t.Errorf("sender: %v, want %s", serr, tc.sender.desc)
			}
			if !tc.receiver.ok(rerr) {
				t.Errorf("receiver: %v, want %s", rerr, tc.receiver.desc)
			}
			r.wallet.signedNothing(t, "receiver")
			after(t)
		})
	}

	// Tampering after the receiver signed: what it signed pays it in
	// full, and went nowhere.
	t.Run("reflect receiver_signature back to the receiver", func(t *testing.T) {
		// Sent back to the receiver, the signature never reaches the sender.
		m, r, rerr, _, serr := run(t, at(kpp.RoleReceiver, toRelay, 2, reflected))
		var se *kpp.SignedError
		if !errors.As(rerr, &se) || !errors.Is(rerr, kpp.ErrUnexpectedMessage) {
			t.Fatalf("receiver: %v, want *kpp.SignedError wrapping kpp.ErrUnexpectedMessage", rerr)
		}
		if !errors.Is(serr, kpp.ErrRelay) {
			t.Errorf("sender: %v, want kpp.ErrRelay (the receiver left)", serr)
		}
		offer := signedInFull(t, m, r, se)
		if se.Contributed != offer.UTXO.Outpoint {
			t.Errorf("SignedError names %s, the receiver contributed %s", se.Contributed, offer.UTXO.Outpoint)
		}
		after(t, se.TransactionID)
	})

	t.Run("drop receiver_signature", func(t *testing.T) {
		short := kpp.Timeouts{Pair: 10 * time.Second, Step: time.Second, Seen: time.Second}
		m, r, rerr, _, serr := run(t, at(kpp.RoleReceiver, toRelay, 2, dropped), short)
		if !errors.Is(serr, kpp.ErrRelay) {
			t.Errorf("sender: %v, want kpp.ErrRelay (no signature in time)", serr)
		}
		var se *kpp.SignedError
		if !errors.As(rerr, &se) || !errors.Is(rerr, kpp.ErrRelay) {
			t.Fatalf("receiver: %v, want *kpp.SignedError wrapping kpp.ErrRelay", rerr)
		}
		signedInFull(t, m, r, se)
		after(t, se.TransactionID)
	})

	t.Run("duplicate the proposal", func(t *testing.T) {
		// The receiver signs, sends its signature, then meets the copy
		// where the broadcast result belongs and gives up. The sender got
		// a valid signature; it aborts here, so nothing moves.
		e.noLeaks(t)
		hook := at(kpp.RoleSender, toRelay, 2, doubled)
		m := newMITM(t, e.relayURL, func(f mitmFrame) []mitmOut { return hook(t, f) })
		r := e.honestReceiver(t, recvW, m.url)
		s := e.honestSender(t, sendW, r.URI(), kpp.SenderConfig{})
		rerr := r.refused(t)
		var se *kpp.SignedError
		if !errors.As(rerr, &se) || !errors.Is(rerr, kpp.ErrUnexpectedMessage) {
			t.Fatalf("receiver: %v, want *kpp.SignedError wrapping kpp.ErrUnexpectedMessage", rerr)
		}
		<-s.done
		if s.err != nil {
			t.Fatalf("sender: %v", s.err)
		}
		if got := s.p.Transaction().ID(); got != se.TransactionID {
			t.Errorf("the sender holds %s, the receiver signed %s", got, se.TransactionID)
		}
		s.p.Abort(errors.New("test: abort"))
		s.wallet.signedNothing(t, "sender")
		signedInFull(t, m, r, se)
		after(t, se.TransactionID)
	})
}

// mitmHook decides what becomes of each frame through the proxy, as
// mitm.hook does, with the test to report to.
type mitmHook func(t *testing.T, f mitmFrame) []mitmOut

// at is the hook that applies change to frame n in direction dir of the
// wallet of role, and passes every other frame on.
func at(role string, dir mitmDir, n int, change mitmHook) mitmHook {
	return func(t *testing.T, f mitmFrame) []mitmOut {
		if f.is(role, dir, n) {
			return change(t, f)
		}
		return pass(f)
	}
}

// What at can do to a frame: flip a bit of it (flipBit), send it back to
// where it came from, send it twice, or drop it.
func flipped(t *testing.T, f mitmFrame) []mitmOut {
	f.Data = flipBit(t, f.Data)
	return pass(f)
}
func reflected(_ *testing.T, f mitmFrame) []mitmOut { return reflect(f) }
func doubled(_ *testing.T, f mitmFrame) []mitmOut   { return append(pass(f), pass(f)...) }
func dropped(*testing.T, mitmFrame) []mitmOut       { return nil }

// replaySenderData is the hook that sends the sender's first sealed frame
// (the sender data) again in place of its second (the transaction).
func replaySenderData() mitmHook {
	var first []byte
	return func(t *testing.T, f mitmFrame) []mitmOut {
		switch {
		case f.is(kpp.RoleSender, toRelay, 1):
			first = f.Data
		case f.is(kpp.RoleSender, toRelay, 2):
			f.Data = first
		}
		return pass(f)
	}
}

// dustAddress is the hook that replaces the relay's dust_address message
// to the sender with rewrite of it.
func dustAddress(rewrite func(fa kpp.FeeAddress) []byte) mitmHook {
	return at(kpp.RoleSender, toWallet, 0, func(t *testing.T, f mitmFrame) []mitmOut {
		var fa kpp.FeeAddress
		if err := json.Unmarshal(f.Data, &fa); err != nil {
			t.Errorf("mitm: dust_address: %v", err)
		}
		f.Data = rewrite(fa)
		return pass(f)
	})
}

// otherLeft: the other wallet gave up, and told why in a fixed text (a
// *kpp.PeerError), or the session ended before it could.
var otherLeft = expect{"kpp.ErrRelay or *kpp.PeerError (the other wallet left)", func(err error) bool {
	var pe *kpp.PeerError
	return errors.Is(err, kpp.ErrRelay) || errors.As(err, &pe) && isRefusalText(pe.Message)
}}

// isRefusalText reports whether s is one of the fixed texts a kloak wallet
// sends when it stops (refusal.go): never an error with hosts or amounts.
func isRefusalText(s string) bool {
	for _, prefix := range []string{"refused: ", "cannot build: "} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return !strings.ContainsAny(rest, "0123456789:")
		}
	}
	return s == "payjoin cancelled" || s == "broadcast failed" || s == "timed out" || s == "cancelled"
}

// signedInFull checks that the transaction the receiver signed, as the
// proxy saw it go by, pays it in full for the offer it made, and returns
// the offer.
func signedInFull(t *testing.T, m *mitm, r *honestReceiver, se *kpp.SignedError) kpp.ReceiverOffer {
	t.Helper()
	offer := r.offerFrom(t, m.frame(t, kpp.RoleReceiver, toRelay, 1).Data)
	paysInFull(t, signedTx(t, r, m.frame(t, kpp.RoleReceiver, toRelay, 2).Data), offer, testPayment, se.TransactionID)
	return offer
}
