package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/wallet"
)

func newWalletCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Create, import and list the node wallet",
		Long: `wallet works on the node wallet file without running the node. --wallet-file
defaults as for run: $KLOAK_WALLET_FILE, else ` + walletFileName + ` in
$KLOAK_NODE_CACHE_DIR, $KLOAK_CACHE_DIR or the user configuration directory
+ /kloaknode.`,
	}
	cmd.AddCommand(newWalletCreateCmd(), newWalletImportPythonCmd(), newWalletAddressesCmd())
	return cmd
}

// walletFileFlag registers --wallet-file and returns a function that
// resolves it as run does.
func walletFileFlag(cmd *cobra.Command) func() (string, error) {
	var o runOptions
	cmd.Flags().StringVar(&o.walletFile, "wallet-file", "", "node wallet file (default as for run)")
	return func() (string, error) {
		if v := os.Getenv("KLOAK_WALLET_FILE"); v != "" && !cmd.Flags().Changed("wallet-file") {
			o.walletFile = v
		}
		return o.walletPath()
	}
}

// newWalletFile resolves the --network and the --wallet-file (path) of a
// command that creates the node wallet, and refuses a file that exists.
func newWalletFile(network string, path func() (string, error)) (net address.Network, file string, err error) {
	if net, err = address.ParseNetwork(network); err != nil {
		return net, "", fmt.Errorf("--network: %w", err)
	}
	if file, err = path(); err != nil {
		return net, "", err
	}
	return net, file, cli.RefuseExisting(file)
}

func newWalletCreateCmd() *cobra.Command {
	var network string
	cmd := &cobra.Command{
		Use:   "create [--wallet-file FILE] [--network mainnet]",
		Short: "Create the node wallet with a new 24-word mnemonic and print the mnemonic once",
		Long: `create makes a new node wallet file (it never replaces one) with a new 24-word
BIP39 mnemonic and standard BIP44 derivation, and prints the mnemonic once.
The password comes from $` + passwordEnv + ` or is asked twice on the terminal.`,
		Args: cobra.NoArgs,
	}
	path := walletFileFlag(cmd)
	cmd.Flags().StringVar(&network, "network", "mainnet", cli.NetworkUsage)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		net, p, err := newWalletFile(network, path)
		if err != nil {
			return err
		}
		ctx, stop := cli.Interruptible(cmd)
		defer stop()
		w, err := createWallet(ctx, p, net, cmd.OutOrStdout(), cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		return w.Close()
	}
	return cmd
}

func newWalletImportPythonCmd() *cobra.Command {
	var network, pythonFile string
	cmd := &cobra.Command{
		Use:   "import-python --python-wallet OLD.enc [--wallet-file FILE] [--network mainnet]",
		Short: "Make a node wallet from a Python kloak node's wallet file",
		Long: `import-python decrypts the wallet file of a Python kloak node (kloak v1,
kloak_wallet.enc) and creates a new node wallet from the same mnemonic with
STANDARD derivation (BIP44 m/44'/111111'/0', the addresses Kaspa-NG and
kaspawallet show for those words). The Python node derived its keys in its own
non-standard way: those legacy keys are imported into the new file too, and
their addresses listed, because the coins on them are found by no standard
wallet. Sweep them to a standard address with the console command
"sweep --legacy ADDRESS" of kloaknode run.

The Python wallet's password comes from $` + pythonPasswordEnv + `, the new
wallet's from $` + passwordEnv + `; either is asked on the terminal otherwise.`,
		Args: cobra.NoArgs,
	}
	path := walletFileFlag(cmd)
	cmd.Flags().StringVar(&pythonFile, "python-wallet", "", "the Python node's wallet file (kloak_wallet.enc)")
	cmd.Flags().StringVar(&network, "network", "mainnet", "network of the new wallet: mainnet, testnet, devnet or simnet")
	cmd.MarkFlagRequired("python-wallet")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		net, p, err := newWalletFile(network, path)
		if err != nil {
			return err
		}
		data, err := cli.ReadFile(pythonFile, cli.MaxInput)
		if err != nil {
			return err
		}
		ctx, stop := cli.Interruptible(cmd)
		defer stop()
		stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()

		old, err := pythonPassword.Read(ctx, stderr)
		if err != nil {
			return err
		}
		py, err := wallet.ImportPythonWallet(data, old)
		clear(old)
		if err != nil {
			return fmt.Errorf("%s: %w", pythonFile, err)
		}
		defer py.Zero()

		password, err := newWalletPassword.Read(ctx, stderr)
		if err != nil {
			return err
		}
		defer clear(password)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		c, err := cli.CreateWallet(p, password, py.Mnemonic, wallet.CreateOptions{Network: net})
		if err != nil {
			return err
		}
		w := c.Wallet
		defer w.Close()
		if err := w.ImportLegacyKeys(py.Keys); err != nil {
			w.Close()
			os.Remove(p) // a wallet without its legacy keys would hide coins
			return fmt.Errorf("importing the legacy keys: %w", err)
		}

		fmt.Fprintf(stdout, "Created node wallet %s (%v) from the Python wallet's %d-word mnemonic,\n", p, net, len(strings.Fields(py.Mnemonic)))
		fmt.Fprintf(stdout, "with standard derivation m/44'/111111'/0' (first receive address %s).\n", c.FirstReceive)
		fmt.Fprintln(stdout, "The same words, which you already hold, recover it in any standard Kaspa wallet.")
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "Imported %d legacy keys of the Python node's non-standard derivation:\n", len(py.Keys))
		printLegacy(stdout, py.Keys)
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "No standard wallet finds coins on these legacy addresses, and the node does")
		fmt.Fprintln(stdout, "not spend them for its own needs. Their funds must be swept to a standard")
		fmt.Fprintln(stdout, "address, such as the first receive address above: start kloaknode run and")
		fmt.Fprintln(stdout, "type  sweep --legacy ADDRESS  in its console.")
		for _, k := range py.Keys {
			if k.Address.Network() != net {
				fmt.Fprintf(stdout, "Note: the legacy addresses are %v addresses (the Python node made no others); the new wallet is on %v.\n", k.Address.Network(), net)
				break
			}
		}
		return nil
	}
	return cmd
}

