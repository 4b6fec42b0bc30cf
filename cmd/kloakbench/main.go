//go:build linux

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "kloakbench:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "kloakbench",
		Short: "Load and measure a kloak relay on this machine's loopback",
		Long: `kloakbench measures the kloak relay (package relay) on this machine: it sends
load only to 127.0.0.1 (or ::1), bounded in count and time, and stops by
itself.

  kloakbench load   complete KPP sessions: sessions/s, latency, errors, RSS
  kloakbench idle   receivers waiting for their sender: RSS per receiver,
                    and whether the memory comes back when they leave
  kloakbench serve  the relay alone, for load from another process`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newLoadCmd(), newIdleCmd(), newServeCmd(), newPrivacyCmd())
	return root
}
