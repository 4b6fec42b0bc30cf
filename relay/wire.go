package relay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// wire is the net.Conn under a relay connection's websocket.Conn. It gives
// the connection buffers only while bytes pass, from bufPool, where
// net/http and coder/websocket would keep 4 KiB each way for the life of
// the connection: most of the relay's connections wait, and a waiting
// receiver should cost little more than its blob.
//
// Reading: a read waits for the socket to be readable without a buffer
// (syscall.RawConn), then reads what is there into a pooled buffer, and
// gives the buffer back once it is consumed. Only the connection's own
// goroutine reads.
//
// Writing: conn.write holds writes (hold) while coder/websocket writes a
// message frame by frame into a pooled buffer, then sends the buffer in
// one system call (flush). A write nobody holds (coder/websocket's pongs
// and close frames) goes out at once; bytes are sent in the order they
// were written either way.
type wire struct {
	net.Conn
	raw syscall.RawConn
	fd  int           // the socket, for parking (park_linux.go); -1 if unknown
	br  *bufio.Reader // coder/websocket's reader over the wire: what it has buffered is read already

	// Read side, used by the connection's goroutine only.
	rbuf   []byte // pooled; unread bytes are rbuf[rpos:]; nil once consumed
	rpos   int
	dst    []byte // where readFD reads: a caller's buffer, or nil for a pooled one
	got    []byte // what readFD read
	rerr   error  // readFD's system call error
	readFn func(fd uintptr) bool
	frames frameTracker // where the bytes handed out so far end, frame-wise
	// mayPark: instead of waiting for the socket, a read at a point where
	// coder/websocket is between messages returns errWouldPark (and the
	// connection parks).
	mayPark bool
	noWait  bool // readFD does not wait: the read returns errWouldPark

	// Write side.
	wmu  sync.Mutex
	held int    // writers holding writes for their flush
	wbuf []byte // pooled while writes are held
}

// Bounds of a relay connection's coder/websocket buffers over a wire: the
// smallest bufio allows. The wire holds the bytes.
const wireBufio = 16

// newWire wraps nc, or returns nil if nc is not a socket the relay can
// wait on without a buffer (then the connection has small bufio buffers of
// its own, readBufferSize and writeBufferSize).
func newWire(nc net.Conn) *wire {
	sc, ok := nc.(syscall.Conn)
	if !ok || !waitWithoutBuffer {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &wire{Conn: nc, raw: raw, fd: -1}
	w.readFn = w.readFD
	_ = raw.Control(func(fd uintptr) { w.fd = int(fd) })
	return w
}

// errWouldPark is what a read returns, with mayPark set, where it would
// wait for the wallet between two messages.
var errWouldPark = errors.New("relay: nothing to read; park")

// Read reads from the pooled buffer, refilled from the socket when empty.
// A read of at least bufferSize bytes with nothing buffered goes straight
// into p.
func (w *wire) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if w.rbuf == nil {
		if len(p) >= bufferSize {
			n, err := w.sysRead(p)
			w.frames.advance(p[:n])
			return n, err
		}
		if err := w.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, w.rbuf[w.rpos:])
	w.frames.advance(p[:n])
	w.rpos += n
	if w.rpos == len(w.rbuf) {
		putBuffer(w.rbuf)
		w.rbuf, w.rpos = nil, 0
	}
	return n, nil
}

// buffered reports whether bytes are read and waiting to be consumed.
func (w *wire) buffered() bool {
	return w.rbuf != nil || (w.br != nil && w.br.Buffered() > 0)
}

// waitData waits until the wallet has sent something (or the connection
// ended, or the read deadline passed), holding no buffer while it waits,
// and reads it into a pooled buffer. The caller's stack stays shallow
// while it waits.
func (w *wire) waitData() error {
	if w.buffered() {
		return nil
	}
	return w.fill()
}

// fill reads what the socket has into a pooled buffer.
func (w *wire) fill() error {
	w.dst = nil
	b, err := w.wait()
	if err != nil {
		return err
	}
	w.rbuf, w.rpos = b, 0
	return nil
}

// sysRead reads from the socket straight into p.
func (w *wire) sysRead(p []byte) (int, error) {
	w.dst = p
	b, err := w.wait()
	w.dst = nil
	return len(b), err
}

