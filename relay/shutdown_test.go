package relay_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/relay"
)

const shutdownNotice = `{"error":"Node shutting down","message":"The relay node is stopping. Please reconnect later or use another node."}`

// TestShutdown: every connected wallet is told, in every phase, and no
// goroutine is left behind.
func TestShutdown(t *testing.T) {
	base := runtime.NumGoroutine()
	r := startRelay(t, relay.Config{})

	noHandshake := dial(t, r.url)
	noBlob := dial(t, r.url)
	noBlob.handshake("receiver", newSessionID(t))
	waiting := r.pendingReceiver(t, newSessionID(t), "blob")
	recv, send := r.bridged(t)
	waitFor(t, "all connected", func() bool { return r.Stats().Connections == 5 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()

	noHandshake.expectEnd(shutdownNotice, websocket.StatusGoingAway)
	noBlob.expectEnd(shutdownNotice, websocket.StatusGoingAway)
	waiting.expectEnd(shutdownNotice, websocket.StatusGoingAway)
	recv.expectClose(websocket.StatusGoingAway) // bridged: no notice, nothing injected
	send.expectClose(websocket.StatusGoingAway)

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if s := r.Stats(); s != (relay.Stats{Served: 1}) {
		t.Errorf("stats after Shutdown: %+v", s)
	}
	// New connections are refused: the listener is closed.
	if _, _, err := websocket.Dial(ctxTimeout(t), r.url, nil); err == nil {
		t.Error("dial after Shutdown succeeded")
	}
	// And the handler answers 503 if mounted elsewhere.
	if status := serveOnce(r.Server); status != http.StatusServiceUnavailable {
		t.Errorf("ServeHTTP after Shutdown: %d, want 503", status)
	}

	r.stop(t)
	for _, w := range []*client{noHandshake, noBlob, waiting, recv, send} {
		w.ws.CloseNow()
	}
	http.DefaultClient.CloseIdleConnections()
	checkNoGoroutineLeft(t, base)
}

// serveOnce sends one upgrade request to h and returns the status.
func serveOnce(h http.Handler) int {
	req, _ := http.NewRequest("GET", "http://relay.test/kpp", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	return rec.status
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return len(b), nil
}
func (r *statusRecorder) WriteHeader(s int) { r.status = s }

// TestShutdownBounded: Shutdown gives up when its context ends, with an
// error, and the connections still end.
func TestShutdownBounded(t *testing.T) {
	r := startRelay(t, relay.Config{})
	w := dial(t, r.url) // never reads: it does not answer the close
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown with a silent wallet and a 100 ms bound returned nil")
	}
	w.expectEnd(shutdownNotice, websocket.StatusGoingAway)
	waitFor(t, "connection ended", func() bool { return r.Stats().Connections == 0 })
}

// TestNoGoroutineLeft runs many sessions through every path and checks
// that the relay's goroutines are all gone afterwards.
func TestNoGoroutineLeft(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		r := startRelay(t, relay.Config{HandshakeTimeout: 50 * time.Millisecond, PendingTTL: 100 * time.Millisecond, SenderWait: 50 * time.Millisecond})
		for range 10 {
			recv, send := r.bridged(t)
			send.text("x")
			recv.expect(websocket.MessageText, "x")
			recv.ws.CloseNow()
			send.expectClose(websocket.StatusNormalClosure)
		}
		late := dial(t, r.url)
		late.expectClose(websocket.StatusPolicyViolation)
		expired := r.pendingReceiver(t, newSessionID(t), "blob")
		expired.expectClose(websocket.StatusNormalClosure)
		gone := r.pendingReceiver(t, newSessionID(t), "blob")
		gone.ws.CloseNow()
		r.waitPending(t, 0)
		lonely := dial(t, r.url)
		lonely.handshake("sender", newSessionID(t))
		lonely.expect(websocket.MessageText, `{"error":"No matching receiver waiting","message":"The receiver may have disconnected or the QR code is invalid. Please ask the receiver to reconnect and try again."}`)
		lonely.expectClose(websocket.StatusNormalClosure)
		waitFor(t, "no connections", func() bool { return r.Stats().Connections == 0 })
		r.stop(t)
	}()
	http.DefaultClient.CloseIdleConnections()
	checkNoGoroutineLeft(t, base)
}
