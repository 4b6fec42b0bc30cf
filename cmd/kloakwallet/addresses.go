package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/internal/cli"
)

// addressList is the output of derive and addresses: as JSON,
// {"receive": [...], "change": [...]}, the addresses alone.
type addressList struct {
	Receive []string `json:"receive"`
	Change  []string `json:"change"`
}

// printAddresses writes l as JSON or as lines of chain, index, path and
// address.
func printAddresses(w io.Writer, l cli.AddressList, asJSON bool) error {
	if !asJSON {
		l.Print(w)
		return nil
	}
	out := addressList{Receive: []string{}, Change: []string{}}
	for _, a := range l.Receive {
		out.Receive = append(out.Receive, a.Address)
	}
	for _, a := range l.Change {
		out.Change = append(out.Change, a.Address)
	}
	return cli.WriteJSON(w, out)
}

func newAddressesCmd() *cobra.Command {
	var (
		path   string
		counts cli.AddressCounts
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "addresses --wallet-file FILE",
		Short: "List a wallet file's receive and change addresses",
		Long: `addresses opens a wallet file and lists its receive and change addresses from
index 0. By default it lists the addresses handed out so far (at least the first
receive address). It does not hand out new ones.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, l, err := counts.Open(cmd.Context(), cmd.ErrOrStderr(), path, walletPassword)
			if err != nil {
				return err
			}
			w.Close()
			return printAddresses(cmd.OutOrStdout(), l, asJSON)
		},
	}
	cmd.Flags().StringVar(&path, "wallet-file", "", "wallet file")
	counts.Register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"receive": [...], "change": [...]}`)
	cmd.MarkFlagRequired("wallet-file")
	return cmd
}
