package node_test

import (
	"context"
	"fmt"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/node"
)

// Dial a Kaspa node (rusty-kaspa or kaspad, gRPC, started with
// --utxoindex) and ask what a wallet needs: the coins of an address, the
// ones a transaction in the mempool already spends, and the fee rate.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := node.Dial(ctx, "127.0.0.1:16110", node.Options{})
	if err != nil {
		fmt.Println(err) // node.ErrNoUTXOIndex names a node without --utxoindex
		return
	}
	defer c.Close()

	a, _ := address.Parse("kaspa:qptuunqxj5vlq9j4sdyfq0a7r3wgp697ymvym7cky3aaz7mfwtx47sraf8r5g")
	utxos, err := c.UTXOsByAddresses(ctx, []address.Address{a})
	if err != nil {
		fmt.Println(err)
		return
	}
	spent, err := c.MempoolSpends(ctx, []address.Address{a})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range utxos {
		if _, ok := spent[u.Outpoint]; !ok {
			fmt.Println(u.Outpoint, u.Entry.Amount)
		}
	}
	rate, err := c.FeeRate(ctx)
	fmt.Println("fee rate", rate, err)
}
