package relay_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/relay"
)

var noReceiverNotice = `{"error":"No matching receiver waiting","message":"` + kpp.ErrTextNoReceiverMsg + `"}`

func dustAddress(i uint64) string {
	return `{"type":"dust_address","address":"` + feeAddress(i).String() + `","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}`
}

func (r *testRelay) waitWaiting(t testing.TB, n int) {
	t.Helper()
	waitFor(t, "waiting senders", func() bool { return r.Stats().Waiting == n })
}

// TestSenderFirst: a sender that arrives before its receiver's blob is
// held, and paired the moment the blob is filed.
func TestSenderFirst(t *testing.T) {
	r := startRelay(t, relay.Config{})
	id := newSessionID(t)
	send := dial(t, r.url)
	send.handshake("sender", id)
	r.waitWaiting(t, 1)
	if s := r.Stats(); s.Pending != 0 || s.Bridged != 0 || s.Connections != 1 {
		t.Fatalf("stats with a sender waiting: %+v", s)
	}
	if n := r.fees.n.Load(); n != 0 {
		t.Errorf("%d fee addresses allocated for a sender without its receiver", n)
	}

	recv := dial(t, r.url)
	recv.handshake("receiver", id)
	start := time.Now()
	recv.text("blob")
	send.expect(websocket.MessageText, dustAddress(1))
	send.expect(websocket.MessageText, "blob")
	if d := time.Since(start); d > time.Second {
		t.Errorf("paired %v after the blob", d)
	}
	waitFor(t, "bridged", func() bool { s := r.Stats(); return s.Bridged == 1 && s.Waiting == 0 && s.Pending == 0 })

	send.text("sender data")
	recv.expect(websocket.MessageText, "sender data")
	recv.send(websocket.MessageBinary, "\x01signature")
	send.expect(websocket.MessageBinary, "\x01signature")
	send.ws.Close(websocket.StatusNormalClosure, "")
	recv.expectClose(websocket.StatusNormalClosure)
}

// TestSenderWaitTimeout: a sender nobody comes for gets the original's
// notice after SenderWait, as if it had just arrived at a Python node.
func TestSenderWaitTimeout(t *testing.T) {
	r := startRelay(t, relay.Config{SenderWait: 300 * time.Millisecond})
	send := dial(t, r.url)
	start := time.Now()
	send.handshake("sender", newSessionID(t))
	send.expectEnd(noReceiverNotice, websocket.StatusNormalClosure)
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("refused after %v, want about 300 ms", d)
	}
	waitFor(t, "no sender waiting", func() bool { s := r.Stats(); return s.Waiting == 0 && s.Connections == 0 })
	if n := r.fees.n.Load(); n != 0 {
		t.Errorf("%d fee addresses allocated", n)
	}
}

// TestSenderRetries: a sender that retries on the notice, as kpp's and the
// Python wallets do, pairs once its receiver has come.
func TestSenderRetries(t *testing.T) {
	r := startRelay(t, relay.Config{SenderWait: 100 * time.Millisecond})
	id := newSessionID(t)
	send := dial(t, r.url)
	send.handshake("sender", id)
	send.expectEnd(noReceiverNotice, websocket.StatusNormalClosure)
	r.pendingReceiver(t, id, "blob")
	send = dial(t, r.url)
	send.handshake("sender", id)
	send.expect(websocket.MessageText, dustAddress(1))
	send.expect(websocket.MessageText, "blob")
}