func printLegacy(w io.Writer, keys []wallet.LegacyKey) {
	for _, k := range keys {
		var notes []string
		if k.Purpose != "" {
			notes = append(notes, k.Purpose)
		}
		if k.Used {
			notes = append(notes, "used")
		}
		line := fmt.Sprintf("legacy  %-4d %-24s %s", k.Index, k.Path, k.Address)
		if len(notes) > 0 {
			line += " (" + strings.Join(notes, ", ") + ")"
		}
		fmt.Fprintln(w, line)
	}
}

// addressesJSON is the output of `wallet addresses --json`.
type addressesJSON struct {
	Network string          `json:"network"`
	Receive []addressJSON   `json:"receive"`
	Change  []addressJSON   `json:"change"`
	Legacy  []legacyKeyJSON `json:"legacy"`
}

type addressJSON = cli.Address

type legacyKeyJSON struct {
	addressJSON
	Purpose string `json:"purpose,omitempty"`
	Used    bool   `json:"used"`
}

func newWalletAddressesCmd() *cobra.Command {
	var (
		counts cli.AddressCounts
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "addresses [--wallet-file FILE] [--json]",
		Short: "List the node wallet's addresses: receive, change and imported legacy keys",
		Long: `addresses lists the node wallet's receive and change addresses from index 0,
by default those handed out so far (the relay reserves fee addresses 256 at a
time, so there are many), and the addresses of legacy keys imported from a
Python node's wallet. It hands out no address.`,
		Args: cobra.NoArgs,
	}
	path := walletFileFlag(cmd)
	counts.Register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"network", "receive", "change", "legacy"} as JSON`)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := path()
		if err != nil {
			return err
		}
		ctx, stop := cli.Interruptible(cmd)
		defer stop()
		w, l, err := counts.Open(ctx, cmd.ErrOrStderr(), p, walletPassword)
		if err != nil {
			return err
		}
		defer w.Close()
		legacy, err := w.LegacyKeys()
		if err != nil {
			return err
		}
		out := addressesJSON{Network: w.Network().String(), Receive: l.Receive, Change: l.Change, Legacy: []legacyKeyJSON{}}
		for _, k := range legacy {
			out.Legacy = append(out.Legacy, legacyKeyJSON{
				addressJSON: addressJSON{Index: k.Index, Path: k.Path, Address: k.Address.String()},
				Purpose:     k.Purpose, Used: k.Used,
			})
		}
		stdout := cmd.OutOrStdout()
		if asJSON {
			return cli.WriteJSON(stdout, out)
		}
		l.Print(stdout)
		printLegacy(stdout, legacy)
		return nil
	}
	return cmd
}
