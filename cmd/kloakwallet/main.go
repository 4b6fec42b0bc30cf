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
		Short: "A Kaspa wallet with KPP payjoin: create and restore wallet files, derive addresses, balance, send, receive and pay",
		Long: `kloakwallet creates encrypted kloak wallet files (create, or restore from a
mnemonic) and derives Kaspa addresses (BIP39 mnemonic, BIP44
m/44'/111111'/account'/chain/index, Schnorr P2PK), the same addresses Kaspa-NG and
kaspawallet show for the same words. With your own Kaspa node it shows the balance,
sends ordinary payments (balance, send), and pays and receives by KPP payjoin
through a kloak relay (receive, pay).

The wallet password comes from $` + passwordEnv + ` if it is set, otherwise
from the terminal without echo.`,
		SilenceUsage: true,
	}
	root.AddCommand(newCreateCmd(), newRestoreCmd(), newAddressesCmd(), newDeriveCmd(), newBalanceCmd(), newSendCmd(), newTxCmd(), newReceiveCmd(), newPayCmd(), newNodesCmd())
	return root
}