// TestTwoSenders: one receiver pairs with one sender. A second sender for
// the same id is refused at once, whether the first is held, pairing or
// bridged.
func TestTwoSenders(t *testing.T) {
	t.Run("both before the receiver", func(t *testing.T) {
		r := startRelay(t, relay.Config{})
		id := newSessionID(t)
		first := dial(t, r.url)
		first.handshake("sender", id)
		r.waitWaiting(t, 1)
		second := dial(t, r.url)
		start := time.Now()
		second.handshake("sender", id)
		second.expectEnd(noReceiverNotice, websocket.StatusNormalClosure)
		if d := time.Since(start); d > time.Second {
			t.Errorf("second sender refused after %v, want at once", d)
		}
		recv := r.pendingReceiverWith(t, id, "blob", false)
		first.expect(websocket.MessageText, dustAddress(1))
		first.expect(websocket.MessageText, "blob")
		first.text("hi")
		recv.expect(websocket.MessageText, "hi")
	})
	t.Run("at once, receiver waiting", func(t *testing.T) {
		r := startRelay(t, relay.Config{})
		id := newSessionID(t)
		r.pendingReceiver(t, id, "blob")
		a, b := dial(t, r.url), dial(t, r.url)
		var wg sync.WaitGroup
		firsts := make([]string, 2)
		for i, w := range []*client{a, b} {
			wg.Go(func() {
				w.handshake("sender", id)
				_, got, err := w.ws.Read(ctxTimeout(t))
				if err != nil {
					t.Error(err)
				}
				firsts[i] = string(got)
			})
		}
		wg.Wait()
		paired, refused := 0, 0
		for _, f := range firsts {
			switch f {
			case dustAddress(1):
				paired++
			case noReceiverNotice:
				refused++
			default:
				t.Errorf("first message %q", f)
			}
		}
		if paired != 1 || refused != 1 {
			t.Fatalf("%d paired, %d refused; want one of each", paired, refused)
		}
		if n := r.fees.n.Load(); n != 1 {
			t.Errorf("%d fee addresses for one pairing", n)
		}
	})
	t.Run("bridged", func(t *testing.T) {
		r := startRelay(t, relay.Config{})
		id := newSessionID(t)
		r.pendingReceiver(t, id, "blob")
		first := dial(t, r.url)
		first.handshake("sender", id)
		first.expect(websocket.MessageText, dustAddress(1))
		first.expect(websocket.MessageText, "blob")
		second := dial(t, r.url)
		second.handshake("sender", id)
		second.expectEnd(noReceiverNotice, websocket.StatusNormalClosure)
	})
}

// TestHeldSenderLeaves: a held sender that leaves is forgotten at once;
// the next sender for the id is held in its place.
func TestHeldSenderLeaves(t *testing.T) {
	r := startRelay(t, relay.Config{})
	id := newSessionID(t)
	gone := dial(t, r.url)
	gone.handshake("sender", id)
	r.waitWaiting(t, 1)
	gone.ws.CloseNow()
	waitFor(t, "sender gone", func() bool { s := r.Stats(); return s.Waiting == 0 && s.Connections == 0 })
	send := dial(t, r.url)
	send.handshake("sender", id)
	r.waitWaiting(t, 1)
	r.pendingReceiverWith(t, id, "blob", false)
	send.expect(websocket.MessageText, dustAddress(1))
	send.expect(websocket.MessageText, "blob")
}

// TestHeldSenderSendsEarly: what a held sender sends before its receiver
// comes reaches the receiver, in order, once they are paired.
func TestHeldSenderSendsEarly(t *testing.T) {
	r := startRelay(t, relay.Config{})
	id := newSessionID(t)
	send := dial(t, r.url)
	send.handshake("sender", id)
	send.text("early 1")
	send.send(websocket.MessageBinary, "early 2")
	r.waitWaiting(t, 1)
	time.Sleep(50 * time.Millisecond) // let the relay keep them
	recv := r.pendingReceiverWith(t, id, "blob", false)
	send.expect(websocket.MessageText, dustAddress(1))
	send.expect(websocket.MessageText, "blob")
	recv.expect(websocket.MessageText, "early 1")
	recv.expect(websocket.MessageBinary, "early 2")
	send.text("late")
	recv.expect(websocket.MessageText, "late")
}

func TestHeldSenderOverflow(t *testing.T) {
	r := startRelay(t, relay.Config{MaxQueuedMessages: 1})
	send := dial(t, r.url)
	send.handshake("sender", newSessionID(t))
	send.text("1")
	send.text("2")
	send.expectClose(websocket.StatusPolicyViolation)
	waitFor(t, "sender gone", func() bool { s := r.Stats(); return s.Waiting == 0 && s.Connections == 0 })
}

