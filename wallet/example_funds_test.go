package wallet_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// exampleNode is a UTXOSource with two coins, as a node would list them:
// one received on the first receive address, one the wallet paid itself
// on its first change address. (*node.Client is the real one.)
type exampleNode struct{ received, change address.Address }

func (n exampleNode) UTXOsByAddresses(_ context.Context, addrs []address.Address) ([]txbuild.UTXO, error) {
	var out []txbuild.UTXO
	for _, a := range addrs {
		switch {
		case a.Equal(n.received):
			out = append(out, txbuild.UTXO{Address: a, Outpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{1}},
				Entry: txbuild.UTXOEntry{Amount: 30_000_000, ScriptPublicKey: a.ScriptPublicKey()}})
		case a.Equal(n.change):
			out = append(out, txbuild.UTXO{Address: a, Outpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{2}},
				Entry: txbuild.UTXOEntry{Amount: 5 * amount.SompiPerKAS, ScriptPublicKey: a.ScriptPublicKey()}})
		}
	}
	return out, nil
}

// Funds spends a wallet's coins through a node. SelectUTXO picks the
// smallest coin that is large enough, wherever it came from;
// SelectChangeUTXO only coins the wallet paid itself, as a relay node's
// pulses must (a received relay fee would tie that payjoin to the node).
func ExampleFunds_SelectChangeUTXO() {
	dir, err := os.MkdirTemp("", "kloak-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	w, err := wallet.Create(filepath.Join(dir, "node.kloak"), []byte("a long password"), exampleMnemonic, wallet.CreateOptions{
		Network: address.Mainnet,
		Scrypt:  wallet.ScryptParams{LogN: 10, R: 8, P: 1}, // cheap, for the example
	})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	acct, err := w.Account()
	if err != nil {
		log.Fatal(err)
	}
	recv, _ := acct.Receive(0)
	change, _ := acct.Change(0)
	recv.Zero()
	change.Zero()

	funds := w.Funds(exampleNode{received: recv.Address, change: change.Address}, wallet.FundsOptions{})
	ctx := context.Background()
	picked, err := funds.SelectUTXO(ctx, 10_000_000)
	if err != nil {
		log.Fatal(err)
	}
	own, err := funds.SelectChangeUTXO(ctx, 10_000_000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("SelectUTXO:      ", picked.Entry.Amount, "received")
	fmt.Println("SelectChangeUTXO:", own.Entry.Amount, "of the wallet's own")
	// Output:
	// SelectUTXO:       0.3 KAS received
	// SelectChangeUTXO: 5 KAS of the wallet's own
}
