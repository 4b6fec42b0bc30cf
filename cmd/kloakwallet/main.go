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
		Short: "A Kaspa wallet with KPP payjoin: create wallet files, derive addresses, receive and pay",
		Long: `kloakwallet creates encrypted kloak wallet files and derives Kaspa addresses
(BIP39 mnemonic, BIP44 m/44'/111111'/account'/chain/index, Schnorr P2PK), the same
addresses Kaspa-NG and kaspawallet show for the same words, and pays and receives
by KPP payjoin through a kloak relay (receive, pay) with your own Kaspa node.

The wallet password comes from $` + passwordEnv + ` if it is set, otherwise
from the terminal without echo.`,
		SilenceUsage: true,
	}
	root.AddCommand(newCreateCmd(), newAddressesCmd(), newDeriveCmd(), newTxCmd(), newReceiveCmd(), newPayCmd())
	return root
}
