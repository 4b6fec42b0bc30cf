// Package testkit holds what the tests of several kloak packages share:
// a devnet kaspad with a client dialled to it, deterministic keys, cheap
// wallet files, and the means to make a node go away (a TCP proxy that can
// be stopped and started again; on Linux, freezing a process).
//
// A test of kpp, node, discovery or wallet uses it like this:
//
//	ctx, n := testkit.StartDevnet(t, 3*time.Minute, devnet.Options{})
//	c := testkit.Dial(t, ctx, n.RPCAddress(), node.Options{})
//	k := testkit.NewKey(t, address.Devnet, 1)
//	if _, err := n.MineUntilSpendable(ctx, k.Addr.String(), 10*amount.SompiPerKAS); err != nil {
//		t.Fatal(err)
//	}
//
// Every helper fails the test (t.Fatal) rather than return an error, and
// undoes what it set up when the test ends (t.Cleanup).
//
// It is for tests only: no package's non-test code may import it. It
// imports node and wallet, so a test in package node or wallet itself
// (not node_test, wallet_test) cannot use it; nor may it ever import kpp
// or discovery, whose tests use it from inside their packages.
package testkit
