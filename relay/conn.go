package relay

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
)

// message is one WebSocket data message, relayed with its type.
type message struct {
	typ  websocket.MessageType
	data []byte
}

// conn is one wallet's connection. One goroutine at a time serves it,
// from upgrade to close: it reads the wallet's messages and acts on each,
// and it alone closes the connection. Another goroutine that must end the
// connection (a timer, the other wallet's goroutine, Shutdown) records
// why with interrupt, which wakes the read with an expired read deadline.
//
// A connection that waits for the other wallet (a receiver for its
// sender, a sender held for its receiver) parks where it can (park.go):
// no goroutine serves it until the wallet sends something, leaves, or an
// interrupt comes; then a fresh goroutine resumes it. Where it cannot
// park, a goroutine waits with the smallest stack.
//
// Writes come from the goroutine of whichever wallet's message is being
// relayed (or the one pairing the session); coder/websocket serializes
// concurrent writes frame by frame.
type conn struct {
	srv  *Server
	ws   *websocket.Conn
	nc   net.Conn // under ws: its deadlines wake the reader and bound writes
	wire *wire    // between ws and nc, nil where there is none (wire.go)
	eof  *eofConn // what ws reads: the wire or nc, noting the socket's end
	id   uint64   // for logs, and the connection's key when it parks

	// Set before the first goroutine that serves the connection ends:
	// role and session for logs (8 hex characters at most) and sid, the
	// session id; rest, what a goroutine that resumes the connection runs;
	// release, what its end releases (ServeHTTP's admission).
	role, session, sid string
	rest               restFunc
	release            func()

	mu        sync.Mutex
	end       *ending // why the connection is to end, set by interrupt
	finishing bool    // its goroutine is ending it: interrupts come too late
	broken    bool    // a write failed half-way: no close frame can follow
	parked    bool    // no goroutine serves it (park.go)

	// Used by the goroutine that serves the connection. woken (set by
	// wake, under mu, while none does): it was resumed because its
	// socket has something to read, which it reads before it may park
	// again. noPark: it could not park; it waits on its goroutine.
	woken, noPark bool

	bridged atomic.Bool // its session is paired (registry.commit)

	// Guarded by registry.mu: what this wallet sent before it was paired
	// (kept, and relayed once it is), and its place in the registry.
	early      []message
	earlyBytes int64
	sess       *session // receiver: its session once filed; sender: once claimed
	waitingFor string   // sender: the session id it waits for, while it does
}

// pastDeadline is a read deadline in the past: it wakes a blocked read.
var pastDeadline = time.Unix(1, 0)

// interrupt asks the connection's goroutine to end the connection with e,
// and wakes its read, or resumes it if it is parked. The first reason
// wins; it reports whether e did.
func (c *conn) interrupt(e ending) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end != nil || c.finishing {
		return false
	}
	c.end = &e
	_ = c.nc.SetReadDeadline(pastDeadline)
	c.unparkLocked()
	return true
}

// conclude is how the connection's own goroutine decides to end it: with
// the reason an interrupt gave first, if any, else with e. Later
// interrupts are ignored.
func (c *conn) conclude(e ending) ending {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finishing = true
	if c.end != nil {
		return *c.end
	}
	return e
}

// serve runs the connection: its handshake, and what follows until it
// ends or parks.
func (c *conn) serve(release func()) {
	c.release = release
	if !c.srv.track(c) {
		c.close(c.conclude(endShutdownNotice))
		return
	}
	e, next := c.run()
	if next == nil {
		c.close(e)
		return
	}
	c.rest = next
	if c.srv.parking() != nil {
		// It parks as soon as it waits; this goroutine, and the stack
		// parsing the handshake grew, then end.
		c.resume()
		return
	}
	// No parking: the rest runs on a fresh goroutine, whose stack holds
	// what waiting needs (2 KiB), not what parsing the handshake grew
	// this one's to.
	go c.resumeFresh()
}

// resume serves the connection from where it waited until it ends or
// parks again.
func (c *conn) resume() {
	if e, parked := c.rest(); !parked {
		c.close(e)
	}
}

// resumeFresh is resume on a fresh goroutine that cannot park: it first
// waits for the wallet's next bytes in as few frames as it can, so that a
// waiting connection's goroutine keeps the smallest stack.
func (c *conn) resumeFresh() {
	if c.wire != nil {
		_ = c.wire.waitData() // an error comes again from the next read
	}
	c.resume()
}

// close closes the connection with e and releases what it held.
func (c *conn) close(e ending) {
	if c.role == kpp.RoleReceiver {
		c.srv.sessions.receiverGone(c.sid)
	}
	c.srv.unpark(c)
	c.finish(e)
	c.srv.untrack(c)
	c.release()
}

// finish sends e's notice, if any, and closes the connection with e's
// status, within Config.CloseTimeout: the notice, the close frame and the
// wallet's close frame (coder/websocket reads and discards what comes
// before it, a frame's declared payload byte by byte with no deadline of
// its own) must pass by then, or the socket is closed. The read deadline
// bounds the waiting; the timer closes the socket should anything else
// block.
func (c *conn) finish(e ending) {
	timeout := c.srv.cfg.CloseTimeout
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	hard := time.AfterFunc(timeout, func() { _ = c.nc.Close() })
	defer func() {
		hard.Stop()
		_ = c.nc.Close() // closed already, unless Close failed early
	}()
	c.mu.Lock()
	broken := c.broken
	c.mu.Unlock()
	if broken {
		_ = c.ws.CloseNow()
		c.debug("relay: connection aborted", "reason", e.reason)
		return
	}
	if e.notice != nil {
		if err := c.write(message{websocket.MessageText, e.notice.Marshal()}); err != nil {
			c.debug("relay: notice not delivered", "err", err)
		}
	}
	err := c.ws.Close(e.code, e.reason)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		c.debug("relay: close", "err", err)
	}
	c.debug("relay: connection closed", "status", int(e.code), "reason", e.reason)
}

