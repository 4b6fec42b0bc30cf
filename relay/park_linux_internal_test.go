package relay

import (
	"net"
	"testing"
	"time"
)

// TestParkerFdReuse: a socket number is reused as soon as its socket
// closes. A connection the parker forgets after its socket was closed
// (coder/websocket closes it on a close frame) must not take with it the
// registration of the new connection that got the same number.
func TestParkerFdReuse(t *testing.T) {
	p, err := newParker()
	if err != nil {
		t.Skip(err)
	}
	defer p.stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func() (client, server net.Conn) {
		t.Helper()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server, err = ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close(); server.Close() })
		return client, server
	}
	stop := make(chan struct{})
	defer close(stop)
	srv := &Server{workers: newWorkers(stop)}
	woke := make(chan uint64, 4)
	parked := func(id uint64, nc net.Conn) *conn {
		t.Helper()
		w := newWire(nc)
		if w == nil {
			t.Skip("no wire on this connection")
		}
		c := &conn{srv: srv, id: id, wire: w}
		c.rest = func() (ending, bool) { woke <- c.id; return ending{}, true }
		c.mu.Lock()
		defer c.mu.Unlock()
		if !p.arm(c) {
			t.Fatal("arm failed")
		}
		c.parked = true
		return c
	}

	aClient, aServer := pair()
	a := parked(1, aClient)
	fd := a.wire.fd
	aClient.Close() // as coder/websocket does, before the relay forgets a
	aServer.Close()

	bClient, bServer := pair() // the client socket gets the lowest free number
	if got := newWire(bClient).fd; got != fd {
		t.Skipf("socket number %d not reused (got %d)", fd, got)
	}
	parked(2, bClient)
	p.forget(a)
	if _, err := bServer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-woke:
		if id != 2 {
			t.Fatalf("woke connection %d, want 2", id)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the new connection on the reused socket number was not woken")
	}
}
