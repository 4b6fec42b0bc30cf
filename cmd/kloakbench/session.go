//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
)

// wallets runs KPP sessions against a relay, as a receiver and a sender
// wallet would: the same messages, in the same order, sealed under the
// session's own key.
type wallets struct {
	url         string
	raw         bool         // the lean client (rawws.go), else coder/websocket's as kpp wallets
	http        *http.Client // coder/websocket's
	dialer      net.Dialer   // the lean client's
	u           *url.URL
	pt          *plaintexts
	think       time.Duration // each wallet's mean pause before it answers (node lookups, signing)
	senderFirst bool          // the sender connects before the receiver
	retry       time.Duration // keep asking a relay that answers "No matching receiver waiting" for this long
}

// sessionResult is what one session measured.
type sessionResult struct {
	latency time.Duration // sender connect → the last relayed message read, think time excluded
	retries int           // "No matching receiver waiting" answers retried
	err     error
}

// sessionError is a failed session: at which step, and why.
type sessionError struct {
	step string
	err  error
}

func (e *sessionError) Error() string { return e.step + ": " + e.err.Error() }
func (e *sessionError) Unwrap() error { return e.err }

func fail(step string, err error) *sessionError { return &sessionError{step, err} }

// transport is a wallet's WebSocket connection: coder/websocket's client
// (kpp's wallets use it) or the lean one (rawws.go).
type transport interface {
	send(ctx context.Context, b []byte) error
	read(ctx context.Context) ([]byte, error) // the next data message
	close()                                   // close frame, then wait for the relay's
	abort()                                   // no close frame
}

// wsConn is one wallet's connection.
type wsConn struct{ t transport }

func (w *wallets) dial(ctx context.Context) (*wsConn, error) {
	if w.raw {
		c, err := dialRaw(ctx, &w.dialer, w.u)
		if err != nil {
			return nil, err
		}
		return &wsConn{c}, nil
	}
	ws, resp, err := websocket.Dial(ctx, w.url, &websocket.DialOptions{HTTPClient: w.http})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil, err
	}
	ws.SetReadLimit(kpp.MaxEnvelope + 1024)
	return &wsConn{coderConn{ws}}, nil
}

// coderConn is coder/websocket's client as a transport.
type coderConn struct{ ws *websocket.Conn }

func (c coderConn) send(ctx context.Context, b []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c coderConn) read(ctx context.Context) ([]byte, error) {
	_, b, err := c.ws.Read(ctx)
	return b, err
}

func (c coderConn) close() { c.ws.Close(websocket.StatusNormalClosure, "") }
func (c coderConn) abort() { c.ws.CloseNow() }

func (c *wsConn) send(ctx context.Context, b []byte) error { return c.t.send(ctx, b) }

// read returns the next message; a relay's {"error":..} notice becomes a
// *kpp.RelayError.
func (c *wsConn) read(ctx context.Context) ([]byte, error) {
	b, err := c.t.read(ctx)
	if err != nil {
		return nil, err
	}
	if len(b) > 0 && b[0] == '{' {
		var re kpp.RelayError
		if json.Unmarshal(b, &re) == nil && re.Code != "" {
			return nil, &re
		}
	}
	return b, nil
}

// open reads the next message and checks that it is want, sealed under key.
func (c *wsConn) open(ctx context.Context, key kpp.Key, want []byte) error {
	b, err := c.read(ctx)
	if err != nil {
		return err
	}
	pt, err := kpp.Open(key, string(b))
	if err != nil {
		return err
	}
	if !bytes.Equal(pt, want) {
		return errors.New("the relay changed a message")
	}
	return nil
}

func handshake(role, id string) []byte {
	return []byte(`{"role":"` + role + `","session_id":"` + id + `"}`)
}

