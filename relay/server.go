package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
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
	workers  *workers
	connIDs  atomic.Uint64

	stopping chan struct{} // closed by Shutdown
	stopOnce sync.Once

	mu       sync.Mutex
	https    []*http.Server // started by Serve
	stopped  bool
	live     map[*conn]struct{} // upgraded connections, for Shutdown to interrupt
	livePeak int                // len(live)'s peak since the map was last replaced
	// After a burst (Config.KeepMemory): the connections' peak since
	// memory was last returned, and the pending return.
	burst        burstPolicy
	burstPeak    int
	release      *time.Timer
	releaseBy    time.Time // the latest a pending return waits for
	lastReleased time.Time

	parker     atomic.Pointer[parker] // started by the first connection that parks (park.go)
	parkFailed bool                   // guarded by mu
}

// New returns a relay server configured by cfg (see Config for the
// defaults of its zero fields).
func New(cfg Config) (*Server, error) {
	if cfg.FeeAddresses == nil {
		return nil, ErrNoFeeAddresses
	}
	if cfg.SenderWait > kpp.MaxSenderHold {
		return nil, fmt.Errorf("relay: SenderWait %s is over kpp.MaxSenderHold (%s): senders would give up before the relay answers", cfg.SenderWait, kpp.MaxSenderHold)
	}
	cfg = cfg.withDefaults()
	stopping := make(chan struct{})
	return &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		admit:    newAdmission(cfg.MaxConnections, cfg.MaxConnectionsPerIP),
		sessions: newRegistry(cfg.MaxPending, cfg.MaxWaitingSenders),
		workers:  newWorkers(stopping),
		stopping: stopping,
		live:     make(map[*conn]struct{}),
		burst:    defaultBurstPolicy(),
	}, nil
}

// ServeHTTP serves one wallet connection: a WebSocket upgrade at Path. It
// answers 404 on other paths, 503 over the total connection limit or while
// shutting down, and 429 over the per-address limit. Once the connection
// is upgraded, ServeHTTP returns, and the relay's goroutines serve the
// connection until it ends (Shutdown waits for those); the HTTP server's
// goroutine and buffers for the request are then free.
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
	release := func() { s.admit.release(key) }

	// Any origin: the relay has no cookies or credentials to protect, and
	// a browser wallet must be able to use it, as with the original.
	// Compression is not negotiated (coder/websocket's default).
	uw := &upgradeWriter{ResponseWriter: w}
	ws, err := websocket.Accept(uw, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		release()
		s.log.Debug("relay: upgrade failed", "remote", client.String(), "err", err)
		return
	}
	ws.SetReadLimit(s.cfg.MaxMessageSize)
	c := &conn{srv: s, ws: ws, nc: uw.nc, wire: uw.wire, eof: uw.eof, id: s.connIDs.Add(1)}
	if c.debugEnabled() {
		c.debug("relay: connection opened", "remote", client.String())
	}
	s.workers.run(func() { c.serve(release) })
}

// track registers an upgraded connection for Shutdown; it reports false
// once Shutdown has begun.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.live[c] = struct{}{}
	s.livePeak = max(s.livePeak, len(s.live))
	s.burstPeak = max(s.burstPeak, len(s.live))
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, c)
	if len(s.live) == 0 && s.livePeak >= shrinkAt {
		s.live, s.livePeak = make(map[*conn]struct{}), 0 // a Go map never shrinks
	}
	s.afterBurst()
}

// burstPolicy is when the relay returns memory after a burst
// (Config.KeepMemory).
type burstPolicy struct {
	min   int           // a peak of at least this many connections
	quiet time.Duration // once departures have paused this long
	wait  time.Duration // but no later than this after the fall below half
	every time.Duration // and at most this often
	free  func()        // runtime/debug.FreeOSMemory
}

func defaultBurstPolicy() burstPolicy {
	return burstPolicy{min: 1024, quiet: 2 * time.Second, wait: 10 * time.Second, every: 30 * time.Second, free: debug.FreeOSMemory}
}

// afterBurst schedules, or puts off, returning memory once the
// connections have fallen below half their peak. Called with mu.
func (s *Server) afterBurst() {
	if s.cfg.KeepMemory || s.stopped {
		return
	}
	now := time.Now()
	if s.release != nil { // pending: wait for departures to pause
		s.release.Reset(max(0, min(s.burst.quiet, s.releaseBy.Sub(now))))
		return
	}
	if s.burstPeak < s.burst.min || len(s.live) > s.burstPeak/2 || now.Sub(s.lastReleased) < s.burst.every {
		return
	}
	s.releaseBy = now.Add(s.burst.wait)
	s.release = time.AfterFunc(s.burst.quiet, s.returnMemory)
}

// returnMemory returns the memory freed since the burst to the operating
// system.
func (s *Server) returnMemory() {
	s.mu.Lock()
	if s.stopped || s.release == nil {
		s.mu.Unlock()
		return
	}
	peak := s.burstPeak
	s.release, s.lastReleased = nil, time.Now() // no other return for burst.every
	s.mu.Unlock()
	start := time.Now()
	s.burst.free()
	s.mu.Lock()
	s.burstPeak = len(s.live)
	left := s.burstPeak
	s.mu.Unlock()
	s.log.Debug("relay: returned memory after a burst", "peak_connections", peak, "connections", left, "took", time.Since(start))
}

// isStopping reports whether Shutdown has begun.
func (s *Server) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
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
// A wallet that is not in a bridge (handshake, blob, a receiver or a
// sender waiting for the other) first gets the text frame
// {"error":"Node shutting down","message":..}; then every wallet, bridged
// ones included, gets a close frame with status 1001 (going away).
// Closing waits for each wallet's own close frame up to
// Config.CloseTimeout (5 s), then closes the socket whatever the wallet
// sends, so a wallet that never answers holds Shutdown that long at most.
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
	if s.release != nil {
		s.release.Stop()
	}
	servers := s.https
	live := make([]*conn, 0, len(s.live))
	for c := range s.live {
		live = append(live, c)
	}
	s.mu.Unlock()
	for _, c := range live {
		c.interrupt(endStopping)
	}
	s.stopParking()
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
	Waiting     int    // senders waiting for their receiver (Config.SenderWait)
	Bridged     int    // paired sessions being relayed
	Served      uint64 // sessions paired since the server started
}

// Stats returns the relay's current counters.
func (s *Server) Stats() Stats {
	pending, waiting, bridged, served := s.sessions.counts()
	return Stats{Connections: s.admit.count(), Pending: pending, Waiting: waiting, Bridged: bridged, Served: served}
}
