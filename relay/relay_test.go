package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/relay"
)

func TestNewNeedsFeeAddresses(t *testing.T) {
	if _, err := relay.New(relay.Config{}); !errors.Is(err, relay.ErrNoFeeAddresses) {
		t.Fatalf("New without FeeAddresses: %v, want ErrNoFeeAddresses", err)
	}
	fee := relay.FeeAddressFunc(func(context.Context) (address.Address, error) { return address.Address{}, nil })
	if _, err := relay.New(relay.Config{FeeAddresses: fee, SenderWait: 16 * time.Second}); err == nil ||
		!strings.Contains(err.Error(), "SenderWait 16s is over kpp.MaxSenderHold (15s)") {
		t.Fatalf("New with SenderWait 16 s: %v", err)
	}
	if _, err := relay.New(relay.Config{FeeAddresses: fee, SenderWait: kpp.MaxSenderHold}); err != nil {
		t.Fatalf("New with SenderWait = kpp.MaxSenderHold: %v", err)
	}
}

// TestPairing is the happy path: the exact sequence the sender sees, then
// a blind bridge in both directions, text and binary, then the close.
func TestPairing(t *testing.T) {
	r := startRelay(t, relay.Config{SenderWait: 100 * time.Millisecond})
	id := newSessionID(t)
	recv := r.pendingReceiver(t, id, "receiver-blob-base64==")
	if s := r.Stats(); s.Pending != 1 || s.Bridged != 0 || s.Served != 0 || s.Connections != 1 {
		t.Fatalf("stats with one receiver waiting: %+v", s)
	}

	send := dial(t, r.url)
	send.handshake("sender", id)
	send.expect(websocket.MessageText, `{"type":"dust_address","address":"`+feeAddress(1).String()+`","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}`)
	send.expect(websocket.MessageText, "receiver-blob-base64==")
	waitFor(t, "bridged", func() bool { s := r.Stats(); return s.Bridged == 1 && s.Pending == 0 && s.Served == 1 })

	send.text("sender data")
	recv.expect(websocket.MessageText, "sender data")
	send.send(websocket.MessageBinary, "\x00\x01binary\xff")
	recv.expect(websocket.MessageBinary, "\x00\x01binary\xff")
	recv.send(websocket.MessageBinary, "\xfe\x00")
	send.expect(websocket.MessageBinary, "\xfe\x00")
	recv.text(`{"not":"parsed by the relay"}`)
	send.expect(websocket.MessageText, `{"not":"parsed by the relay"}`)
	recv.text("")
	send.expect(websocket.MessageText, "")

	if err := send.ws.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatal(err)
	}
	recv.expectClose(websocket.StatusNormalClosure)
	waitFor(t, "bridge closed", func() bool { s := r.Stats(); return s.Bridged == 0 && s.Connections == 0 })
	if s := r.Stats(); s.Served != 1 {
		t.Errorf("Served = %d, want 1", s.Served)
	}

	// The session id is free again, and one receiver pairs with one sender only.
	send2 := dial(t, r.url)
	send2.handshake("sender", id)
	send2.expectEnd(`{"error":"No matching receiver waiting","message":"`+kpp.ErrTextNoReceiverMsg+`"}`, websocket.StatusNormalClosure)
}

// TestDustAddressMessage checks the first message as a wallet reads it.
func TestDustAddressMessage(t *testing.T) {
	r := startRelay(t, relay.Config{FeePolicy: kpp.FeePolicy{Min: 30_000_000, Unit: 5_000_000}})
	id := newSessionID(t)
	r.pendingReceiver(t, id, "blob")
	send := dial(t, r.url)
	send.handshake("sender", id)
	_, data, err := send.ws.Read(ctxTimeout(t))
	if err != nil {
		t.Fatal(err)
	}
	var m kpp.FeeAddress
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != kpp.MsgFeeAddress || m.Address != feeAddress(1).String() || m.Policy() != (kpp.FeePolicy{Min: 30_000_000, Unit: 5_000_000}) {
		t.Fatalf("dust_address message %s", data)
	}
}

