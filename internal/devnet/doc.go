// Package devnet runs a real Kaspa node for kloak's tests: Go kaspad v0.12.23 on devnet,
// listening on 127.0.0.1 only, with no DNS seeding and no outbound peers, its UTXO index on,
// its data in a temporary directory; and kaspaminer to mine to an address.
//
// The node is built from the Go module proxy the first time it is needed, with Crescendo's
// payload rule patched in (a native transaction may carry a payload; README.md gives the exact
// change and why it is the only one), and cached under the user's cache directory keyed by
// the kaspad version and the patch's SHA-256. Options.Unpatched runs kaspad as released.
//
//	func TestSpend(t *testing.T) {
//		node := devnet.Start(t, devnet.Options{}) // stopped when the test ends
//		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
//		defer cancel()
//		if _, err := node.MineUntilSpendable(ctx, addr, 1); err != nil { // a kaspadev: address
//			t.Fatal(err)
//		}
//		// ... submit a transaction to node.RPCAddress() ...
//		if err := node.MineBlocks(ctx, addr, 1); err != nil { // now it is in a block
//			t.Fatal(err)
//		}
//	}
//
// Every wait polls the node and is bounded by a context or a documented timeout; no process or
// goroutine outlives Close, and on Linux the kernel kills the node if the test binary dies
// without running its cleanups.
//
// It does not run several connected nodes, relay through P2P, or imitate rusty-kaspa: the
// node's consensus predates Crescendo except for the payload rule, so it enforces neither
// storage mass nor Toccata's fee floor (kloak's builder checks those itself), and its minimum
// relay fee is 1 sompi per gram. It is internal: no wallet should import it.
package devnet
