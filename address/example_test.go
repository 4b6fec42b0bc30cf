package address_test

import (
	"fmt"

	"github.com/kloakprotocol/kloak/address"
)

func ExampleDecode() {
	a, err := address.Decode("kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", address.Mainnet)
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Version(), a.ScriptPublicKey())
	_, err = address.Decode(a.String(), address.Testnet)
	fmt.Println(err)
	// Output:
	// Schnorr P2PK 2038dba42e65a2f5aba580bfc284a18ccb2ef8c31c90f5dfec0bbfef291dda3b2aac
	// address is for another Kaspa network: "kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea" is a mainnet address, want testnet (prefix "kaspatest:")
}
