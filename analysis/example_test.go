package analysis_test

import (
	"fmt"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
)

// A payjoin of the first kloak builder: the node fee tied to the payment
// gives it away.
func ExampleAnalyze() {
	const kas = amount.SompiPerKAS
	tx := analysis.Tx{
		Inputs:  []amount.Sompi{60*kas + 1_234, 100 * kas},
		Outputs: []amount.Sompi{50 * kas, kas / 5, 60*kas + 1_234 - 25*kas - kas/5 - 3_700, 75 * kas},
		Fee:     3_700,
	}
	rules := analysis.Rules{
		Fee:      analysis.FeeRule{Kind: analysis.FeeTied, Min: kas / 5, Unit: kas / 10},
		SplitMin: 300, SplitMax: 700, ChangeReserve: kas / 2,
	}
	rep, err := analysis.Analyze(tx, rules, analysis.DefaultPrior)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(rep.Readings), "reading; payment", rep.Guesses[0].Payment, "certain:", rep.PaymentCertain)
	// Output:
	// 1 reading; payment 25 KAS certain: true
}

// Reweigh lets an analyst that knows more than the rules and the prior
// (here: that the receiver's coin is never read as the sender's) weigh
// the readings again.
func ExampleReport_Reweigh() {
	const kas = amount.SompiPerKAS
	tx := analysis.Tx{
		Inputs:  []amount.Sompi{60 * kas, 100 * kas},
		Outputs: []amount.Sompi{50 * kas, kas / 5, 60*kas - 25*kas - kas/5 - 3_700, 75 * kas},
		Fee:     3_700,
	}
	rules := analysis.Rules{Fee: analysis.FeeRule{Kind: analysis.FeeRange, Min: kas / 5, Max: 3 * kas / 10}, SplitMin: 300, SplitMax: 700, ChangeReserve: kas / 2}
	rep, err := analysis.Analyze(tx, rules, analysis.DefaultPrior)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(rep.Guesses), "payments; sender's input certain:", rep.SenderInputCertain)
	rep.Reweigh(func(rd analysis.Reading) float64 {
		if rd.SenderInput != 0 {
			return 0
		}
		return 1
	})
	fmt.Printf("top guess %s, %.0f %% sure\n", rep.Guesses[0].Payment, 100*rep.Guesses[0].Posterior)
	// Output:
	// 5 payments; sender's input certain: false
	// top guess 25 KAS, 100 % sure
}
