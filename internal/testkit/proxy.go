package testkit

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards TCP connections on a fixed 127.0.0.1 port to an upstream
// address. Stopped, it closes the port and cuts every connection, so that
// the upstream looks gone (connections cut, then refused); started again,
// it listens on the same port, so that the upstream looks back. It stands
// for a node that restarts or a network that drops, seen from a client.
type Proxy struct {
	t        testing.TB
	addr     string
	upstream string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// StartProxy starts a Proxy to upstream on a free port. It is stopped when
// the test ends.
func StartProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, addr: ln.Addr().String(), upstream: upstream, conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.Stop)
	return p
}

// Addr is the host:port the proxy listens on, the same across Stop and
// Start.
func (p *Proxy) Addr() string { return p.addr }

// Start listens again on the proxy's port after Stop.
func (p *Proxy) Start() {
	p.t.Helper()
	p.serve(ListenAgain(p.t, p.addr, time.Second))
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			p.wg.Go(func() { pipe(u, c) })
			p.wg.Go(func() { pipe(c, u) })
		}
	})
}

// Stop closes the port and cuts every connection, and returns once the
// proxy's goroutines have ended. Stopping a stopped proxy does nothing.
func (p *Proxy) Stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

// ListenAgain listens on addr, a TCP address that was in use a moment ago,
// retrying every 20 ms for up to within while the kernel releases it; it
// fails the test if the port stays taken.
func ListenAgain(t testing.TB, addr string, within time.Duration) net.Listener {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
