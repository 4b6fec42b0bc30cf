package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

// maxPythonWalletFile bounds what import-python reads: the Python node's
// file holds a few hundred bytes per address.
const maxPythonWalletFile = 16 << 20

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

// refuseExisting fails if path exists: asking first spares a password
// prompt that cannot succeed (wallet.Create checks again, atomically).
func refuseExisting(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w; not replacing it", path, wallet.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt)
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
	cmd.Flags().StringVar(&network, "network", "mainnet", "network: mainnet, testnet, devnet or simnet")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		net, err := address.ParseNetwork(network)
		if err != nil {
			return fmt.Errorf("--network: %w", err)
		}
		p, err := path()
		if err != nil {
			return err
		}
		if err := refuseExisting(p); err != nil {
			return err
		}
		ctx, stop := interruptible(cmd)
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
		net, err := address.ParseNetwork(network)
		if err != nil {
			return fmt.Errorf("--network: %w", err)
		}
		p, err := path()
		if err != nil {
			return err
		}
		if err := refuseExisting(p); err != nil {
			return err
		}
		data, err := readLimited(pythonFile, maxPythonWalletFile)
		if err != nil {
			return err
		}
		ctx, stop := interruptible(cmd)
		defer stop()
		stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()

		old, err := readPassword(ctx, stderr, pythonPassword)
		if err != nil {
			return err
		}
		py, err := wallet.ImportPythonWallet(data, old)
		clear(old)
		if err != nil {
			return fmt.Errorf("%s: %w", pythonFile, err)
		}
		defer py.Zero()

		password, err := readPassword(ctx, stderr, newWalletPassword)
		if err != nil {
			return err
		}
		defer clear(password)
		if len(password) == 0 {
			return errors.New("the wallet password must not be empty")
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		w, err := wallet.Create(p, password, py.Mnemonic, wallet.CreateOptions{Network: net})
		if err != nil {
			return err
		}
		defer w.Close()
		if err := w.ImportLegacyKeys(py.Keys); err != nil {
			w.Close()
			os.Remove(p) // a wallet without its legacy keys would hide coins
			return fmt.Errorf("importing the legacy keys: %w", err)
		}
		acct, err := w.Account()
		if err != nil {
			return err
		}
		first, err := acct.Receive(0)
		if err != nil {
			return err
		}
		first.Zero()

		fmt.Fprintf(stdout, "Created node wallet %s (%v) from the Python wallet's %d-word mnemonic,\n", p, net, len(strings.Fields(py.Mnemonic)))
		fmt.Fprintf(stdout, "with standard derivation m/44'/111111'/0' (first receive address %s).\n", first.Address)
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

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// addressesJSON is the output of `wallet addresses --json`.
type addressesJSON struct {
	Network string          `json:"network"`
	Receive []addressJSON   `json:"receive"`
	Change  []addressJSON   `json:"change"`
	Legacy  []legacyKeyJSON `json:"legacy"`
}

type addressJSON struct {
	Index   uint32 `json:"index"`
	Path    string `json:"path"`
	Address string `json:"address"`
}

type legacyKeyJSON struct {
	addressJSON
	Purpose string `json:"purpose,omitempty"`
	Used    bool   `json:"used"`
}

// maxListed bounds --receive and --change.
const maxListed = 100_000

func newWalletAddressesCmd() *cobra.Command {
	var (
		receive, change uint32
		asJSON          bool
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
	cmd.Flags().Uint32Var(&receive, "receive", 0, "number of receive addresses (default: those handed out so far, at least 1)")
	cmd.Flags().Uint32Var(&change, "change", 0, "number of change addresses (default: those handed out so far)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"network", "receive", "change", "legacy"} as JSON`)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := path()
		if err != nil {
			return err
		}
		ctx, stop := interruptible(cmd)
		defer stop()
		password, err := readPassword(ctx, cmd.ErrOrStderr(), walletPassword)
		if err != nil {
			return err
		}
		w, err := wallet.Open(p, password)
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
		if receive > maxListed || change > maxListed {
			return fmt.Errorf("at most %d addresses per chain", maxListed)
		}
		acct, err := w.Account()
		if err != nil {
			return err
		}
		out := addressesJSON{Network: w.Network().String(), Receive: []addressJSON{}, Change: []addressJSON{}, Legacy: []legacyKeyJSON{}}
		for c, n := range []uint32{receive, change} {
			for i := range n {
				derive := acct.Receive
				if c == 1 {
					derive = acct.Change
				}
				k, err := derive(i)
				if errors.Is(err, wallet.ErrInvalidChild) {
					continue // BIP32 skips the index
				}
				if err != nil {
					return err
				}
				k.Zero()
				a := addressJSON{Index: i, Path: k.Path, Address: k.Address.String()}
				if c == 0 {
					out.Receive = append(out.Receive, a)
				} else {
					out.Change = append(out.Change, a)
				}
			}
		}
		legacy, err := w.LegacyKeys()
		if err != nil {
			return err
		}
		for _, k := range legacy {
			out.Legacy = append(out.Legacy, legacyKeyJSON{
				addressJSON: addressJSON{Index: k.Index, Path: k.Path, Address: k.Address.String()},
				Purpose:     k.Purpose, Used: k.Used,
			})
		}
		stdout := cmd.OutOrStdout()
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		for _, a := range out.Receive {
			fmt.Fprintf(stdout, "receive %-4d %-24s %s\n", a.Index, a.Path, a.Address)
		}
		for _, a := range out.Change {
			fmt.Fprintf(stdout, "change  %-4d %-24s %s\n", a.Index, a.Path, a.Address)
		}
		printLegacy(stdout, legacy)
		return nil
	}
	return cmd
}
