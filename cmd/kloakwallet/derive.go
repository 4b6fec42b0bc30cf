package main

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/wallet"
)

// maxSecretFile bounds what derive and restore read from a mnemonic or
// passphrase file; a 24-word mnemonic is under 256 bytes.
const maxSecretFile = 4096

func newDeriveCmd() *cobra.Command {
	var (
		mnemonicFile, passphraseFile, network string
		account, receive, change              uint32
		asJSON                                bool
	)
	cmd := &cobra.Command{
		Use:   "derive --mnemonic-file FILE --network NET",
		Short: "Derive the addresses of a mnemonic, as Kaspa-NG and kaspawallet do",
		Long: `derive reads a BIP39 mnemonic (and optionally a BIP39 passphrase) from files and
prints receive addresses m/44'/111111'/ACCOUNT'/0/0.. and change addresses
m/44'/111111'/ACCOUNT'/1/0.. . The passphrase file is used as is, except for one
trailing newline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			net, err := address.ParseNetwork(network)
			if err != nil {
				return err
			}
			m, err := cli.ReadFile(mnemonicFile, maxSecretFile)
			if err != nil {
				return err
			}
			defer clear(m)
			var passphrase []byte
			if passphraseFile != "" {
				if passphrase, err = cli.ReadFile(passphraseFile, maxSecretFile); err != nil {
					return err
				}
				defer clear(passphrase)
				passphrase = bytes.TrimSuffix(passphrase, []byte("\n"))
				passphrase = bytes.TrimSuffix(passphrase, []byte("\r"))
			}
			seed, err := wallet.SeedFromMnemonic(string(m), string(passphrase))
			if err != nil {
				return fmt.Errorf("%s: %w", mnemonicFile, err)
			}
			defer clear(seed)
			acct, err := wallet.NewAccount(seed, account, net)
			if err != nil {
				return err
			}
			defer acct.Zero()
			l, err := cli.ListAddresses(acct, receive, change)
			if err != nil {
				return err
			}
			return printAddresses(cmd.OutOrStdout(), l, asJSON)
		},
	}
	cmd.Flags().StringVar(&mnemonicFile, "mnemonic-file", "", "file holding the BIP39 mnemonic")
	cmd.Flags().StringVar(&passphraseFile, "passphrase-file", "", "file holding the BIP39 passphrase (none if omitted)")
	cmd.Flags().StringVar(&network, "network", "mainnet", cli.NetworkUsage)
	cmd.Flags().Uint32Var(&account, "account", 0, "BIP44 account number")
	cmd.Flags().Uint32Var(&receive, "receive", 1, "number of receive addresses")
	cmd.Flags().Uint32Var(&change, "change", 0, "number of change addresses")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"receive": [...], "change": [...]}`)
	cmd.MarkFlagRequired("mnemonic-file")
	return cmd
}