func TestBinaryFrames(t *testing.T) {
	r := startRelay(t, relay.Config{})
	id := newSessionID(t)
	recv := dial(t, r.url)
	// The original json.loads a binary handshake too.
	recv.send(websocket.MessageBinary, `{"role": "receiver", "session_id": "`+strings.ToUpper(id)+`"}`)
	recv.send(websocket.MessageBinary, "\x00binary blob\x00")
	r.waitPending(t, 1)
	send := dial(t, r.url)
	send.send(websocket.MessageBinary, `{"role":"sender","session_id":"`+id+`"}`)
	send.expect(websocket.MessageText, `{"type":"dust_address","address":"`+feeAddress(1).String()+`","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}`)
	send.expect(websocket.MessageBinary, "\x00binary blob\x00")
}

// TestQueuedBeforePairing: what a receiver sends while it waits reaches
// the sender, in order, after the blob.
func TestQueuedBeforePairing(t *testing.T) {
	r := startRelay(t, relay.Config{})
	id := newSessionID(t)
	recv := r.pendingReceiver(t, id, "blob")
	recv.text("early 1")
	recv.send(websocket.MessageBinary, "early 2")
	time.Sleep(50 * time.Millisecond) // let the relay queue them
	send := dial(t, r.url)
	send.handshake("sender", id)
	send.expect(websocket.MessageText, `{"type":"dust_address","address":"`+feeAddress(1).String()+`","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}`)
	send.expect(websocket.MessageText, "blob")
	send.expect(websocket.MessageText, "early 1")
	send.expect(websocket.MessageBinary, "early 2")
	recv.text("late")
	send.expect(websocket.MessageText, "late")
}

func TestQueueOverflow(t *testing.T) {
	r := startRelay(t, relay.Config{MaxQueuedMessages: 2, MaxQueuedBytes: 10})
	t.Run("messages", func(t *testing.T) {
		recv := r.pendingReceiver(t, newSessionID(t), "blob")
		for range 3 {
			recv.text("x")
		}
		recv.expectClose(websocket.StatusPolicyViolation)
		r.waitPending(t, 0)
	})
	t.Run("bytes", func(t *testing.T) {
		recv := r.pendingReceiver(t, newSessionID(t), "blob")
		recv.text("12345678901")
		recv.expectClose(websocket.StatusPolicyViolation)
		r.waitPending(t, 0)
	})
}

func TestCollision(t *testing.T) {
	r := startRelay(t, relay.Config{})
	id := newSessionID(t)
	first := r.pendingReceiver(t, id, "first blob")
	second := dial(t, r.url)
	second.handshake("receiver", id)
	second.text("second blob")
	second.expectEnd(`{"error":"Session collision","message":"Please regenerate QR code and try again"}`, websocket.StatusNormalClosure)

	// The first receiver is unaffected.
	send := dial(t, r.url)
	send.handshake("sender", id)
	send.expect(websocket.MessageText, `{"type":"dust_address","address":"`+feeAddress(1).String()+`","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}`)
	send.expect(websocket.MessageText, "first blob")
	send.text("hi")
	first.expect(websocket.MessageText, "hi")
}

