package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/cli"
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
			if err := cli.RefuseExisting(path); err != nil {
				return err
			}
			password, err := newWalletPassword.Read(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer clear(password)
			mnemonic, err := wallet.NewMnemonic(words)
			if err != nil {
				return err
			}
			c, err := cli.CreateWallet(path, password, mnemonic, wallet.CreateOptions{Network: net})
			if err != nil {
				return err
			}
			defer c.Wallet.Close()

			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created wallet %s (%v, account %d).\n\n", path, net, c.Account)
			fmt.Fprintf(out, "WRITE DOWN THESE %d WORDS, in order, and keep them offline. They are the only\n", words)
			fmt.Fprintln(out, "way to recover the wallet if the file or its password is lost, and anyone who")
			fmt.Fprintln(out, "sees them can spend its funds. They are not shown again.")
			fmt.Fprintln(out)
			cli.PrintWords(out, mnemonic)
			fmt.Fprintln(out)
			fmt.Fprintf(out, "First receive address: %s\n", c.FirstReceive)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "wallet-file", "", "wallet file to create (must not exist)")
	cmd.Flags().StringVar(&network, "network", "mainnet", cli.NetworkUsage)
	cmd.Flags().IntVar(&words, "words", 24, "mnemonic length: 12 or 24 words")
	cmd.MarkFlagRequired("wallet-file")
	return cmd
}
