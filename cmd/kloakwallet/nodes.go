package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/discovery"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/node"
)

func newNodesCmd() *cobra.Command {
	var (
		kaspad, network, cacheFile string
		window                     time.Duration
		asJSON, noProbe            bool
	)
	cmd := &cobra.Command{
		Use:   "nodes --kaspad ADDR",
		Short: "Find kloak relay nodes by their pulses on the chain and pick the fastest",
		Long: `nodes scans the blocks of the last --window on your Kaspa node for relay pulses
(transactions whose payload advertises a relay), lists the relays newest first
with their fee policy, and probes the newest three with a real KPP handshake to
pick the fastest. The pick is remembered in a cache file ($KLOAK_NODE_CACHE_PATH,
else node_cache.json in the user cache directory) and used when no relay answers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			net, err := address.ParseNetwork(network)
			if err != nil {
				return err
			}
			ctx, cancel := cli.Interruptible(cmd)
			defer cancel()
			client, err := node.Dial(ctx, kaspad, node.Options{})
			if err != nil {
				return err
			}
			defer client.Close()
			out := printer{cmd.OutOrStdout(), asJSON}
			progressLine := !asJSON && term.IsTerminal(int(os.Stderr.Fd()))
			pulses, err := discovery.Scan(ctx, client, discovery.ScanOptions{
				Window:         window,
				AllowLocalURLs: net == address.Devnet || net == address.Simnet,
				Progress: func(p discovery.ScanProgress) {
					if progressLine {
						fmt.Fprintf(cmd.ErrOrStderr(), "\rscanning: %d blocks, %d pulses", p.Blocks, p.Pulses)
						if p.Done {
							fmt.Fprintln(cmd.ErrOrStderr())
						}
					}
				},
			})
			if errors.Is(err, discovery.ErrBlockLimit) {
				out.emit("warning", "warning: "+err.Error()+" (showing what was found)", map[string]any{"warning": err.Error()})
			} else if err != nil {
				return err
			}
			for _, p := range pulses {
				pol := p.FeePolicy()
				fee := fmt.Sprintf("fee min %s, unit %s", pol.Min, pol.Unit)
				fields := map[string]any{"url": p.WSURL, "blockTime": p.BlockTime.UTC().Format(time.RFC3339), "transactionId": p.TransactionID.String(),
					"feeMin": pol.Min.KAS(), "feeUnit": pol.Unit.KAS()}
				if pol.Max != 0 {
					fee = fmt.Sprintf("fee %s to %s", pol.Min, pol.Max)
					fields["feeMax"] = pol.Max.KAS()
				}
				out.emit("relay", fmt.Sprintf("%s  %s  %s", p.BlockTime.UTC().Format(time.RFC3339), p.WSURL, fee), fields)
			}
			if len(pulses) == 0 {
				out.emit("none", fmt.Sprintf("No relay pulsed in the last %v.", window), map[string]any{"relays": 0})
			}
			if noProbe {
				return nil
			}
			if cacheFile == "" {
				cacheFile = defaultNodeCache()
			}
			sel, err := discovery.Select(ctx, pulses, discovery.SelectOptions{CacheFile: cacheFile})
			for _, pr := range sel.Probes {
				if pr.Err != nil {
					out.emit("probe", fmt.Sprintf("probe %s: %v", pr.URL, pr.Err), map[string]any{"url": pr.URL, "error": pr.Err.Error()})
				} else {
					out.emit("probe", fmt.Sprintf("probe %s: %v", pr.URL, pr.Latency.Round(time.Microsecond)), map[string]any{"url": pr.URL, "latencyMs": float64(pr.Latency.Microseconds()) / 1000})
				}
			}
			if err != nil {
				if len(pulses) == 0 {
					return nil
				}
				return err
			}
			text := fmt.Sprintf("Selected %s (%v)", sel.URL, sel.Latency.Round(time.Microsecond))
			if sel.FromCache {
				text = fmt.Sprintf("No relay answered; using the cached %s (saved %s)", sel.URL, sel.CachedAt.Format(time.RFC3339))
			}
			out.emit("selected", text, map[string]any{"url": sel.URL, "fromCache": sel.FromCache, "latencyMs": float64(sel.Latency.Microseconds()) / 1000})
			return nil
		},
	}
	cmd.Flags().StringVar(&kaspad, "kaspad", "127.0.0.1:16110", "Kaspa node gRPC address (host:port)")
	cmd.Flags().StringVar(&network, "network", "mainnet", cli.NetworkUsage)
	cmd.Flags().DurationVar(&window, "window", 2*discovery.DefaultPulseInterval, "how far back to look for pulses")
	cmd.Flags().StringVar(&cacheFile, "cache-file", "", "relay cache file (default $KLOAK_NODE_CACHE_PATH, else node_cache.json in the user cache directory)")
	cmd.Flags().BoolVar(&noProbe, "no-probe", false, "list the relays without probing them")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line instead of text")
	return cmd
}

func defaultNodeCache() string {
	if p := os.Getenv("KLOAK_NODE_CACHE_PATH"); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "kloak", discovery.CacheFileName)
}
