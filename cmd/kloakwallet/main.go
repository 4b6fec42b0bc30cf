package main

import (
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "kloakwallet",
		Short: "Create kloak wallet files and derive Kaspa addresses",
		Long: `kloakwallet creates encrypted kloak wallet files and derives Kaspa addresses
(BIP39 mnemonic, BIP44 m/44'/111111'/account'/chain/index, Schnorr P2PK), the same
addresses Kaspa-NG and kaspawallet show for the same words.

The wallet password comes from $` + passwordEnv + ` if it is set, otherwise
from the terminal without echo.`,
		SilenceUsage: true,
	}
	root.AddCommand(newCreateCmd(), newAddressesCmd(), newDeriveCmd(), newTxCmd())
	return root
}
