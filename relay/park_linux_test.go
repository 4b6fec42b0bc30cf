package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/relay"
)

// waitingGoroutines counts the goroutines waiting for a wallet's message
// (not those closing a connection).
func waitingGoroutines() int {
	return len(testkit.GoroutinesWith("kloak/relay.(*conn).relayLoop"))
}

func waitParked(t *testing.T) {
	t.Helper()
	waitFor(t, "every waiting connection parked", func() bool { return waitingGoroutines() == 0 })
}

// TestWaitingConnectionsPark: receivers waiting for their sender and
// senders held for their receiver are served by no goroutine, and still
// see everything: a ping, a message kept for later, their own departure,
// their pairing, a timeout.
func TestWaitingConnectionsPark(t *testing.T) {
	r := startRelay(t, relay.Config{PendingTTL: time.Minute})
	ids := make([]string, 20)
	recvs := make([]*client, len(ids))
	for i := range ids {
		ids[i] = newSessionID(t)
		recvs[i] = r.pendingReceiver(t, ids[i], "blob")
	}
	held := dial(t, r.url)
	heldID := newSessionID(t)
	held.handshake("sender", heldID)
	r.waitWaiting(t, 1)
	waitParked(t)

	t.Run("ping", func(t *testing.T) {
		w := recvs[0]
		read := make(chan error, 1)
		go func() { _, _, err := w.ws.Read(context.Background()); read <- err }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for range 3 {
			if err := w.ws.Ping(ctx); err != nil {
				t.Fatalf("ping a parked receiver: %v", err)
			}
		}
		waitParked(t) // answered, and parked again
		want := dustAddress(r.fees.n.Load() + 1)
		send := dial(t, r.url)
		send.handshake("sender", ids[0])
		send.expect(websocket.MessageText, want)
		send.expect(websocket.MessageText, "blob")
		send.text("to the receiver")
		select {
		case err := <-read:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the paired receiver got nothing")
		}
	})
	t.Run("kept message", func(t *testing.T) {
		recvs[1].text("early")
		time.Sleep(20 * time.Millisecond)
		waitParked(t)
		want := dustAddress(r.fees.n.Load() + 1)
		send := dial(t, r.url)
		send.handshake("sender", ids[1])
		send.expect(websocket.MessageText, want)
		send.expect(websocket.MessageText, "blob")
		send.expect(websocket.MessageText, "early")
	})
	t.Run("leaves", func(t *testing.T) {
		before := r.Stats().Pending
		recvs[2].ws.CloseNow()
		r.waitPending(t, before-1)
		recvs[3].ws.Close(websocket.StatusNormalClosure, "bye")
		r.waitPending(t, before-2)
	})
	t.Run("held sender paired", func(t *testing.T) {
		want := dustAddress(r.fees.n.Load() + 1)
		r.pendingReceiverWith(t, heldID, "held blob", false)
		held.expect(websocket.MessageText, want)
		held.expect(websocket.MessageText, "held blob")
	})
	t.Run("many pings, then pairing", func(t *testing.T) {
		w := recvs[4]
		read := make(chan error, 1)
		go func() { _, _, err := w.ws.Read(context.Background()); read <- err }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for range 50 {
			if err := w.ws.Ping(ctx); err != nil {
				t.Fatal(err)
			}
		}
		want := dustAddress(r.fees.n.Load() + 1)
		send := dial(t, r.url)
		send.handshake("sender", ids[4])
		send.expect(websocket.MessageText, want)
		send.expect(websocket.MessageText, "blob")
		send.text("x")
		if err := <-read; err != nil {
			t.Fatal(err)
		}
	})
}

// TestParkedExpiry: a parked receiver's TTL and a parked sender's
// SenderWait still end them.
func TestParkedExpiry(t *testing.T) {
	r := startRelay(t, relay.Config{PendingTTL: 300 * time.Millisecond, SenderWait: 300 * time.Millisecond})
	recv := r.pendingReceiver(t, newSessionID(t), "blob")
	send := dial(t, r.url)
	send.handshake("sender", newSessionID(t))
	r.waitWaiting(t, 1)
	waitParked(t)
	recv.expectClose(websocket.StatusNormalClosure)
	send.expectEnd(noReceiverNotice, websocket.StatusNormalClosure)
}