// wait waits for the socket to be readable and reads it, into w.dst or,
// if that is nil, into a buffer from bufPool taken only once there is
// something to read. With mayPark, where coder/websocket is between
// messages (every byte handed out consumed: bufio asks only when empty),
// it does not wait but returns errWouldPark.
func (w *wire) wait() ([]byte, error) {
	w.got, w.rerr = nil, nil
	w.noWait = w.mayPark && w.frames.betweenMessages()
	err := w.raw.Read(w.readFn)
	w.noWait = false
	if err != nil {
		return nil, err // the read deadline (conn.interrupt), or closed
	}
	b, err := w.got, w.rerr
	w.got, w.rerr = nil, nil
	if err == errWouldPark {
		return nil, err
	}
	if err != nil {
		if w.dst == nil {
			putBuffer(b)
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: err}
	}
	if len(b) == 0 {
		if w.dst == nil {
			putBuffer(b)
		}
		return nil, io.EOF
	}
	return b, nil
}

// frameTracker follows the WebSocket frames (RFC 6455 §5.2) in the bytes
// a wire hands out, to know when coder/websocket, having consumed them
// all, is between two messages: at a frame boundary, with no fragmented
// message open.
type frameTracker struct {
	hdr       [14]byte // the frame header so far
	hlen      int
	payload   uint64 // payload bytes of the current frame still to come
	inMessage bool   // a data frame without FIN was seen: continuations follow
}

func (t *frameTracker) betweenMessages() bool {
	return t.hlen == 0 && t.payload == 0 && !t.inMessage
}

func (t *frameTracker) advance(b []byte) {
	for len(b) > 0 {
		if t.payload > 0 {
			n := min(t.payload, uint64(len(b)))
			t.payload -= n
			b = b[n:]
			continue
		}
		t.hdr[t.hlen] = b[0]
		t.hlen++
		b = b[1:]
		if t.hlen < 2 {
			continue
		}
		size := 2
		switch t.hdr[1] & 0x7f {
		case 126:
			size += 2
		case 127:
			size += 8
		}
		if t.hdr[1]&0x80 != 0 {
			size += 4 // the mask key
		}
		if t.hlen < size {
			continue
		}
		length := uint64(t.hdr[1] & 0x7f)
		switch length {
		case 126:
			length = uint64(binary.BigEndian.Uint16(t.hdr[2:4]))
		case 127:
			length = binary.BigEndian.Uint64(t.hdr[2:10])
		}
		fin, opcode := t.hdr[0]&0x80 != 0, t.hdr[0]&0x0f
		if opcode <= 2 { // continuation, text, binary: not a control frame
			t.inMessage = !fin
		}
		t.payload, t.hlen = length, 0
	}
}

// hold makes writes wait in a pooled buffer until flush.
func (w *wire) hold() {
	w.wmu.Lock()
	w.held++
	w.wmu.Unlock()
}

// flush ends a hold and sends what is held, in one system call.
func (w *wire) flush() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.held--
	b := w.wbuf
	w.wbuf = nil
	if len(b) == 0 {
		return nil
	}
	_, err := w.Conn.Write(b)
	putBuffer(b)
	return err
}

func (w *wire) Write(p []byte) (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.held > 0 {
		if w.wbuf == nil {
			w.wbuf = getBuffer()
		}
		w.wbuf = append(w.wbuf, p...)
		return len(p), nil
	}
	return w.Conn.Write(p)
}

// upgradeWriter is the http.ResponseWriter coder/websocket's Accept sees:
// its Hijack hands the connection over on a wire, with the smallest bufio
// buffers (or, where there is no wire, smaller buffers than net/http's),
// and keeps the net.Conn for deadlines.
type upgradeWriter struct {
	http.ResponseWriter
	nc   net.Conn
	wire *wire
	eof  *eofConn // what coder/websocket reads: notes the socket's end
}

// Buffers of a connection without a wire: a KPP message is 0.2 to 2 KB.
const (
	readBufferSize  = 1 << 10
	writeBufferSize = 2 << 10
)

func (u *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(u.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	u.nc = nc
	// What the wallet sent right after its upgrade request (its first
	// message, often) may be in net/http's reader already.
	early := brw.Reader.Buffered()
	if w := newWire(nc); w != nil {
		if early > 0 {
			b, _ := brw.Reader.Peek(early)
			w.rbuf = append(getBuffer(), b...)
		}
		u.wire = w
		u.eof = &eofConn{Conn: w}
		w.br = bufio.NewReaderSize(u.eof, wireBufio)
		return u.eof, bufio.NewReadWriter(w.br, bufio.NewWriterSize(w, wireBufio)), nil
	}
	// coder/websocket reads what brw.Reader holds, then resets it onto the
	// returned net.Conn: the eofConn is under every read after the first
	// bytes.
	u.eof = &eofConn{Conn: nc}
	if early > 0 {
		return u.eof, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(nc, writeBufferSize)), nil
	}
	return u.eof, bufio.NewReadWriter(bufio.NewReaderSize(u.eof, readBufferSize), bufio.NewWriterSize(nc, writeBufferSize)), nil
}
