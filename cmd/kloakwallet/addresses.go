package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/wallet"
)

// maxListed bounds --receive and --change: deriving is cheap, but a typo
// should not print a million lines.
const maxListed = 100_000

// addressList is the output of derive and addresses.
type addressList struct {
	Receive []string `json:"receive"`
	Change  []string `json:"change"`

	receivePaths, changePaths []string
}

// listAddresses derives receive addresses 0..receive-1 and change
// addresses 0..change-1 of acct.
func listAddresses(acct *wallet.Account, receive, change uint32) (*addressList, error) {
	if receive > maxListed || change > maxListed {
		return nil, fmt.Errorf("at most %d addresses per chain", maxListed)
	}
	l := &addressList{Receive: []string{}, Change: []string{}}
	for i := range receive {
		k, err := acct.Receive(i)
		if err != nil {
			return nil, err
		}
		k.Zero()
		l.Receive = append(l.Receive, k.Address.String())
		l.receivePaths = append(l.receivePaths, k.Path)
	}
	for i := range change {
		k, err := acct.Change(i)
		if err != nil {
			return nil, err
		}
		k.Zero()
		l.Change = append(l.Change, k.Address.String())
		l.changePaths = append(l.changePaths, k.Path)
	}
	return l, nil
}

// print writes l as JSON ({"receive": [...], "change": [...]}) or as
// lines of chain, index, path and address.
func (l *addressList) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(l)
	}
	for i, a := range l.Receive {
		fmt.Fprintf(w, "receive %-4d %-24s %s\n", i, l.receivePaths[i], a)
	}
	for i, a := range l.Change {
		fmt.Fprintf(w, "change  %-4d %-24s %s\n", i, l.changePaths[i], a)
	}
	return nil
}

func newAddressesCmd() *cobra.Command {
	var (
		path            string
		receive, change uint32
		asJSON          bool
	)
	cmd := &cobra.Command{
		Use:   "addresses --wallet-file FILE",
		Short: "List a wallet file's receive and change addresses",
		Long: `addresses opens a wallet file and lists its receive and change addresses from
index 0. By default it lists the addresses handed out so far (at least the first
receive address). It does not hand out new ones.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			password, err := readPassword(cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			w, err := wallet.Open(path, password)
			clear(password)
			if err != nil {
				return err
			}
			defer w.Close()
			if !cmd.Flags().Changed("receive") {
				receive = max(w.NextReceiveIndex(), 1)
			}
			if !cmd.Flags().Changed("change") {
				change = w.NextChangeIndex()
			}
			acct, err := w.Account()
			if err != nil {
				return err
			}
			l, err := listAddresses(acct, receive, change)
			if err != nil {
				return err
			}
			return l.print(cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().StringVar(&path, "wallet-file", "", "wallet file")
	cmd.Flags().Uint32Var(&receive, "receive", 0, "number of receive addresses (default: those handed out so far, at least 1)")
	cmd.Flags().Uint32Var(&change, "change", 0, "number of change addresses (default: those handed out so far)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"receive": [...], "change": [...]}`)
	cmd.MarkFlagRequired("wallet-file")
	return cmd
}