// run runs one session, from the receiver's connect to both wallets'
// close, and measures it.
func (w *wallets) run(ctx context.Context) (res sessionResult) {
	key, err := kpp.NewKey()
	if err != nil {
		return sessionResult{err: err}
	}
	id := key.SessionID()
	seal := func(p []byte) []byte {
		s, err := kpp.Seal(key, p, nil)
		if err != nil {
			panic(err) // crypto/rand failed
		}
		return []byte(s)
	}
	var recv, send *wsConn
	defer func() {
		closeBoth(recv, send)
	}()

	connectReceiver := func() error {
		var err error
		if recv, err = w.dial(ctx); err != nil {
			return fail("receiver connect", err)
		}
		if err := recv.send(ctx, handshake(kpp.RoleReceiver, id)); err != nil {
			return fail("receiver handshake", err)
		}
		if err := recv.send(ctx, seal(w.pt.offer)); err != nil {
			return fail("receiver blob", err)
		}
		return nil
	}
	var start time.Time
	var first []byte
	connectSender := func() error {
		var err error
		if send, err = w.dial(ctx); err != nil {
			return fail("sender connect", err)
		}
		if err := send.send(ctx, handshake(kpp.RoleSender, id)); err != nil {
			return fail("sender handshake", err)
		}
		return nil
	}
	if w.senderFirst {
		start = time.Now()
		if err := connectSender(); err != nil {
			return sessionResult{err: err}
		}
		if err := connectReceiver(); err != nil {
			return sessionResult{err: err}
		}
	} else {
		if err := connectReceiver(); err != nil {
			return sessionResult{err: err}
		}
		start = time.Now()
		if err := connectSender(); err != nil {
			return sessionResult{err: err}
		}
	}
	// The relay's first message: dust_address, or a refusal. A relay that
	// does not hold senders (a Python node) may refuse one that arrives
	// before the receiver's blob is filed; the sender asks again, as
	// kpp's does.
	retryUntil := time.Now().Add(w.retry)
	for {
		first, err = send.read(ctx)
		var re *kpp.RelayError
		if err == nil || !errors.As(err, &re) || re.Code != kpp.ErrTextNoReceiver || time.Now().After(retryUntil) {
			break
		}
		res.retries++
		send.t.abort()
		send = nil
		time.Sleep(20 * time.Millisecond)
		if err := connectSender(); err != nil {
			return sessionResult{retries: res.retries, err: err}
		}
	}
	if err != nil {
		return sessionResult{retries: res.retries, err: fail("dust_address", err)}
	}
	var fa kpp.FeeAddress
	if err := json.Unmarshal(first, &fa); err != nil || fa.Type != kpp.MsgFeeAddress || fa.Address == "" {
		return sessionResult{retries: res.retries, err: fail("dust_address", fmt.Errorf("%w: %.80q", kpp.ErrUnexpectedMessage, first))}
	}
	steps := []struct {
		name     string
		from, to **wsConn
		msg      []byte
		think    bool // the sending wallet thinks first
	}{
		{"blob", nil, &send, w.pt.offer, false}, // sent by the receiver already
		{"sender data", &send, &recv, w.pt.senderData, true},
		{"transaction", &send, &recv, w.pt.proposal, false},
		{"receiver_signature", &recv, &send, w.pt.signature, true},
		{"broadcast_success", &send, &recv, w.pt.success, true},
	}
	var thought time.Duration
	for _, s := range steps {
		if s.from != nil {
			if s.think && w.think > 0 {
				t0 := time.Now()
				time.Sleep(jitter(w.think))
				thought += time.Since(t0)
			}
			if err := (*s.from).send(ctx, seal(s.msg)); err != nil {
				return sessionResult{retries: res.retries, err: fail(s.name+" send", err)}
			}
		}
		if err := (*s.to).open(ctx, key, s.msg); err != nil {
			return sessionResult{retries: res.retries, err: fail(s.name, err)}
		}
	}
	res.latency = time.Since(start) - thought
	return res
}

// jitter returns a pause uniform in [d/2, 3d/2), so that wallets that
// think do not answer in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

// closeBoth closes both wallets' connections as kpp does, with a close
// frame, at the same time.
func closeBoth(recv, send *wsConn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if recv != nil {
			recv.t.close()
		}
	}()
	if send != nil {
		send.t.close()
	}
	<-done
}

// errorKind names what went wrong, for counting: the step and the relay's
// notice, close status or kind of failure.
func errorKind(err error) string {
	step := "session"
	var se *sessionError
	if errors.As(err, &se) {
		step = se.step
	}
	var re *kpp.RelayError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		return step + ": relay: " + re.Code
	case websocket.CloseStatus(err) != -1:
		return fmt.Sprintf("%s: closed %d", step, websocket.CloseStatus(err))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return step + ": timeout"
	case errors.Is(err, kpp.ErrEnvelope), errors.Is(err, kpp.ErrUnexpectedMessage):
		return step + ": unexpected message"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return step + ": timeout"
	}
	msg := err.Error()
	if strings.HasPrefix(msg, step+": ") {
		msg = msg[len(step)+2:]
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return step + ": " + trimErr(msg)
}