// write sends m, bounded by WriteTimeout. A write that fails may have
// sent part of a frame: the connection is then marked broken, and will be
// closed without a close frame.
func (c *conn) write(m message) error {
	return c.writeAll([]message{m})
}

// writeAll sends ms in order, in one system call where the connection has
// a wire, bounded by WriteTimeout.
func (c *conn) writeAll(ms []message) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	var err error
	if w := c.wire; w != nil {
		w.hold()
		for _, m := range ms {
			if err = c.ws.Write(context.Background(), m.typ, m.data); err != nil {
				break
			}
		}
		if ferr := w.flush(); err == nil {
			err = ferr
		}
	} else {
		for _, m := range ms {
			if err = c.ws.Write(context.Background(), m.typ, m.data); err != nil {
				break
			}
		}
	}
	_ = c.nc.SetWriteDeadline(time.Time{})
	if err != nil {
		c.mu.Lock()
		c.broken = true
		c.mu.Unlock()
	}
	return err
}

// read returns the wallet's next message, in a buffer from bufPool that
// the caller gives back with putBuffer (or keeps). Control frames are
// answered meanwhile (coder/websocket). A message over MaxMessageSize ends
// the connection with status 1009 (ws.SetReadLimit).
func (c *conn) read() (message, error) {
	if c.wire != nil {
		// Wait here, with a shallow stack and no buffer, rather than
		// deep in coder/websocket's reader.
		if err := c.wire.waitData(); err != nil {
			return message{}, err
		}
	}
	typ, r, err := c.ws.Reader(context.Background())
	if err != nil {
		return message{}, err
	}
	b := getBuffer()
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF && !c.sawEOF() {
			return message{typ, b}, nil
		}
		if err != nil {
			putBuffer(b)
			// coder/websocket ends a message at the socket's end too (a
			// wrapped io.EOF is io.EOF to its reader): a wallet that
			// half-closed mid-message sent no message, and nothing of it
			// is relayed.
			if err == io.EOF || c.sawEOF() || errors.Is(err, io.ErrUnexpectedEOF) {
				return message{}, errCutShort
			}
			return message{}, err
		}
	}
}

// errCutShort: the wallet's socket ended before the message did.
var errCutShort = errors.New("relay: the connection ended in the middle of a message")

// sawEOF reports whether a read of the wallet's socket met its end. A
// message whose frames came whole needs no read past its last byte, so a
// message that ends where the socket ended was cut short.
func (c *conn) sawEOF() bool { return c.eof.seen.Load() }

// eofConn is the net.Conn the relay hands coder/websocket (the wire, or
// nc where there is none): it notes that a read met the socket's end.
// coder/websocket reads through it after the bytes net/http had buffered
// (it resets its reader onto the hijacked net.Conn).
type eofConn struct {
	net.Conn
	seen atomic.Bool
}

func (e *eofConn) Read(p []byte) (int, error) {
	n, err := e.Conn.Read(p)
	if err == io.EOF {
		e.seen.Store(true)
	}
	return n, err
}

// Message buffers are pooled: a wallet's message is read into one,
// relayed, and the buffer goes back, so that relaying allocates nothing
// per message and an idle connection holds no read buffer of its own.
const (
	bufferSize    = 4 << 10   // a KPP message is 0.2 to 2 KB
	maxPooledSize = 128 << 10 // larger buffers (a raised MaxMessageSize) are not kept
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, bufferSize); return &b }}

func getBuffer() []byte { return (*bufPool.Get().(*[]byte))[:0] }

func putBuffer(b []byte) {
	if cap(b) <= maxPooledSize {
		b = b[:0]
		bufPool.Put(&b)
	}
}

// keep returns a copy of m that outlives its pooled buffer.
func keep(m message) message {
	return message{m.typ, append([]byte(nil), m.data...)}
}

// debugEnabled reports whether Debug records are logged; the hot paths
// check it before they build a record's attributes.
func (c *conn) debugEnabled() bool {
	return c.srv.log.Enabled(context.Background(), slog.LevelDebug)
}

// debug logs a Debug record with the connection's attributes.
func (c *conn) debug(msg string, args ...any) {
	if c.debugEnabled() {
		c.log(slog.LevelDebug, msg, args...)
	}
}

// log logs a record with the connection's attributes: its number, and,
// once known, its role and the first 8 hex characters of its session id.
// Never the full session id: it names the E2EE key's hash, and whoever
// holds it can connect as the sender.
func (c *conn) log(level slog.Level, msg string, args ...any) {
	attrs := make([]any, 0, 6+len(args))
	attrs = append(attrs, "conn", c.id)
	if c.role != "" {
		attrs = append(attrs, "role", c.role, "session", c.session)
	}
	c.srv.log.Log(context.Background(), level, msg, append(attrs, args...)...)
}
