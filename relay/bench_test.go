package relay_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/relay"
)

// sessionMessages are E2EE messages of a KPP session with the sizes of
// real ones (cmd/kloakbench seals the real plaintexts: the receiver's
// offer, the sender's data, a 2-input, 4-output proposal, the receiver's
// signature, broadcast_success). The relay is blind: only sizes matter.
type sessionMessages struct {
	offer, senderData, proposal, signature, success []byte
}

func newSessionMessages(tb testing.TB) sessionMessages {
	tb.Helper()
	sealed := func(n int) []byte { // n: the size of the base64 text
		raw := make([]byte, n/4*3)
		if _, err := rand.Read(raw); err != nil {
			tb.Fatal(err)
		}
		return []byte(base64.StdEncoding.EncodeToString(raw))
	}
	return sessionMessages{sealed(820), sealed(716), sealed(1504), sealed(1632), sealed(188)}
}

// benchRelay is a relay without logs and without the per-address limit
// (every test wallet is 127.0.0.1).
func benchRelay(b *testing.B, cfg relay.Config) *testRelay {
	cfg.Logger = slog.New(slog.DiscardHandler)
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 20_000
	}
	cfg.MaxConnectionsPerIP = cfg.MaxConnections
	return startRelay(b, cfg)
}

// session runs one complete KPP session through the relay at url, as the
// two wallets would, and closes both connections.
func (m sessionMessages) session(ctx context.Context, url string) error {
	return m.sessionOrdered(ctx, url, false)
}

// sessionOrdered is session, with the sender connecting first if
// senderFirst.
func (m sessionMessages) sessionOrdered(ctx context.Context, url string, senderFirst bool) error {
	var key kpp.Key
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	id := key.SessionID()
	dial := func() (*websocket.Conn, error) {
		ws, _, err := websocket.Dial(ctx, url, nil)
		return ws, err
	}
	send := func(ws *websocket.Conn, b []byte) error { return ws.Write(ctx, websocket.MessageText, b) }
	recv := func(ws *websocket.Conn) error { _, _, err := ws.Read(ctx); return err }

	var r, s *websocket.Conn
	connectReceiver := func() (err error) {
		if r, err = dial(); err != nil {
			return err
		}
		if err := send(r, []byte(`{"role":"receiver","session_id":"`+id+`"}`)); err != nil {
			return err
		}
		return send(r, m.offer)
	}
	connectSender := func() (err error) {
		if s, err = dial(); err != nil {
			return err
		}
		return send(s, []byte(`{"role":"sender","session_id":"`+id+`"}`))
	}
	defer func() {
		if r != nil {
			r.CloseNow()
		}
		if s != nil {
			s.CloseNow()
		}
	}()
	connect := []func() error{connectReceiver, connectSender}
	if senderFirst {
		connect[0], connect[1] = connect[1], connect[0]
	}
	for _, f := range connect {
		if err := f(); err != nil {
			return err
		}
	}
	for _, step := range []func() error{
		func() error { return recv(s) }, // dust_address
		func() error { return recv(s) }, // the blob
		func() error { return send(s, m.senderData) },
		func() error { return send(s, m.proposal) },
		func() error { return recv(r) },
		func() error { return recv(r) },
		func() error { return send(r, m.signature) },
		func() error { return recv(s) },
		func() error { return send(s, m.success) },
		func() error { return recv(r) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	done := make(chan error, 1)
	go func() { done <- r.Close(websocket.StatusNormalClosure, "") }()
	s.Close(websocket.StatusNormalClosure, "")
	<-done
	return nil
}

// BenchmarkSession is one complete KPP session per op over loopback: the
// receiver connects and leaves its blob, the sender connects and gets the
// fee address and the blob, the five E2EE messages go through, both
// wallets close. Allocations count both wallets' side (coder/websocket
// clients) with the relay's. parallel50 keeps 50 sessions in flight.
func BenchmarkSession(b *testing.B) {
	msgs := newSessionMessages(b)
	b.Run("serial", func(b *testing.B) {
		r := benchRelay(b, relay.Config{})
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := msgs.session(ctx, r.url); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel50", func(b *testing.B) {
		r := benchRelay(b, relay.Config{})
		b.ReportAllocs()
		b.SetParallelism(25) // × GOMAXPROCS (2 here): 50 sessions in flight
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if err := msgs.session(ctx, r.url); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sessions/s")
	})
}

// TestManySessions runs sessions 50 at a time, half of them with the
// sender first, and checks that none is lost: every message of every
// session arrives (a lost wake-up of a parked connection would stall
// one).
func TestManySessions(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 100
	}
	r := startRelay(t, relay.Config{Logger: slog.New(slog.DiscardHandler), MaxConnectionsPerIP: 1000})
	msgs := newSessionMessages(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	work := make(chan int)
	go func() {
		defer close(work)
		for i := range n {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for i := range work {
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := msgs.sessionOrdered(sctx, r.url, i%2 == 1)
				cancel()
				if err != nil {
					t.Errorf("session %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "all connections gone", func() bool { return r.Stats().Connections == 0 })
	if s := r.Stats(); s.Served != uint64(n) || s.Pending != 0 || s.Waiting != 0 || s.Bridged != 0 {
		t.Errorf("stats after %d sessions: %+v", n, s)
	}
}
