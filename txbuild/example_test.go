package txbuild_test

import (
	"fmt"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// Example signs a one-input, one-output transaction and checks it against
// mainnet's rules.
func Example() {
	// A key of a wallet: the first receive address of a BIP39 mnemonic.
	seed, _ := wallet.SeedFromMnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "")
	acct, _ := wallet.NewAccount(seed, 0, address.Mainnet)
	key, _ := acct.Receive(0)
	priv, _ := key.PrivateKey()
	from := key.Address
	to, _ := address.Decode("kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", address.Mainnet)

	utxos := []txbuild.UTXOEntry{{Amount: 10 * amount.SompiPerKAS, ScriptPublicKey: from.ScriptPublicKey()}}
	tx := &txbuild.Transaction{
		Inputs:  []txbuild.Input{{PreviousOutpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{1}}, SigOpCount: 1}},
		Outputs: []txbuild.Output{{Amount: 10*amount.SompiPerKAS - 200_000, ScriptPublicKey: to.ScriptPublicKey()}},
	}
	if err := txbuild.SignInput(tx, utxos, 0, txbuild.SigHashAll, priv); err != nil {
		panic(err)
	}
	m, _ := txbuild.CalcMasses(tx, utxos)
	policy := txbuild.PolicyFor(address.Mainnet)
	fmt.Println("compute mass:", m.Compute, "storage mass:", m.Storage)
	fmt.Println("minimum relay fee:", policy.MinimumRelayFee(tx), "sompi")
	fmt.Println("problems:", policy.Check(tx, utxos, txbuild.SompiPerGram(1)))
	// Output:
	// compute mass: 1624 storage mass: 0
	// minimum relay fee: 162400 sompi
	// problems: []
}

// A payjoin's two wallets pick their coins: the sender offers up to five
// that can pay (Build2In4Out spends the one that leaves an observer least
// sure of the payment), the receiver contributes one a sender of that
// payment could have spent.
func ExampleSenderCoins() {
	const kas = amount.SompiPerKAS
	var coins []txbuild.UTXO
	for i, a := range []amount.Sompi{3, 40, 12, 7, 150, 25, 9} {
		coins = append(coins, txbuild.UTXO{Outpoint: txbuild.Outpoint{Index: uint32(i)}, Entry: txbuild.UTXOEntry{Amount: a * kas}})
	}
	picked := txbuild.SenderCoins(coins, 8*kas)
	fmt.Println(len(picked), "coins, from", picked[0].Entry.Amount, "to", picked[len(picked)-1].Entry.Amount)
	u, _, _ := txbuild.ReceiverCoin(coins, 100*kas, nil) // none holds 100.8 KAS: the largest
	fmt.Println(u.Entry.Amount)
	// Output:
	// 5 coins, from 9 KAS to 150 KAS
	// 150 KAS
}
