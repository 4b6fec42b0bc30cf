package relay_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/relay"
)

// testFees hands out distinct mainnet addresses, counting them.
type testFees struct {
	n    atomic.Uint64
	fail atomic.Int32 // fail this many calls first
}

func (f *testFees) NextFeeAddress(ctx context.Context) (address.Address, error) {
	if f.fail.Add(-1) >= 0 {
		return address.Address{}, errors.New("test: no fee address")
	}
	return feeAddress(f.n.Add(1)), nil
}

func feeAddress(i uint64) address.Address {
	payload := make([]byte, 32)
	binary.BigEndian.PutUint64(payload[24:], i)
	a, err := address.New(address.Mainnet, address.PubKey, payload)
	if err != nil {
		panic(err)
	}
	return a
}

// testRelay is a relay serving on 127.0.0.1.
type testRelay struct {
	*relay.Server
	url    string
	fees   *testFees
	done   chan error // Serve's result
	lastID string     // the session id of the last bridged pair
}

// testLogger sends the relay's logs, Debug included, to t.Log: shown with -v
// or when the test fails.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startRelay starts a relay with cfg (FeeAddresses defaults to testFees)
// and shuts it down when the test ends.
func startRelay(t testing.TB, cfg relay.Config) *testRelay {
	t.Helper()
	fees := &testFees{}
	if cfg.FeeAddresses == nil {
		cfg.FeeAddresses = fees
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	srv, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &testRelay{Server: srv, url: "ws://" + ln.Addr().String() + relay.Path, fees: fees, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(ln) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop shuts the relay down and waits for Serve to return.
func (r *testRelay) stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-r.done:
		if !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
		r.done <- err // for a second stop
	case <-ctx.Done():
		t.Error("Serve did not return after Shutdown")
	}
}

// waitFor polls cond until it holds or 3 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *testRelay) waitPending(t testing.TB, n int) {
	t.Helper()
	waitFor(t, "pending sessions", func() bool { return r.Stats().Pending == n })
}

// client is a test wallet connection.
type client struct {
	t  testing.TB
	ws *websocket.Conn
}

func ctxTimeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, url string) *client {
	t.Helper()
	ws, resp, err := websocket.Dial(ctxTimeout(t), url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t, ws}
}

// dialStatus dials url and returns the HTTP status of a refused upgrade,
// or 101 and the connection.
func dialStatus(t testing.TB, url string) (int, *client) {
	t.Helper()
	ws, resp, err := websocket.Dial(ctxTimeout(t), url, nil)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		return resp.StatusCode, nil
	}
	t.Cleanup(func() { ws.CloseNow() })
	return http.StatusSwitchingProtocols, &client{t, ws}
}

func (w *client) send(typ websocket.MessageType, data string) {
	w.t.Helper()
	if err := w.ws.Write(ctxTimeout(w.t), typ, []byte(data)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func (w *client) text(data string) { w.t.Helper(); w.send(websocket.MessageText, data) }

func (w *client) handshake(role, id string) {
	w.t.Helper()
	w.text(`{"role":"` + role + `","session_id":"` + id + `"}`)
}

// expect reads the next message and checks its type and bytes.
func (w *client) expect(typ websocket.MessageType, want string) {
	w.t.Helper()
	gotTyp, got, err := w.ws.Read(ctxTimeout(w.t))
	if err != nil {
		w.t.Fatalf("read: %v; want %s %q", err, typ, want)
	}
	if gotTyp != typ || string(got) != want {
		w.t.Fatalf("read %s %q\nwant %s %q", gotTyp, got, typ, want)
	}
}

// expectClose reads until the connection closes and checks its status.
func (w *client) expectClose(code websocket.StatusCode) {
	w.t.Helper()
	typ, data, err := w.ws.Read(ctxTimeout(w.t))
	if err == nil {
		w.t.Fatalf("read %s %q; want close %d", typ, data, code)
	}
	if got := websocket.CloseStatus(err); got != code {
		w.t.Fatalf("connection ended with %v; want close status %d", err, code)
	}
}

// expectEnd is expect for a notice followed by a close.
func (w *client) expectEnd(notice string, code websocket.StatusCode) {
	w.t.Helper()
	w.expect(websocket.MessageText, notice)
	w.expectClose(code)
}

func newSessionID(t testing.TB) string {
	var b [32]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// pendingReceiver connects a receiver, sends its handshake and blob and
// waits until the relay holds the session.
func (r *testRelay) pendingReceiver(t testing.TB, id, blob string) *client {
	t.Helper()
	return r.pendingReceiverWith(t, id, blob, true)
}

// pendingReceiverWith is pendingReceiver that waits for the session to be
// held only if wait is set (not when a held sender pairs with it at once).
func (r *testRelay) pendingReceiverWith(t testing.TB, id, blob string, wait bool) *client {
	t.Helper()
	before := r.Stats().Pending
	w := dial(t, r.url)
	w.handshake("receiver", id)
	w.text(blob)
	if wait {
		r.waitPending(t, before+1)
	}
	return w
}

// checkNoGoroutineLeft waits until the number of goroutines is back to
// base (or below), and fails with a dump of them if it is not within 5 s.
func checkNoGoroutineLeft(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, %d before the relay started:\n%s", n, base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
