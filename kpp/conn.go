package kpp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// ErrRelay wraps failures to reach or talk to the relay.
var ErrRelay = errors.New("kpp: relay connection")

// ErrRelayBusy matches a *BusyError: the relay refused the connection for
// now (too many connections, in all or from this address, or it is
// shutting down).
var ErrRelayBusy = errors.New("kpp: relay busy")

// BusyError is a relay's refusal of the WebSocket upgrade with HTTP 429
// or 503. Nothing was sent to the relay: a wallet may try again after
// RetryAfter, or choose another relay (discovery.Select). It matches
// ErrRelay and ErrRelayBusy.
type BusyError struct {
	URL        string
	StatusCode int           // 429 or 503
	Message    string        // the relay's text, first line, at most 200 bytes
	RetryAfter time.Duration // from Retry-After in seconds; 0 if the relay gave none
}

func (e *BusyError) Error() string {
	s := fmt.Sprintf("kpp: relay busy: %s: HTTP %d", e.URL, e.StatusCode)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (try again in %s)", e.RetryAfter)
	}
	return s
}

// Is makes a BusyError match ErrRelay and ErrRelayBusy.
func (e *BusyError) Is(target error) bool { return target == ErrRelay || target == ErrRelayBusy }

// maxRetryAfter bounds the Retry-After a BusyError passes on.
const maxRetryAfter = time.Hour

func busyError(u string, resp *http.Response) *BusyError {
	e := &BusyError{URL: u, StatusCode: resp.StatusCode}
	if secs, err := strconv.ParseUint(strings.TrimSpace(resp.Header.Get("Retry-After")), 10, 32); err == nil {
		e.RetryAfter = min(time.Duration(secs)*time.Second, maxRetryAfter)
	}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		line, _, _ := strings.Cut(string(b), "\n")
		e.Message = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == utf8.RuneError {
				return -1
			}
			return r
		}, strings.TrimSpace(line))
	}
	return e
}

// MaxSenderHold is the longest a relay may hold a sender that arrived
// before its receiver's offer, waiting for the receiver, before it answers
// (the pairing, or the "No matching receiver waiting" notice): a Python
// sender waits 15 s for its first message. A kpp sender waits that long
// plus 5 s whatever its Timeouts.Step; package relay refuses a longer
// Config.SenderWait.
const MaxSenderHold = 15 * time.Second

// maxFrame bounds every frame a wallet reads: an envelope, or the relay's
// plaintext messages.
const maxFrame = MaxEnvelope + 1024

// conn is a wallet's WebSocket connection to a relay, with the session key.
type conn struct {
	ws  *websocket.Conn
	key Key
}

func dialRelay(ctx context.Context, relayURL string, key Key, client *http.Client) (*conn, error) {
	u := NormalizeRelayURL(relayURL)
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		if resp != nil {
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
				return nil, busyError(u, resp)
			}
			return nil, fmt.Errorf("%w: %s: HTTP %s", ErrRelay, u, resp.Status)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrRelay, u, err)
	}
	ws.SetReadLimit(maxFrame)
	return &conn{ws: ws, key: key}, nil
}

func (c *conn) handshake(ctx context.Context, role string) error {
	b, _ := json.Marshal(Handshake{Role: role, SessionID: c.key.SessionID()})
	return c.writeText(ctx, b)
}

func (c *conn) writeText(ctx context.Context, b []byte) error {
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("%w: send: %w", ErrRelay, err)
	}
	return nil
}

func (c *conn) read(ctx context.Context) ([]byte, error) {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: waiting for a message: %w", ErrRelay, ctx.Err())
		}
		if s := websocket.CloseStatus(err); s != -1 {
			var ce websocket.CloseError
			errors.As(err, &ce)
			return nil, fmt.Errorf("%w: closed by the other side (%d %s)", ErrRelay, s, ce.Reason)
		}
		return nil, fmt.Errorf("%w: %w", ErrRelay, err)
	}
	return b, nil
}

// readPlain reads a plaintext message from the relay; a relay error
// message becomes a *RelayError.
func (c *conn) readPlain(ctx context.Context) ([]byte, error) {
	b, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	if re := asRelayError(b); re != nil {
		return nil, re
	}
	return b, nil
}

func asRelayError(b []byte) *RelayError {
	var re RelayError
	if json.Unmarshal(b, &re) == nil && re.Code != "" {
		// The notice is plaintext: the relay, or anyone on the path,
		// writes it, and a wallet shows it.
		re.Code, re.Message = peerText(re.Code), peerText(re.Message)
		return &re
	}
	return nil
}

func (c *conn) sendSealed(ctx context.Context, plaintext []byte) error {
	wire, err := Seal(c.key, plaintext, nil)
	if err != nil {
		return err
	}
	return c.writeText(ctx, []byte(wire))
}

// readSealed reads and opens the peer's next message. A relay's plaintext
// error (e.g. "Node shutting down") comes back as a *RelayError.
func (c *conn) readSealed(ctx context.Context) ([]byte, error) {
	b, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	pt, err := Open(c.key, string(b))
	if err != nil {
		if re := asRelayError(b); re != nil {
			return nil, re
		}
		return nil, err
	}
	return pt, nil
}

// fail tells the peer why we stop (sealed broadcast_error) and closes.
func (c *conn) fail(reason error) {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	_ = c.sendSealed(ctx, broadcastErrorMessage(refusalText(reason)))
	c.close()
}

func (c *conn) close() {
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
}
