package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaspanet/kaspad/app/appmessage"
	"github.com/kaspanet/kaspad/infrastructure/network/netadapter/server/grpcserver/protowire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
)

// Options configure a Client. The zero value gives the documented defaults.
type Options struct {
	// CallTimeout bounds each call when its context has no earlier
	// deadline. Default 30 s.
	CallTimeout time.Duration
	// DialTimeout bounds one connection attempt. Default 10 s.
	DialTimeout time.Duration
	// MaxBackoff caps the wait between reconnection attempts. Default 30 s;
	// the wait starts at 250 ms and doubles with each failed attempt.
	MaxBackoff time.Duration
	// MaxMessageSize caps one message from the node. Default 64 MiB.
	MaxMessageSize int
	// Logger receives connection events. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

const firstBackoff = 250 * time.Millisecond

// Errors a caller can test for with errors.Is.
var (
	ErrClosed      = errors.New("node client is closed")
	ErrUnavailable = errors.New("kaspa node unavailable")
	ErrProtocol    = errors.New("unexpected answer from the kaspa node")
	ErrNoUTXOIndex = errors.New("kaspa node runs without --utxoindex; UTXO and balance queries need it")
)

// NodeError is an error the node returned for a request.
type NodeError struct {
	Request string // the request, e.g. "GetUTXOsByAddresses"
	Message string // the node's words
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("kaspa node refused %s: %s", e.Request, e.Message)
}

// Client is a connection to one Kaspa node. It is safe for concurrent use;
// requests are sent one at a time.
type Client struct {
	address string
	opts    Options

	sem chan struct{} // one request in flight; a channel so waiting honours ctx

	// Guarded by sem.
	conn     *grpc.ClientConn
	stream   protowire.RPC_MessageStreamClient
	cancel   context.CancelFunc
	failures int
	nextDial time.Time

	noFeeEstimate atomic.Bool // the node dropped the connection on GetFeeEstimate

	closeOnce sync.Once
	closed    chan struct{}
}

// Dial connects to the node at address (host:port) and checks that it
// answers. Later calls reconnect by themselves.
func Dial(ctx context.Context, address string, opts Options) (*Client, error) {
	c := New(address, opts)
	if _, err := c.ServerInfo(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// New returns a Client for the node at address without connecting; the
// first call connects.
func New(address string, opts Options) *Client {
	return &Client{
		address: address,
		opts:    opts.withDefaults(),
		sem:     make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
}

// Address returns the node's address.
func (c *Client) Address() string { return c.address }

// Close closes the connection. Calls in flight return ErrClosed.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	// Wait for the request in flight (it sees c.closed), then tear down.
	c.sem <- struct{}{}
	c.dropLocked()
	<-c.sem
	return nil
}

func (c *Client) dropLocked() {
	if c.cancel != nil {
		c.cancel()
	}
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn, c.stream, c.cancel = nil, nil, nil
}

// connectLocked makes sure a stream is open, waiting out the backoff after
// failed attempts.
func (c *Client) connectLocked(ctx context.Context) error {
	if c.stream != nil {
		return nil
	}
	if wait := time.Until(c.nextDial); wait > 0 {
		c.opts.Logger.Warn("kaspa node: reconnecting after backoff", "node", c.address, "wait", wait.Round(time.Millisecond), "failures", c.failures)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %s: waiting to reconnect: %w", ErrUnavailable, c.address, ctx.Err())
		case <-c.closed:
			t.Stop()
			return ErrClosed
		}
	}
	err := c.dialLocked(ctx)
	if err != nil {
		c.failures++
		backoff := firstBackoff << min(c.failures-1, 16)
		c.nextDial = time.Now().Add(min(backoff, c.opts.MaxBackoff))
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, c.address, err)
	}
	if c.failures > 0 {
		c.opts.Logger.Info("kaspa node: reconnected", "node", c.address, "after_failures", c.failures)
	}
	c.failures, c.nextDial = 0, time.Time{}
	return nil
}

func (c *Client) dialLocked(ctx context.Context) error {
	conn, err := grpc.NewClient(c.address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(c.opts.MaxMessageSize)))
	if err != nil {
		return err
	}
	// grpc.NewClient is lazy; wait until the transport is up.
	dctx, dcancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer dcancel()
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready {
			break
		}
		if s == connectivity.TransientFailure || s == connectivity.Shutdown {
			conn.Close()
			return errors.New("connection refused or failed")
		}
		if !conn.WaitForStateChange(dctx, s) {
			conn.Close()
			return fmt.Errorf("connect: %w", dctx.Err())
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	stream, err := protowire.NewRPCClient(conn).MessageStream(sctx, grpc.UseCompressor(gzip.Name))
	if err != nil {
		cancel()
		conn.Close()
		return fmt.Errorf("open message stream: %w", err)
	}
	c.conn, c.stream, c.cancel = conn, stream, cancel
	return nil
}

// call sends req and returns the node's answer, which must be of the same
// type as want.
func call[T appmessage.Message](ctx context.Context, c *Client, name string, req appmessage.Message) (T, error) {
	var zero T
	// CallTimeout bounds the call even when ctx has a later deadline (a
	// payjoin's context lasts minutes); WithTimeout keeps an earlier one.
	ctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		// The call before this one holds the connection: the node is
		// slow to answer it.
		return zero, fmt.Errorf("%s: %w: waiting for the connection: %w", name, ErrUnavailable, ctx.Err())
	case <-c.closed:
		return zero, ErrClosed
	}
	defer func() { <-c.sem }()
	select {
	case <-c.closed:
		return zero, ErrClosed
	default:
	}
	if err := c.connectLocked(ctx); err != nil {
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	msg, err := protowire.FromAppMessage(req)
	if err != nil {
		return zero, fmt.Errorf("%s: encode request: %w", name, err)
	}
	stream := c.stream
	type result struct {
		m   *protowire.KaspadMessage
		err error
	}
	done := make(chan result, 1)
	go func() {
		if err := stream.Send(msg); err != nil {
			done <- result{err: err}
			return
		}
		m, err := stream.Recv()
		done <- result{m, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		c.dropLocked() // the answer may still come; it must not meet the next request
		<-done
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// No answer in time: count it as a failure, so that the
			// reconnect is logged and a node that stays silent is
			// redialled with backoff.
			c.failures++
			c.opts.Logger.Warn("kaspa node: no answer in time; connection dropped", "node", c.address, "request", name)
		}
		return zero, fmt.Errorf("%s: %w: %w", name, ErrUnavailable, ctx.Err())
	case <-c.closed:
		c.dropLocked()
		<-done
		return zero, ErrClosed
	}
	if r.err != nil {
		c.dropLocked()
		c.failures++
		c.nextDial = time.Now().Add(firstBackoff)
		c.opts.Logger.Warn("kaspa node: connection lost", "node", c.address, "err", r.err)
		return zero, fmt.Errorf("%s: %w: %s: %w", name, ErrUnavailable, c.address, r.err)
	}
	app, err := r.m.ToAppMessage()
	if err != nil {
		c.dropLocked()
		return zero, fmt.Errorf("%s: %w: %w", name, ErrProtocol, err)
	}
	resp, ok := app.(T)
	if !ok {
		c.dropLocked()
		return zero, fmt.Errorf("%s: %w: got %s", name, ErrProtocol, app.Command())
	}
	return resp, nil
}

func nodeErr(name string, e *appmessage.RPCError) error {
	if e == nil {
		return nil
	}
	return &NodeError{Request: name, Message: e.Message}
}