// TestNoReceiver: with SenderWait negative, a sender without a receiver is
// refused at once, as the original does.
func TestNoReceiver(t *testing.T) {
	r := startRelay(t, relay.Config{SenderWait: -1})
	send := dial(t, r.url)
	send.handshake("sender", newSessionID(t))
	send.expectEnd(`{"error":"No matching receiver waiting","message":"The receiver may have disconnected or the QR code is invalid. Please ask the receiver to reconnect and try again."}`, websocket.StatusNormalClosure)
	if n := r.fees.n.Load(); n != 0 {
		t.Errorf("%d fee addresses allocated for a sender without receiver", n)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	r := startRelay(t, relay.Config{})
	id := newSessionID(t)
	for _, tc := range []struct {
		name, handshake, notice string
	}{
		{"missing session_id", `{"role": "receiver"}`, `{"error":"Missing session_id"}`},
		{"empty session_id", `{"role": "sender", "session_id": ""}`, `{"error":"Missing session_id"}`},
		{"null session_id", `{"role": "sender", "session_id": null}`, `{"error":"Missing session_id"}`},
		{"short session_id", `{"role": "receiver", "session_id": "abc"}`, `"error":"Invalid session_id"`},
		{"non-hex session_id", `{"role": "receiver", "session_id": "` + strings.Repeat("g", 64) + `"}`, `"error":"Invalid session_id"`},
		{"number session_id", `{"role": "receiver", "session_id": 12}`, `"error":"Invalid session_id"`},
		{"invalid role", `{"role": "observer", "session_id": "` + id + `"}`, `"error":"Invalid role"`},
		{"missing role", `{"session_id": "` + id + `"}`, `"error":"Invalid role"`},
		{"bad JSON", `{"role": "receiver", `, `"error":"Invalid handshake"`},
		{"not an object", `["receiver"]`, `"error":"Invalid handshake"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := dial(t, r.url)
			w.text(tc.handshake)
			typ, got, err := w.ws.Read(ctxTimeout(t))
			if err != nil {
				t.Fatal(err)
			}
			if typ != websocket.MessageText || !strings.Contains(string(got), tc.notice) {
				t.Fatalf("got %s %s, want %s", typ, got, tc.notice)
			}
			var e kpp.RelayError
			if err := json.Unmarshal(got, &e); err != nil || e.Code == "" {
				t.Fatalf("notice %s is not a relay error: %v", got, err)
			}
			w.expectClose(websocket.StatusPolicyViolation)
		})
	}
	if s := r.Stats(); s.Pending != 0 {
		t.Errorf("%d sessions pending after refused handshakes", s.Pending)
	}
}

func TestOversizedMessage(t *testing.T) {
	r := startRelay(t, relay.Config{MaxMessageSize: 1024})
	t.Run("handshake", func(t *testing.T) {
		w := dial(t, r.url)
		w.text(strings.Repeat(" ", 1025))
		w.expectClose(websocket.StatusMessageTooBig)
	})
	t.Run("blob", func(t *testing.T) {
		w := dial(t, r.url)
		w.handshake("receiver", newSessionID(t))
		w.text(strings.Repeat("A", 1024)) // exactly the limit is fine
		r.waitPending(t, 1)
		w.text(strings.Repeat("A", 1025))
		w.expectClose(websocket.StatusMessageTooBig)
		r.waitPending(t, 0)
	})
	t.Run("bridged", func(t *testing.T) {
		id := newSessionID(t)
		recv := r.pendingReceiver(t, id, "blob")
		send := dial(t, r.url)
		send.handshake("sender", id)
		if _, _, err := send.ws.Read(ctxTimeout(t)); err != nil { // dust_address
			t.Fatal(err)
		}
		send.expect(websocket.MessageText, "blob")
		send.send(websocket.MessageBinary, strings.Repeat("A", 2000))
		send.expectClose(websocket.StatusMessageTooBig)
		recv.expectClose(websocket.StatusNormalClosure)
	})
}

func TestTimeouts(t *testing.T) {
	r := startRelay(t, relay.Config{HandshakeTimeout: 100 * time.Millisecond, BlobTimeout: 100 * time.Millisecond, PendingTTL: 200 * time.Millisecond, SenderWait: 100 * time.Millisecond})
	t.Run("handshake", func(t *testing.T) {
		w := dial(t, r.url)
		start := time.Now()
		w.expectClose(websocket.StatusPolicyViolation)
		if d := time.Since(start); d < 90*time.Millisecond {
			t.Errorf("closed after %v, before the handshake timeout", d)
		}
	})
	t.Run("blob", func(t *testing.T) {
		w := dial(t, r.url)
		w.handshake("receiver", newSessionID(t))
		w.expectClose(websocket.StatusPolicyViolation)
	})
	t.Run("pending TTL", func(t *testing.T) {
		id := newSessionID(t)
		recv := r.pendingReceiver(t, id, "blob")
		// Nothing is sent to a waiting receiver: the next thing is the close.
		recv.expectClose(websocket.StatusNormalClosure)
		r.waitPending(t, 0)
		send := dial(t, r.url)
		send.handshake("sender", id)
		send.expectEnd(`{"error":"No matching receiver waiting","message":"`+kpp.ErrTextNoReceiverMsg+`"}`, websocket.StatusNormalClosure)
	})
}

// TestReceiverLeaves: a receiver that disconnects while it waits is
// removed at once, not after the TTL.
func TestReceiverLeaves(t *testing.T) {
	r := startRelay(t, relay.Config{SenderWait: 100 * time.Millisecond})
	for _, how := range []string{"close frame", "TCP close"} {
		t.Run(how, func(t *testing.T) {
			id := newSessionID(t)
			recv := r.pendingReceiver(t, id, "blob")
			if how == "close frame" {
				recv.ws.Close(websocket.StatusNormalClosure, "bye")
			} else {
				recv.ws.CloseNow()
			}
			r.waitPending(t, 0)
			waitFor(t, "connection gone", func() bool { return r.Stats().Connections == 0 })
			send := dial(t, r.url)
			send.handshake("sender", id)
			send.expectEnd(`{"error":"No matching receiver waiting","message":"`+kpp.ErrTextNoReceiverMsg+`"}`, websocket.StatusNormalClosure)
		})
	}
}

func TestMaxPending(t *testing.T) {
	r := startRelay(t, relay.Config{MaxPending: 1})
	r.pendingReceiver(t, newSessionID(t), "blob")
	w := dial(t, r.url)
	w.handshake("receiver", newSessionID(t))
	w.expectEnd(`{"error":"Node busy","message":"Too many sessions are waiting on this node. Please try again later or use another node."}`, websocket.StatusTryAgainLater)
}

func TestConnectionLimits(t *testing.T) {
	t.Run("per IP", func(t *testing.T) {
		r := startRelay(t, relay.Config{MaxConnectionsPerIP: 2})
		a, b := dial(t, r.url), dial(t, r.url)
		if status, _ := dialStatus(t, r.url); status != http.StatusTooManyRequests {
			t.Fatalf("third connection from one address: HTTP %d, want 429", status)
		}
		a.ws.Close(websocket.StatusNormalClosure, "")
		waitFor(t, "a slot", func() bool { return r.Stats().Connections == 1 })
		if status, _ := dialStatus(t, r.url); status != http.StatusSwitchingProtocols {
			t.Fatalf("connection after one closed: HTTP %d", status)
		}
		_ = b
	})
	t.Run("total", func(t *testing.T) {
		r := startRelay(t, relay.Config{MaxConnections: 2})
		dial(t, r.url)
		dial(t, r.url)
		if status, _ := dialStatus(t, r.url); status != http.StatusServiceUnavailable {
			t.Fatalf("connection over the total: HTTP %d, want 503", status)
		}
	})
	t.Run("other paths", func(t *testing.T) {
		r := startRelay(t, relay.Config{})
		url := "http" + strings.TrimSuffix(strings.TrimPrefix(r.url, "ws"), relay.Path)
		for path, want := range map[string]int{"/": 404, "/kpp/": 404, "/other": 404, "/kpp": http.StatusUpgradeRequired} {
			resp, err := http.Get(url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			}
		}
		if status, _ := dialStatus(t, strings.TrimSuffix(r.url, relay.Path)+"/other"); status != http.StatusNotFound {
			t.Errorf("WebSocket on /other: HTTP %d, want 404", status)
		}
	})
}

// bridged returns a paired receiver and sender, past the blob; their
// session id is r.lastID.
func (r *testRelay) bridged(t *testing.T) (recv, send *client) {
	t.Helper()
	id := newSessionID(t)
	r.lastID = id
	recv = r.pendingReceiver(t, id, "blob")
	send = dial(t, r.url)
	send.handshake("sender", id)
	if _, _, err := send.ws.Read(ctxTimeout(t)); err != nil { // dust_address
		t.Fatal(err)
	}
	send.expect(websocket.MessageText, "blob")
	return recv, send
}

func TestSessionLimits(t *testing.T) {
	t.Run("bytes per direction", func(t *testing.T) {
		r := startRelay(t, relay.Config{MaxSessionBytes: 100})
		recv, send := r.bridged(t)
		recv.text(strings.Repeat("r", 100)) // the other direction has its own budget
		send.expect(websocket.MessageText, strings.Repeat("r", 100))
		send.text(strings.Repeat("s", 60))
		recv.expect(websocket.MessageText, strings.Repeat("s", 60))
		send.text(strings.Repeat("s", 41))
		recv.expectClose(websocket.StatusPolicyViolation)
		send.expectClose(websocket.StatusPolicyViolation)
	})
	t.Run("queued bytes count", func(t *testing.T) {
		r := startRelay(t, relay.Config{MaxSessionBytes: 10})
		id := newSessionID(t)
		recv := r.pendingReceiver(t, id, "a blob longer than ten bytes is not counted")
		recv.text("0123456789x")
		time.Sleep(50 * time.Millisecond)
		send := dial(t, r.url)
		send.handshake("sender", id)
		send.ws.Read(ctxTimeout(t))
		send.expect(websocket.MessageText, "a blob longer than ten bytes is not counted")
		send.expectClose(websocket.StatusPolicyViolation)
		recv.expectClose(websocket.StatusPolicyViolation)
	})
	t.Run("lifetime", func(t *testing.T) {
		r := startRelay(t, relay.Config{SessionLifetime: 200 * time.Millisecond})
		recv, send := r.bridged(t)
		send.text("in time")
		recv.expect(websocket.MessageText, "in time")
		recv.expectClose(websocket.StatusPolicyViolation)
		send.expectClose(websocket.StatusPolicyViolation)
		waitFor(t, "no bridge", func() bool { return r.Stats().Bridged == 0 })
	})
}

// TestFeeAddressUnavailable: a failed allocation refuses the sender and
// keeps the receiver waiting for the next one.
func TestFeeAddressUnavailable(t *testing.T) {
	r := startRelay(t, relay.Config{})
	r.fees.fail.Store(1)
	id := newSessionID(t)
	recv := r.pendingReceiver(t, id, "blob")
	send := dial(t, r.url)
	send.handshake("sender", id)
	send.expectEnd(`{"error":"Node unavailable","message":"The node could not allocate a fee address. Please try again later."}`, websocket.StatusTryAgainLater)
	if s := r.Stats(); s.Pending != 1 || s.Served != 0 {
		t.Fatalf("after a failed allocation: %+v", s)
	}
	send = dial(t, r.url)
	send.handshake("sender", id)
	send.expect(websocket.MessageText, `{"type":"dust_address","address":"`+feeAddress(1).String()+`","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}`)
	send.expect(websocket.MessageText, "blob")
	recv.text("ok")
	send.expect(websocket.MessageText, "ok")
}

// TestFeeAddressPerPairing: receivers that never pair cost no address.
func TestFeeAddressPerPairing(t *testing.T) {
	r := startRelay(t, relay.Config{})
	for range 5 {
		r.pendingReceiver(t, newSessionID(t), "blob")
	}
	if n := r.fees.n.Load(); n != 0 {
		t.Fatalf("%d fee addresses allocated for receivers alone", n)
	}
	for range 3 {
		r.bridged(t)
	}
	if n := r.fees.n.Load(); n != 3 {
		t.Fatalf("%d fee addresses for 3 pairings", n)
	}
}

func TestServeAfterShutdown(t *testing.T) {
	r := startRelay(t, relay.Config{})
	r.stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}
