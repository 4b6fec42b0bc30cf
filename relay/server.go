package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Server is a blind KPP relay: an http.Handler for the WebSocket endpoint
// at Path. Create it with New; serve it with Serve or mount it on an
// http.Server of your own; stop it with Shutdown. It is safe for
// concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	admit    *admission
	sessions *registry
	connIDs  atomic.Uint64

	stopping chan struct{} // closed by Shutdown
	stopOnce sync.Once

	mu      sync.Mutex
	https   []*http.Server // started by Serve
	stopped bool
}

// New returns a relay server configured by cfg (see Config for the
// defaults of its zero fields).
func New(cfg Config) (*Server, error) {
	if cfg.FeeAddresses == nil {
		return nil, ErrNoFeeAddresses
	}
	cfg = cfg.withDefaults()
	return &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		admit:    newAdmission(cfg.MaxConnections, cfg.MaxConnectionsPerIP),
		sessions: newRegistry(cfg.MaxPending),
		stopping: make(chan struct{}),
	}, nil
}

// ServeHTTP serves one wallet connection: a WebSocket upgrade at Path. It
// answers 404 on other paths, 503 over the total connection limit or while
// shutting down, and 429 over the per-address limit. Once upgraded it
// returns when the connection has ended, its goroutines done.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	client := clientAddr(r, s.cfg.TrustedProxies)
	key := limitKey(client)
	if ref := s.admit.admit(key); ref != nil {
		s.log.Debug("relay: connection refused", "remote", client.String(), "status", ref.status)
		if ref.status == http.StatusTooManyRequests || ref == refuseTotal {
			w.Header().Set("Retry-After", strconv.Itoa(30))
		}
		http.Error(w, ref.text, ref.status)
		return
	}
	defer s.admit.release(key)

	// Any origin: the relay has no cookies or credentials to protect, and
	// a browser wallet must be able to use it, as with the original.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("relay: upgrade failed", "remote", client.String(), "err", err)
		return
	}
	log := s.log.With("conn", s.connIDs.Add(1))
	log.Debug("relay: connection opened", "remote", client.String())
	newConn(s, ws, log).serve()
}

// Serve accepts connections on ln and serves them until Shutdown; it then
// returns http.ErrServerClosed. Its HTTP server bounds the request head
// (10 s, 16 KiB).
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.https = append(s.https, hs)
	s.mu.Unlock()
	return hs.Serve(ln)
}

// Shutdown stops the relay: it stops accepting connections (Serve's
// listeners close; ServeHTTP answers 503), tells every connected wallet,
// and waits until every connection has ended or ctx is done.
//
// A wallet that is not in a bridge (handshake, blob, waiting receiver)
// first gets the text frame {"error":"Node shutting down","message":..};
// then every wallet, bridged ones included, gets a close frame with status
// 1001 (going away). Closing waits up to 5 s for each wallet's own close
// frame, so a wallet that never answers holds Shutdown that long.
//
// Shutdown returns nil once all connections have ended, or an error that
// wraps ctx.Err() if ctx ends first (the connections still finish, each
// within the bounds above). It may be called more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	idle := s.admit.close()
	s.stopOnce.Do(func() {
		close(s.stopping)
		s.log.Info("relay: shutting down", "connections", s.admit.count())
	})
	s.mu.Lock()
	s.stopped = true
	servers := s.https
	s.mu.Unlock()
	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	select {
	case <-idle:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("relay: shutdown: %d connections still open: %w", s.admit.count(), ctx.Err()))
	}
	return errors.Join(errs...)
}

// Stats are a relay's counters, for an operator.
type Stats struct {
	Connections int    // open WebSocket connections, in every phase
	Pending     int    // receivers waiting for a sender
	Bridged     int    // paired sessions being relayed
	Served      uint64 // sessions paired since the server started
}

// Stats returns the relay's current counters.
func (s *Server) Stats() Stats {
	pending, bridged, served := s.sessions.counts()
	return Stats{Connections: s.admit.count(), Pending: pending, Bridged: bridged, Served: served}
}
