package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/txbuild"
)

func newTxCmd() *cobra.Command {
	tx := &cobra.Command{
		Use:   "tx",
		Short: "Work with raw Kaspa transactions",
	}
	tx.AddCommand(newTxInspectCmd())
	return tx
}

func newTxInspectCmd() *cobra.Command {
	var network, feerate string
	cmd := &cobra.Command{
		Use:   "inspect [FILE|-]",
		Short: "Explain a transaction: ids, signature hashes, masses, minimum fee, signatures and every rule it breaks",
		Long: `inspect reads {"transaction": <RpcTransaction>, "utxoEntries": [<RpcUtxoEntry>, one per input]}
in kaspad's gRPC JSON form (what kaspactl prints) from FILE or standard input and prints JSON:
{"transactionId", "transactionHash", "sighashes", "computeMass", "storageMass", "transientMass",
 "minimumFee", "signatures", "problems"}. Problems name every rule the transaction breaks on
the chosen network (mass budget, consensus mass limits, fee under the floor, bad or missing
signatures, dust where the network has a dust rule).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			net, err := address.ParseNetwork(network)
			if err != nil {
				return err
			}
			rate, err := txbuild.ParseFeeRate(feerate)
			if err != nil {
				return err
			}
			in := cmd.InOrStdin()
			name := "standard input"
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in, name = f, args[0]
			}
			data, err := cli.ReadLimited(in, name, cli.MaxInput)
			var tooLarge *cli.TooLargeError
			if errors.As(err, &tooLarge) {
				return err
			} else if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
			tx, utxos, err := decodeInspectInput(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			report := txbuild.PolicyFor(net).Inspect(tx, utxos, rate)
			return cli.WriteJSON(cmd.OutOrStdout(), report)
		},
	}
	cmd.Flags().StringVar(&network, "network", "mainnet", "network whose rules apply: mainnet, testnet, devnet or simnet")
	cmd.Flags().StringVar(&feerate, "feerate", "1", "fee rate in sompi per gram that the minimum fee must cover (ask your node's fee estimate)")
	return cmd
}

func decodeInspectInput(data []byte) (*txbuild.Transaction, []txbuild.UTXOEntry, error) {
	var in struct {
		Transaction *txbuild.Transaction `json:"transaction"`
		UTXOEntries *[]txbuild.UTXOEntry `json:"utxoEntries"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, nil, err
	}
	// Not dec.More(): it reports false before a stray ']' or '}'.
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("trailing data after the JSON object")
	}
	if in.Transaction == nil {
		return nil, nil, errors.New(`missing "transaction"`)
	}
	if in.UTXOEntries == nil {
		return nil, nil, errors.New(`missing "utxoEntries" (one RpcUtxoEntry per input, in input order)`)
	}
	return in.Transaction, *in.UTXOEntries, nil
}
