//go:build linux

package node_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/node"
)

// TestNodeUnresponsive: while kaspad is stopped (SIGSTOP), every call
// fails with ErrUnavailable within CallTimeout (plus the backoff); once
// it runs again (SIGCONT) the same Client answers again without being
// told, and logs that it reconnected.
func TestNodeUnresponsive(t *testing.T) {
	n := devnet.Start(t, devnet.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs syncBuffer
	opts := outageOptions(&logs)
	c, err := node.Dial(ctx, n.RPCAddress(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	resume := freeze(t, n.PID())
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

// freeze stops the process pid (SIGSTOP) and waits until the kernel shows
// it stopped; the function it returns, also run when the test ends,
// resumes it (SIGCONT) and waits until it runs.
func freeze(t *testing.T, pid int) (resume func()) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, true)
	done := false
	resume = func() {
		if done {
			return
		}
		done = true
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Error(err)
		}
		waitState(t, pid, false)
	}
	t.Cleanup(resume) // before devnet's cleanup stops the node
	return resume
}

// waitState waits until /proc shows pid stopped (state T) or not.
func waitState(t *testing.T, pid int, stopped bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// pid (comm) state ...: the state follows the last ')'.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) > 0 && (fields[0] == "T") == stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d: state %v, want stopped=%v", pid, fields[:1], stopped)
		}
		time.Sleep(time.Millisecond)
	}
}
