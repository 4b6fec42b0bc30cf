package relay_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/relay"
)

// Frames written by hand, for what a WebSocket library would not send
// (issue 17). Each test names the exact bytes of the report.

// halfCloser is a connection whose write side closes alone: TCP, or TLS.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// rawConn is a wallet speaking RFC 6455 by hand.
type rawConn struct {
	t  testing.TB
	nc halfCloser
	br *bufio.Reader
}

func rawDial(t testing.TB, r *testRelay) *rawConn {
	t.Helper()
	c, err := rawDialErr(t, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.nc.Close() })
	return c
}

// rawDialErr opens a WebSocket connection by hand; the caller closes it.
func rawDialErr(t testing.TB, r *testRelay) (*rawConn, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(r.url, "ws://"), relay.Path)
	nc, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	br, err := upgradeByHand(nc, host)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &rawConn{t, nc.(*net.TCPConn), br}, nil
}

// rawDialTLS is rawDial over TLS to addr. With early, it sends those
// bytes right behind its upgrade request, before the relay answers.
func rawDialTLS(t testing.TB, addr string, early []byte) *rawConn {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", relay.Path, addr)
	if _, err := nc.Write(append([]byte(req), early...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return &rawConn{t, nc, br}
}

// upgradeByHand sends the WebSocket upgrade request on nc and reads the
// relay's 101 answer.
func upgradeByHand(nc net.Conn, hostport string) (*bufio.Reader, error) {
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", relay.Path, hostport)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("upgrade: HTTP %d", resp.StatusCode)
	}
	return br, nil
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write % x: %v", b, err)
	}
}

// frame is a client frame: masked with the key 00 00 00 00, as in the
// report, so the payload goes as it is.
func frame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	var hdr []byte
	switch n := len(payload); {
	case n < 126:
		hdr = []byte{b0, 0x80 | byte(n)}
	case n < 1<<16:
		hdr = []byte{b0, 0x80 | 126, byte(n >> 8), byte(n)}
	default:
		hdr = binary.BigEndian.AppendUint64([]byte{b0, 0x80 | 127}, uint64(n))
	}
	return append(append(hdr, 0, 0, 0, 0), payload...)
}

// next reads the relay's next frame (unmasked) and returns its opcode and
// payload.
func (c *rawConn) next() (byte, []byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if hdr[1]&0x80 != 0 || n > 1<<20 {
		return 0, nil, fmt.Errorf("server frame % x: masked or too large", hdr)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return 0, nil, err
	}
	return hdr[0] & 0x0f, p, nil
}

// expectClose reads frames up to the relay's close frame and returns its
// status and reason, and the data messages before it.
func (c *rawConn) expectClose() (websocket.StatusCode, string, [][]byte) {
	c.t.Helper()
	var msgs [][]byte
	for {
		op, p, err := c.next()
		if err != nil {
			c.t.Fatalf("no close frame: %v (after %q)", err, msgs)
		}
		switch op {
		case 0x8:
			if len(p) < 2 {
				return websocket.StatusNoStatusRcvd, "", msgs
			}
			return websocket.StatusCode(binary.BigEndian.Uint16(p)), string(p[2:]), msgs
		case 0x1, 0x2:
			msgs = append(msgs, p)
		}
	}
}

// expectEOF waits (up to within) for the relay to close the TCP
// connection, discarding what it sends, and returns how long that took.
func (c *rawConn) expectEOF(within time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	if err := c.ended(within); err != nil {
		c.t.Fatal(err)
	}
	return time.Since(start)
}

