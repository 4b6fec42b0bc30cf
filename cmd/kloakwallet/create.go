package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

func newCreateCmd() *cobra.Command {
	var (
		path, network string
		words         int
	)
	cmd := &cobra.Command{
		Use:   "create --wallet-file FILE",
		Short: "Create a wallet file with a new mnemonic and print the mnemonic once",
		Long: `create makes a new BIP39 mnemonic, writes it encrypted to a new wallet file
(it never replaces an existing file) and prints it once, to be written down.
The password comes from $` + passwordEnv + ` or is asked twice on the terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			net, err := address.ParseNetwork(network)
			if err != nil {
				return err
			}
			if words != 12 && words != 24 {
				return fmt.Errorf("--words must be 12 or 24, not %d", words)
			}
			// Checked again, atomically, by wallet.Create; asking first
			// spares the user a password prompt that cannot succeed.
			if _, err := os.Lstat(path); err == nil {
				return fmt.Errorf("%s: %w; not replacing it", path, wallet.ErrExist)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			password, err := readPassword(cmd.ErrOrStderr(), true)
			if err != nil {
				return err
			}
			defer clear(password)
			if len(password) == 0 {
				return errors.New("the wallet password must not be empty")
			}
			mnemonic, err := wallet.NewMnemonic(words)
			if err != nil {
				return err
			}
			w, err := wallet.Create(path, password, mnemonic, wallet.CreateOptions{Network: net})
			if err != nil {
				return err
			}
			defer w.Close()
			acct, err := w.Account()
			if err != nil {
				return err
			}
			first, err := acct.Receive(0)
			if err != nil {
				return err
			}
			first.Zero()

			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created wallet %s (%v, account %d).\n\n", path, net, acct.Number())
			fmt.Fprintf(out, "WRITE DOWN THESE %d WORDS, in order, and keep them offline. They are the only\n", words)
			fmt.Fprintln(out, "way to recover the wallet if the file or its password is lost, and anyone who")
			fmt.Fprintln(out, "sees them can spend its funds. They are not shown again.")
			fmt.Fprintln(out)
			list := strings.Fields(mnemonic)
			for i := 0; i < len(list); i += 4 {
				var line strings.Builder
				for j := i; j < i+4 && j < len(list); j++ {
					fmt.Fprintf(&line, "%3d. %-10s", j+1, list[j])
				}
				fmt.Fprintln(out, strings.TrimRight(line.String(), " "))
			}
			fmt.Fprintln(out)
			fmt.Fprintf(out, "First receive address: %s\n", first.Address)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "wallet-file", "", "wallet file to create (must not exist)")
	cmd.Flags().StringVar(&network, "network", "mainnet", "network: mainnet, testnet, devnet or simnet")
	cmd.Flags().IntVar(&words, "words", 24, "mnemonic length: 12 or 24 words")
	cmd.MarkFlagRequired("wallet-file")
	return cmd
}