// TestMaxWaitingSenders: over the cap, a sender is refused at once.
func TestMaxWaitingSenders(t *testing.T) {
	r := startRelay(t, relay.Config{MaxWaitingSenders: 1})
	held := dial(t, r.url)
	held.handshake("sender", newSessionID(t))
	r.waitWaiting(t, 1)
	over := dial(t, r.url)
	over.handshake("sender", newSessionID(t))
	over.expectEnd(noReceiverNotice, websocket.StatusNormalClosure)
	// Receivers are not counted against it.
	r.pendingReceiver(t, newSessionID(t), "blob")
}

// TestHeldSenderFeeUnavailable: if no fee address can be had when the
// receiver comes, the held sender is told and the receiver waits on.
func TestHeldSenderFeeUnavailable(t *testing.T) {
	r := startRelay(t, relay.Config{})
	r.fees.fail.Store(1)
	id := newSessionID(t)
	send := dial(t, r.url)
	send.handshake("sender", id)
	r.waitWaiting(t, 1)
	recv := r.pendingReceiverWith(t, id, "blob", false)
	send.expectEnd(`{"error":"Node unavailable","message":"The node could not allocate a fee address. Please try again later."}`, websocket.StatusTryAgainLater)
	waitFor(t, "receiver pending", func() bool { s := r.Stats(); return s.Pending == 1 && s.Waiting == 0 && s.Served == 0 })
	send = dial(t, r.url)
	send.handshake("sender", id)
	send.expect(websocket.MessageText, dustAddress(1))
	send.expect(websocket.MessageText, "blob")
	recv.text("ok")
	send.expect(websocket.MessageText, "ok")
}

// TestShutdownHeldSender: a held sender is told at Shutdown.
func TestShutdownHeldSender(t *testing.T) {
	r := startRelay(t, relay.Config{})
	send := dial(t, r.url)
	send.handshake("sender", newSessionID(t))
	r.waitWaiting(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	send.expectEnd(shutdownNotice, websocket.StatusGoingAway)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s != (relay.Stats{}) {
		t.Errorf("stats after Shutdown: %+v", s)
	}
}

// TestSenderAfterReceiverGone: a sender whose receiver has come and gone
// (done, left, refused) is refused at once, as the original does, rather
// than held for a receiver that has been already.
func TestSenderAfterReceiverGone(t *testing.T) {
	r := startRelay(t, relay.Config{SenderWait: 5 * time.Second, MaxMessageSize: 1024})
	atOnce := func(t *testing.T, id string) {
		t.Helper()
		send := dial(t, r.url)
		start := time.Now()
		send.handshake("sender", id)
		send.expectEnd(noReceiverNotice, websocket.StatusNormalClosure)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("refused after %v, want at once", d)
		}
	}
	t.Run("session done", func(t *testing.T) {
		recv, send := r.bridged(t)
		id := r.lastID
		send.ws.Close(websocket.StatusNormalClosure, "")
		recv.expectClose(websocket.StatusNormalClosure)
		waitFor(t, "bridge gone", func() bool { return r.Stats().Bridged == 0 })
		atOnce(t, id)
	})
	t.Run("receiver left", func(t *testing.T) {
		id := newSessionID(t)
		recv := r.pendingReceiver(t, id, "blob")
		recv.ws.CloseNow()
		r.waitPending(t, 0)
		atOnce(t, id)
	})
	t.Run("held sender, receiver refused", func(t *testing.T) {
		id := newSessionID(t)
		send := dial(t, r.url)
		send.handshake("sender", id)
		r.waitWaiting(t, 1)
		recv := dial(t, r.url)
		recv.handshake("receiver", id)
		start := time.Now()
		recv.text(strings.Repeat("A", 2000)) // over MaxMessageSize: refused
		recv.expectClose(websocket.StatusMessageTooBig)
		send.expectEnd(noReceiverNotice, websocket.StatusNormalClosure)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("held sender refused after %v, want at once", d)
		}
	})
	t.Run("a receiver comes back", func(t *testing.T) {
		id := newSessionID(t)
		r.pendingReceiver(t, id, "first").ws.CloseNow()
		r.waitPending(t, 0)
		r.pendingReceiver(t, id, "second")
		send := dial(t, r.url)
		send.handshake("sender", id)
		send.expect(websocket.MessageText, dustAddress(r.fees.n.Load()+1))
		send.expect(websocket.MessageText, "second")
	})
}
