package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is kloaknode's version, set at build time with
// -ldflags "-X main.version=v1.2.3"; otherwise the module version, if any.
var version = ""

// protocolVersion is the KPP version kloaknode speaks (the original's
// "1.0.0", also in its pulses).
const protocolVersion = "1.0.0"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "kloaknode:", err)
		}
		os.Exit(1)
	}
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v + " (KPP " + protocolVersion + ")"
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "kloaknode",
		Short: "Run a kloak node: a blind relay for KPP payjoins on Kaspa",
		Long: `kloaknode runs a kloak node: the WebSocket relay that pairs the receiver and the
sender of a Kloak Payment Protocol payjoin and relays their encrypted messages,
with a fee address from the node's own wallet for each pairing. "kloaknode run"
runs the node, with an operator console on its terminal; "kloaknode wallet"
creates, imports (from a Python kloak node) and lists the node wallet.

The wallet password comes from $` + passwordEnv + ` if it is set, otherwise
from the terminal without echo.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("kloaknode {{.Version}}\n")
	root.AddCommand(newRunCmd(), newWalletCmd())
	return root
}