// ended waits (up to within) for the relay to end the TCP connection: a
// clean close, or a reset (the relay closed with bytes of the wallet's
// unread).
func (c *rawConn) ended(within time.Duration) error {
	start := time.Now()
	_ = c.nc.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, c.br)
	if err == nil || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return fmt.Errorf("the relay kept the connection open %v: %w", time.Since(start).Round(time.Millisecond), err)
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// A wallet that answers the relay's close frame with a frame declaring
// 2^63−1 bytes is closed after CloseTimeout; before the fix it held its
// connection (and an admission slot, and Shutdown) for good.
func TestCloseHandshakeIsBounded(t *testing.T) {
	r := startRelay(t, relay.Config{CloseTimeout: 300 * time.Millisecond})
	c := rawDial(t, r)
	c.write(mustHex("81 82 00 00 00 00 7b 7d")) // the handshake {}: invalid
	code, _, msgs := c.expectClose()
	if code != websocket.StatusPolicyViolation || len(msgs) != 1 {
		t.Fatalf("close %d after %q, want the notice and 1008", code, msgs)
	}
	c.write(mustHex("82 ff 7f ff ff ff ff ff ff ff 00 00 00 00")) // binary, 2^63−1 bytes
	took := c.expectEOF(5 * time.Second)
	t.Logf("closed %v after the wallet's endless frame", took.Round(time.Millisecond))
	waitFor(t, "no connection left", func() bool { return r.Stats().Connections == 0 })
}

// The same bound when the relay ends a connection for a frame too large
// (1009) while the wallet is in the middle of it, and when the handshake
// timeout fires with a frame half sent.
func TestCloseBoundedMidFrame(t *testing.T) {
	r := startRelay(t, relay.Config{CloseTimeout: 300 * time.Millisecond, HandshakeTimeout: 300 * time.Millisecond, MaxMessageSize: 1 << 10})
	t.Run("too large", func(t *testing.T) {
		c := rawDial(t, r)
		c.write(mustHex("82 ff 40 00 00 00 00 00 00 00 00 00 00 00")) // 2^62 bytes declared
		c.write(make([]byte, 2<<10))
		c.expectEOF(5 * time.Second)
	})
	t.Run("handshake timeout", func(t *testing.T) {
		c := rawDial(t, r)
		c.write(mustHex("81 a0 00 00 00 00 7b")) // 32 bytes declared, 1 sent
		c.expectEOF(5 * time.Second)
	})
	waitFor(t, "no connection left", func() bool { return r.Stats().Connections == 0 })
}

// pairRaw pairs a coder/websocket receiver with a raw sender and reads the
// sender's dust_address and blob.
func pairRaw(t *testing.T, r *testRelay) (*client, *rawConn) {
	t.Helper()
	id := newSessionID(t)
	recv := r.pendingReceiver(t, id, "blob")
	send := rawDial(t, r)
	send.write(frame(true, 0x1, []byte(`{"role":"sender","session_id":"`+id+`"}`)))
	for range 2 { // dust_address, blob
		if _, _, err := send.next(); err != nil {
			t.Fatal(err)
		}
	}
	return recv, send
}

// A sender that half-closes in the middle of a message: the receiver gets
// no message, but status 1001 (the other side failed).
func TestHalfClosedSenderDeliversNothing(t *testing.T) {
	r := startRelay(t, relay.Config{CloseTimeout: time.Second})
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"40 bytes of an unfinished text message", append(mustHex("01 a8 00 00 00 00"), []byte(strings.Repeat("A", 40))...)},
		{"a header with no payload", mustHex("81 e4 00 00 00 00")},
		{"half a payload", append(mustHex("81 e4 00 00 00 00"), []byte("half")...)},
		{"a finished frame, then an unfinished continuation", append(append(mustHex("01 84 00 00 00 00"), "abcd"...), mustHex("80 90 00 00 00 00")...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv, send := pairRaw(t, r)
			send.write(tc.bytes)
			if err := send.nc.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			recv.expectClose(websocket.StatusGoingAway)
			if code, reason, msgs := send.expectClose(); code != websocket.StatusProtocolError || len(msgs) != 0 {
				t.Errorf("the sender got %d %q after %q, want 1002", code, reason, msgs)
			}
		})
	}
	waitFor(t, "no connection left", func() bool { return r.Stats().Connections == 0 })
}

