package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/node"
)

// StartDevnet starts a devnet kaspad (devnet.Start, stopped when the test
// ends) and returns it with a context that ends after timeout or when the
// test ends, whichever comes first.
func StartDevnet(t *testing.T, timeout time.Duration, opts devnet.Options) (context.Context, *devnet.Node) {
	t.Helper()
	n := devnet.Start(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx, n
}

// Dial dials the node at addr (node.Dial) and closes the client when the
// test ends.
func Dial(t testing.TB, ctx context.Context, addr string, opts node.Options) *node.Client {
	t.Helper()
	c, err := node.Dial(ctx, addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
