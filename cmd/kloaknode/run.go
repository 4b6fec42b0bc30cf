package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/kloakprotocol/kloak/discovery"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/wallet"
)

// Bounds of the steps of run.
const (
	kaspadTimeout   = 20 * time.Second // connect and GetInfo
	shutdownTimeout = 10 * time.Second // relay.Server.Shutdown after a signal
)

// runOptions are run's flags, after the environment is applied.
type runOptions struct {
	wsPort     int
	wsBind     string
	walletFile string
	kaspad     string
	network    string
	feeMin     string
	feeUnit    string
	feeMax     string
	logLevel   string
	logFormat  string
	maturity   uint64
	publicURL  string
	interval   time.Duration
}

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the node: connect to kaspad, open (or create) the node wallet, serve the relay",
		Long: `run connects to kaspad and checks its network, opens the node wallet (creating it,
and printing its new mnemonic once, if the file does not exist), and serves the
KPP relay at ws://BIND:PORT/kpp until SIGINT or SIGTERM, which shut it down
gracefully: every connected wallet is told, and run waits up to 10 s for them.

When standard input is a terminal, run also offers the operator console there:
type help at its "> " prompt (status, balance, fundaddr, pulse, sessions, sweep).
Logs go to standard error (--log-format text or json).

Environment (a flag given on the command line wins):
  KLOAK_WS_PORT          --ws-port (used only if all digits)
  KLOAK_WS_BIND          --ws-bind
  KLOAK_WALLET_FILE      --wallet-file
  KLOAK_NODE_CACHE_DIR   directory of the default wallet file (else KLOAK_CACHE_DIR,
                         else the user configuration directory + /kloaknode)
  ` + passwordEnv + `  the wallet password (else asked on the terminal)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd.ErrOrStderr(), o.logFormat, o.logLevel)
			if err != nil {
				return err
			}
			var warnings strings.Builder
			o.applyEnv(cmd.Flags().Changed, &warnings)
			for _, w := range strings.Split(strings.TrimSpace(warnings.String()), "\n") {
				if w != "" {
					log.Warn(w)
				}
			}
			err = run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), log, o)
			if err != nil && o.logFormat == logJSON {
				log.Error("kloaknode: " + err.Error())
				return reportedError{err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.wsPort, "ws-port", 8765, "relay port (0: any free port)")
	f.StringVar(&o.wsBind, "ws-bind", "0.0.0.0", "relay bind address")
	f.StringVar(&o.walletFile, "wallet-file", "", "node wallet file (default $KLOAK_NODE_CACHE_DIR or $KLOAK_CACHE_DIR, else the user configuration directory + /kloaknode, then /"+walletFileName+")")
	f.StringVar(&o.kaspad, "kaspad", "127.0.0.1:16110", "kaspad gRPC address host:port")
	f.StringVar(&o.network, "network", "mainnet", cli.NetworkUsage)
	f.StringVar(&o.feeMin, "fee-min", "0.2", "smallest node fee in KAS, announced to senders")
	f.StringVar(&o.feeUnit, "fee-unit", "0.1", "node fee unit in KAS (with --fee-max 0: a sender's debit is a multiple of it)")
	f.StringVar(&o.feeMax, "fee-max", "0.3", "largest node fee in KAS: senders pay from --fee-min to it, whatever the payment; 0 ties the fee to the payment as the Python node does (an observer can then read more: PRIVACY.md)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error (IP addresses are logged only at debug)")
	f.StringVar(&o.publicURL, "public-url", "", "the relay's URL as wallets reach it, e.g. wss://relay.example/kpp; advertised in pulses (no pulses without it; kloaknode never asks third parties for its IP)")
	f.DurationVar(&o.interval, "pulse-interval", discovery.DefaultPulseInterval, "time between discovery pulses (at least 30s)")
	f.StringVar(&o.logFormat, "log-format", logText, "log format on standard error: text (key=value) or json (one object per line)")
	f.Uint64Var(&o.maturity, "coinbase-maturity", 0, cli.CoinbaseMaturityUsage)
	return cmd
}

// applyEnv applies the original's environment variables to the flags not
// given on the command line (changed reports those).
func (o *runOptions) applyEnv(changed func(flag string) bool, warn io.Writer) {
	if v, ok := os.LookupEnv("KLOAK_WS_PORT"); ok && !changed("ws-port") {
		if p, err := strconv.Atoi(v); err == nil && allDigits(v) && p <= 65535 {
			o.wsPort = p
		} else {
			fmt.Fprintf(warn, "kloaknode: ignoring KLOAK_WS_PORT=%q: not a port number\n", v)
		}
	}
	if v := os.Getenv("KLOAK_WS_BIND"); v != "" && !changed("ws-bind") {
		o.wsBind = v
	}
	if v := os.Getenv("KLOAK_WALLET_FILE"); v != "" && !changed("wallet-file") {
		o.walletFile = v
	}
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// walletFileName is the default wallet file's name. The Python node's was
// kloak_wallet.enc, in another format (kloakwallet imports it).
const walletFileName = "kloak_wallet.kloak"

// walletPath returns --wallet-file or the default path.
func (o *runOptions) walletPath() (string, error) {
	if o.walletFile != "" {
		return o.walletFile, nil
	}
	for _, env := range []string{"KLOAK_NODE_CACHE_DIR", "KLOAK_CACHE_DIR"} {
		if d := os.Getenv(env); d != "" {
			return filepath.Join(d, walletFileName), nil
		}
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no --wallet-file given and no user configuration directory: %w", err)
	}
	return filepath.Join(d, "kloaknode", walletFileName), nil
}

func (o *runOptions) feePolicy() (kpp.FeePolicy, error) {
	min, err := amount.ParseKAS(o.feeMin)
	if err != nil {
		return kpp.FeePolicy{}, fmt.Errorf("--fee-min: %w", err)
	}
	unit, err := amount.ParseKAS(o.feeUnit)
	if err != nil {
		return kpp.FeePolicy{}, fmt.Errorf("--fee-unit: %w", err)
	}
	if unit == 0 {
		return kpp.FeePolicy{}, errors.New("--fee-unit must be more than 0")
	}
	max, err := amount.ParseKAS(o.feeMax)
	if err != nil {
		return kpp.FeePolicy{}, fmt.Errorf("--fee-max: %w", err)
	}
	if max != 0 && max < min {
		return kpp.FeePolicy{}, fmt.Errorf("--fee-max %s is under --fee-min %s (0 ties the fee to the payment)", max.KAS(), min.KAS())
	}
	if max != 0 && min == 0 {
		return kpp.FeePolicy{}, errors.New("--fee-max needs a --fee-min above 0 (an output of 0 sompi is invalid)")
	}
	return kpp.FeePolicy{Min: min, Unit: unit, Max: max}, nil
}

// run is the node: everything before the listening line fails fast with
// a clear error; after it, only a signal (or a dead listener) stops it.
func run(ctx context.Context, stdout, stderr io.Writer, log *slog.Logger, o runOptions) error {
	network, err := address.ParseNetwork(o.network)
	if err != nil {
		return fmt.Errorf("--network: %w", err)
	}
	policy, err := o.feePolicy()
	if err != nil {
		return err
	}
	if o.wsPort < 0 || o.wsPort > 65535 {
		return fmt.Errorf("--ws-port %d is not a port number", o.wsPort)
	}
	walletPath, err := o.walletPath()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Standard input feeds the console only when a person is at it.
	var in *lineInput
	consoleOff := ""
	switch {
	case !term.IsTerminal(int(os.Stdin.Fd())):
		consoleOff = "stdin not a terminal"
	case inBackground(int(os.Stdin.Fd())):
		// Reading the terminal from the background would stop the node.
		consoleOff = "running in the background of its terminal"
	default:
		in = newLineInput(os.Stdin)
	}

	kaspad, err := connectKaspad(ctx, o.kaspad, network, log)
	if err != nil {
		return err
	}
	defer kaspad.Close()

	w, err := openOrCreateWallet(ctx, walletPath, network, stdout, stderr, in, log)
	if err != nil {
		return err
	}
	defer w.Close()
	log.Info("kloaknode: wallet open", "file", walletPath, "network", network.String(), "next_receive_index", w.NextReceiveIndex())
	maturity := cli.CoinbaseMaturity(o.maturity, network)
	funds := w.Funds(kaspad, wallet.FundsOptions{CoinbaseMaturity: maturity})

	srv, err := relay.New(relay.Config{
		FeeAddresses: relay.NewWalletFeeAddresses(w, 0),
		FeePolicy:    policy,
		Logger:       log,
	})
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(o.wsBind, strconv.Itoa(o.wsPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("relay: cannot listen on %s: %w", addr, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "ws://" + ln.Addr().String() + relay.Path
	if o.logFormat == logJSON {
		log.Info("kloaknode: relay listening", "url", url)
	} else {
		fmt.Fprintf(stderr, "kloaknode: relay listening on %s\n", url)
	}
	log.Info("kloaknode: running", "version", versionString(), "fee_min", policy.Min.KAS(), "fee_unit", policy.Unit.KAS(), "fee_max", policy.Max.KAS())

	var pulses pulser
	if o.publicURL == "" {
		log.Info("kloaknode: discovery pulses off: set --public-url to advertise this relay")
	} else {
		p, err := discovery.NewPulser(discovery.PulserConfig{
			Chain: kaspad, Wallet: funds, Network: network, PublicURL: o.publicURL,
			Interval: o.interval, FeePolicy: &policy, Logger: log,
		})
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
		pulsed := make(chan struct{})
		go func() { defer close(pulsed); p.Run(ctx) }()
		defer func() { <-pulsed }()
		pulses = discoveryPulser{p}
	}

	consoleDone := make(chan struct{})
	if in == nil {
		log.Info("kloaknode: operator console disabled (" + consoleOff + ")")
		close(consoleDone)
	} else {
		c := &console{
			out: stdout, in: in, log: log, network: network, relayURL: url, kaspadAddr: o.kaspad,
			chain: kaspad, funds: funds, relay: srv, pulses: pulses, legacy: w, maturity: maturity,
		}
		go func() {
			defer close(consoleDone)
			c.run(ctx)
		}()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
		serveErr = fmt.Errorf("relay stopped: %w", serveErr)
	}
	stop() // from here a second signal stops the process the default way
	log.Info("kloaknode: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("kloaknode: shutdown incomplete", "err", err)
	}
	if serveErr == nil {
		<-served
	}
	select { // the console's work all takes ctx, which has ended
	case <-consoleDone:
	case <-sctx.Done():
	}
	st := srv.Stats()
	log.Info("kloaknode: stopped", slog.Group("stats", "connections", st.Connections, "pending", st.Pending, "waiting", st.Waiting, "bridged", st.Bridged, "served", st.Served))
	return serveErr
}

// connectKaspad dials kaspad and checks that it runs network.
func connectKaspad(ctx context.Context, addr string, network address.Network, log *slog.Logger) (*node.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, kaspadTimeout)
	defer cancel()
	c, err := node.Dial(ctx, addr, node.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("cannot reach kaspad at %s (--kaspad): %w", addr, err)
	}
	info, err := c.ServerInfo(ctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("kaspad at %s: %w", addr, err)
	}
	if !sameNetwork(info.Network, network) {
		c.Close()
		return nil, fmt.Errorf("kaspad at %s runs %s, not %s (--network %s)", addr, info.Network, "kaspa-"+network.String(), network)
	}
	log.Info("kloaknode: kaspad connected", "node", addr, "network", info.Network, "version", info.Version, "synced", info.Synced, "utxoindex", info.UTXOIndex)
	return c, nil
}

// sameNetwork reports whether kaspad's network name ("kaspa-mainnet",
// "kaspa-testnet-10", ...) is network.
func sameNetwork(kaspadName string, network address.Network) bool {
	name, ok := strings.CutPrefix(kaspadName, "kaspa-")
	return ok && (name == network.String() || strings.HasPrefix(name, network.String()+"-"))
}
