package devnet_test

import (
	"context"
	"fmt"
	"time"

	"github.com/kloakprotocol/kloak/internal/devnet"
)

// The context-based API, for a TestMain or a program; tests use devnet.Start instead. Not run
// as a test: it builds and starts a node.
func ExampleStartNode() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	node, err := devnet.StartNode(ctx, devnet.Options{CoinbaseMaturity: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Close()

	const address = "kaspadev:..." // the address to mine to
	sompi, err := node.MineUntilSpendable(ctx, address, 100_000_000)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("spendable:", sompi, "sompi at", node.RPCAddress())
}
