package relay

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/coder/websocket"
)

// message is one WebSocket data message, relayed with its type.
type message struct {
	typ  websocket.MessageType
	data []byte
}

// inboxSize is how many read messages a connection holds for its handler
// before its reader stops reading (and TCP pushes back on the wallet).
const inboxSize = 4

// conn is one wallet's connection. Two goroutines serve it: the handler
// (ServeHTTP's goroutine, which runs the protocol and writes) and a reader
// (which only reads, so that pings and close frames are answered and a
// departure is seen in every phase). The handler waits for the reader
// before it returns.
type conn struct {
	srv *Server
	ws  *websocket.Conn
	log *slog.Logger

	ctx    context.Context // cancelled when the handler returns
	cancel context.CancelFunc

	in       chan message // closed by the reader when the connection ends
	readDone chan struct{}
	readErr  error // why reading stopped; set before in is closed
}

func newConn(srv *Server, ws *websocket.Conn, log *slog.Logger) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	ws.SetReadLimit(srv.cfg.MaxMessageSize)
	return &conn{
		srv: srv, ws: ws, log: log,
		ctx: ctx, cancel: cancel,
		in: make(chan message, inboxSize), readDone: make(chan struct{}),
	}
}

// read is the reader goroutine.
func (c *conn) read() {
	defer close(c.readDone)
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			c.readErr = err
			close(c.in)
			return
		}
		select {
		case c.in <- message{typ, data}:
		case <-c.ctx.Done():
			return
		}
	}
}

// serve runs the connection to its end and closes it.
func (c *conn) serve() {
	go c.read()
	e := c.run()
	c.finish(e)
	c.cancel()
	<-c.readDone
}

// finish sends e's notice, if any, and closes the connection with e's
// status. Close waits (5 s at most, coder/websocket) for the wallet's
// close frame; the reader goroutine answers pings and reads it meanwhile.
func (c *conn) finish(e ending) {
	if e.notice != nil {
		if err := c.write(message{websocket.MessageText, e.notice.Marshal()}); err != nil {
			c.log.Debug("relay: notice not delivered", "err", err)
		}
	}
	if err := c.ws.Close(e.code, e.reason); err != nil && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("relay: close", "err", err)
	}
	c.log.Debug("relay: connection closed", "status", int(e.code), "reason", e.reason, "read_err", c.readError())
}

// readError returns why reading stopped, or nil while it goes on.
func (c *conn) readError() error {
	select {
	case <-c.readDone:
		return c.readErr
	default:
		return nil
	}
}

// write sends m, bounded by WriteTimeout. When the bound is hit,
// coder/websocket closes the connection.
func (c *conn) write(m message) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.cfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, m.typ, m.data)
}

// event is what a handler waiting on its connection saw.
type event int

const (
	gotMessage event = iota
	connEnded        // the wallet left or broke the protocol (c.readError says how)
	timedOut
	stopping // the server is shutting down
)

// next waits for the connection's next message, for at most d.
func (c *conn) next(d time.Duration) (message, event) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case m, ok := <-c.in:
		if !ok {
			return message{}, connEnded
		}
		return m, gotMessage
	case <-t.C:
		return message{}, timedOut
	case <-c.srv.stopping:
		return message{}, stopping
	}
}
