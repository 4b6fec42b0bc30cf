package amount_test

import (
	"fmt"

	"github.com/kloakprotocol/kloak/amount"
)

func ExampleParseKAS() {
	a, err := amount.ParseKAS("10.5")
	if err != nil {
		panic(err)
	}
	fmt.Println(uint64(a), a.KAS(), a)
	_, err = amount.ParseKAS("0.000000001")
	fmt.Println(err)
	// Output:
	// 1050000000 10.5 10.5 KAS
	// amount has more than 8 decimal places (finer than 1 sompi): "0.000000001"
}
