package node_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/node"
)

// The node goes away and comes back while a Client is in use. The devnet
// harness cannot restart kaspad on the same data directory and ports
// (devnet.Node has no restart, and Close reports a kaspad that exited
// early as a failure), so the outages are made two other ways:
//
//   - unresponsive (outage_linux_test.go): kaspad is stopped with SIGSTOP
//     and resumed with SIGCONT (testkit.Freeze). Its sockets stay open and the kernel still
//     accepts connections, but nothing answers: what a hung or overloaded
//     node looks like.
//   - unreachable: the Client talks to kaspad through a TCP proxy on
//     127.0.0.1 (testkit.Proxy), which is stopped (its connections cut, connection
//     refused) and started again on the same port: what a node restart or
//     a network cut looks like to the Client.

// outageOptions keeps every wait of the Client short.
func outageOptions(logs io.Writer) node.Options {
	return node.Options{
		CallTimeout: 2 * time.Second, DialTimeout: time.Second, MaxBackoff: time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// unavailableWithin calls DAGInfo and checks that it fails with
// ErrUnavailable within limit.
func unavailableWithin(t *testing.T, ctx context.Context, c *node.Client, limit time.Duration) {
	t.Helper()
	began := time.Now()
	_, err := c.DAGInfo(ctx)
	took := time.Since(began)
	if !errors.Is(err, node.ErrUnavailable) {
		t.Fatalf("call during the outage: %v, want node.ErrUnavailable", err)
	}
	if took > limit {
		t.Errorf("call during the outage took %v, more than %v", took, limit)
	}
	t.Logf("during the outage, after %v: %v", took.Round(time.Millisecond), err)
}

// TestNodeUnreachable: the node's port goes away (connections cut, then
// refused) and comes back on the same address: calls fail with
// ErrUnavailable within the bounds, and the Client reconnects by itself
// and logs it.
func TestNodeUnreachable(t *testing.T) {
	ctx, n := testkit.StartDevnet(t, 2*time.Minute, devnet.Options{})
	p := testkit.StartProxy(t, n.RPCAddress())
	var logs testkit.SyncBuffer
	opts := outageOptions(&logs)
	c := testkit.Dial(t, ctx, p.Addr(), opts)

	p.Stop()
	limit := opts.CallTimeout + opts.MaxBackoff + time.Second
	for range 3 {
		unavailableWithin(t, ctx, c, limit)
	}
	p.Start()
	if _, err := c.DAGInfo(ctx); err != nil {
		t.Fatalf("after the node came back: %v", err)
	}
	for _, want := range []string{"kaspa node: connection lost", "kaspa node: reconnected"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q in the client's log:\n%s", want, logs.String())
		}
	}
	t.Logf("client log:\n%s", logs.String())
}