// A message cut short is not a whole one either as a receiver's blob: the
// session is never filed.
func TestHalfClosedReceiverFilesNothing(t *testing.T) {
	r := startRelay(t, relay.Config{CloseTimeout: time.Second})
	c := rawDial(t, r)
	c.write(frame(true, 0x1, []byte(`{"role":"receiver","session_id":"`+newSessionID(t)+`"}`)))
	c.write(mustHex("81 e4 00 00 00 00"))
	if err := c.nc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := c.expectClose(); code != websocket.StatusProtocolError {
		t.Errorf("close %d, want 1002", code)
	}
	waitFor(t, "no connection left", func() bool { return r.Stats().Connections == 0 })
	if st := r.Stats(); st.Pending != 0 {
		t.Fatalf("a cut-short blob was filed: %+v", st)
	}
}

// Protocol errors coder/websocket reports without a close of its own end
// with 1002, not 1000 "session ended".
func TestProtocolErrorsClose1002(t *testing.T) {
	r := startRelay(t, relay.Config{CloseTimeout: time.Second})
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"unmasked frame", mustHex("81 02 7b 7d")},
		{"64-bit length with its top bit set", mustHex("81 ff 80 00 00 00 00 00 00 02 00 00 00 00 7b 7d")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, r)
			c.write(tc.bytes)
			code, reason, _ := c.expectClose()
			if code != websocket.StatusProtocolError {
				t.Errorf("close %d %q, want 1002", code, reason)
			}
		})
	}
}

// Shutdown is not held by a wallet that answers its close frame with an
// endless frame: it returns once CloseTimeout has passed.
func TestShutdownNotHeldByEndlessFrame(t *testing.T) {
	r := startRelay(t, relay.Config{CloseTimeout: 300 * time.Millisecond})
	c := rawDial(t, r)
	c.write(frame(true, 0x1, []byte(`{"role":"receiver","session_id":"`+newSessionID(t)+`"}`)))
	c.write(frame(true, 0x1, []byte("blob")))
	r.waitPending(t, 1)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- r.Shutdown(ctx)
	}()
	code, _, msgs := c.expectClose()
	if code != websocket.StatusGoingAway || len(msgs) != 1 {
		t.Fatalf("close %d after %q, want the notice and 1001", code, msgs)
	}
	c.write(mustHex("82 ff 7f ff ff ff ff ff ff ff 00 00 00 00"))
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v after %v", err, time.Since(start))
	}
	t.Logf("Shutdown returned after %v", time.Since(start).Round(time.Millisecond))
	c.expectEOF(5 * time.Second)
}

// The same over TLS terminated by the relay's own http.Server, where the
// relay has no wire (the hijacked *tls.Conn is no socket it can wait on),
// as on systems without one: a message cut short by the sender's
// close_notify is not relayed, and a handshake and blob sent in the same
// write as the upgrade request (bytes net/http had buffered) still count.
func TestHalfClosedWithoutWire(t *testing.T) {
	srv, err := relay.New(relay.Config{FeeAddresses: &testFees{}, CloseTimeout: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	addr := strings.TrimPrefix(ts.URL, "https://")
	id := newSessionID(t)
	recv := rawDialTLS(t, addr, append(frame(true, 0x1, []byte(`{"role":"receiver","session_id":"`+id+`"}`)), frame(true, 0x2, []byte("blob"))...))
	send := rawDialTLS(t, addr, frame(true, 0x1, []byte(`{"role":"sender","session_id":"`+id+`"}`)))
	for _, want := range []string{"dust_address", "blob"} {
		if _, p, err := send.next(); err != nil || !strings.Contains(string(p), want) {
			t.Fatalf("sender: %q, %v; want the %s", p, err, want)
		}
	}
	send.write(append(mustHex("01 a8 00 00 00 00"), []byte(strings.Repeat("A", 40))...))
	if err := send.nc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if code, reason, msgs := recv.expectClose(); code != websocket.StatusGoingAway || len(msgs) != 0 {
		t.Fatalf("the receiver got %d %q after %q, want 1001 and no message", code, reason, msgs)
	}
}
