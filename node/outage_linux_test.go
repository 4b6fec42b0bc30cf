//go:build linux

package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
)

// TestNodeUnresponsive: while kaspad is stopped (SIGSTOP), every call
// fails with ErrUnavailable within CallTimeout (plus the backoff); once
// it runs again (SIGCONT) the same Client answers again without being
// told, and logs that it reconnected.
func TestNodeUnresponsive(t *testing.T) {
	ctx, n := testkit.StartDevnet(t, 2*time.Minute, devnet.Options{})
	var logs testkit.SyncBuffer
	opts := outageOptions(&logs)
	c := testkit.Dial(t, ctx, n.RPCAddress(), opts)

	resume := testkit.Freeze(t, n.PID())
	limit := opts.CallTimeout + opts.MaxBackoff + time.Second
	for range 3 {
		unavailableWithin(t, ctx, c, limit)
	}
	resume()
	if _, err := c.DAGInfo(ctx); err != nil {
		t.Fatalf("after the node came back: %v", err)
	}
	if !strings.Contains(logs.String(), "kaspa node: reconnected") {
		t.Errorf("no reconnect logged:\n%s", logs.String())
	}
	t.Logf("client log:\n%s", logs.String())
}
