package testkit

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/relay"
)

// Relay is a kloak relay serving on a loopback port for a test.
type Relay struct {
	*relay.Server
	URL string // ws://127.0.0.1:PORT/kpp

	t    testing.TB
	stop sync.Once
}

// StartRelay starts a relay with cfg on a free loopback port. It is shut
// down when the test ends, if Stop has not shut it down before.
func StartRelay(t testing.TB, cfg relay.Config) *Relay {
	t.Helper()
	srv, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	r := &Relay{Server: srv, URL: "ws://" + ln.Addr().String() + relay.Path, t: t}
	t.Cleanup(r.Stop)
	return r
}

// Stop shuts the relay down, telling connected wallets, within 5 s; a
// failed shutdown fails the test. Later calls do nothing.
func (r *Relay) Stop() {
	r.stop.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			r.t.Error(err)
		}
	})
}
