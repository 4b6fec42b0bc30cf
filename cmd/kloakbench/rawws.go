//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/coder/websocket"
)

// rawConn is a minimal RFC 6455 client: an HTTP/1.1 upgrade written by
// hand, then masked frames written and unmasked frames read on the TCP
// connection, with one buffer each way. It speaks to the relay exactly as
// coder/websocket's client does (text frames, one frame a message, close
// handshake), at a fraction of the CPU (no net/http Transport), so that a
// load client on the relay's machine leaves the relay more of it.
type rawConn struct {
	nc   net.Conn
	br   *bufio.Reader
	wbuf []byte
}

// wsGUID is RFC 6455's key suffix (§1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialRaw connects to the ws:// URL u and upgrades the connection.
func dialRaw(ctx context.Context, d *net.Dialer, u *url.URL) (*rawConn, error) {
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	c := &rawConn{nc: nc, br: bufio.NewReaderSize(nc, 4096), wbuf: make([]byte, 0, 4096)}
	c.wbuf = fmt.Appendf(c.wbuf, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, key)
	if _, err := nc.Write(c.wbuf); err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.readUpgrade(key); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// readUpgrade reads the relay's answer to the upgrade request: 101 with
// the right Sec-WebSocket-Accept, or the HTTP status it refused with.
func (c *rawConn) readUpgrade(key string) error {
	h := sha1.Sum([]byte(key + wsGUID))
	accept := base64.StdEncoding.EncodeToString(h[:])
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(status) < 12 || !bytes.HasPrefix(status, []byte("HTTP/1.1 ")) {
		return fmt.Errorf("bad HTTP status line %q", status)
	}
	code := string(status[9:12])
	accepted := false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Sec-WebSocket-Accept")) {
			accepted = string(bytes.TrimSpace(v)) == accept
		}
	}
	if code != "101" {
		return fmt.Errorf("HTTP %s", code)
	}
	if !accepted {
		return errors.New("bad Sec-WebSocket-Accept")
	}
	return nil
}

// writeFrame writes one masked frame (RFC 6455 §5.2), in one write.
func (c *rawConn) writeFrame(opcode byte, p []byte) error {
	b := append(c.wbuf[:0], 0x80|opcode)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var key [4]byte
	rand.Read(key[:])
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, p...)
	mask(b[start:], key)
	c.wbuf = b
	_, err := c.nc.Write(b)
	return err
}

func mask(b []byte, key [4]byte) {
	k8 := uint64(binary.LittleEndian.Uint32(key[:]))
	k8 |= k8 << 32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k8)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= key[i%4]
	}
}

func (c *rawConn) send(_ context.Context, p []byte) error { return c.writeFrame(0x1, p) }

// read returns the next data message. A close frame comes back as a
// websocket.CloseError (so websocket.CloseStatus reads it); a ping is
// answered.
func (c *rawConn) read(_ context.Context) ([]byte, error) {
	var msg []byte
	for {
		fin, opcode, payload, err := c.readFrame()
		if err != nil {
			return nil, err
		}
		switch opcode {
		case 0x8: // close
			ce := websocket.CloseError{Code: websocket.StatusNoStatusRcvd}
			if len(payload) >= 2 {
				ce.Code = websocket.StatusCode(binary.BigEndian.Uint16(payload))
				ce.Reason = string(payload[2:])
			}
			c.writeFrame(0x8, payload[:min(len(payload), 2)])
			return nil, ce
		case 0x9: // ping
			if err := c.writeFrame(0xA, payload); err != nil {
				return nil, err
			}
			continue
		case 0xA: // pong
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// readFrame reads one frame from the relay (unmasked); its payload is
// valid until the next read.
func (c *rawConn) readFrame() (fin bool, opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(c.br, h[:]); err != nil {
		return
	}
	fin, opcode = h[0]&0x80 != 0, h[0]&0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err = io.ReadFull(c.br, ext[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err = io.ReadFull(c.br, ext[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if h[1]&0x80 != 0 || n > 1<<20 {
		return false, 0, nil, fmt.Errorf("bad frame from the relay (masked or %d bytes)", n)
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(c.br, payload)
	return
}

// close closes with a close frame (1000) and waits, 5 s at most, for the
// relay's, as coder/websocket's Close does.
func (c *rawConn) close() {
	c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if c.writeFrame(0x8, []byte{0x03, 0xe8}) == nil {
		for {
			_, opcode, _, err := c.readFrame()
			if err != nil || opcode == 0x8 {
				break
			}
		}
	}
	c.nc.Close()
}

func (c *rawConn) abort() { c.nc.Close() }
