package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
)

// NetworkUsage is the help of a --network flag that address.ParseNetwork
// reads.
const NetworkUsage = "network: mainnet, testnet, devnet or simnet"

// Interruptible returns cmd's context (context.Background if it has none),
// ended by the first os.Interrupt (Ctrl+C), which it then no longer kills
// the process with. Call cancel to stop catching it.
func Interruptible(cmd *cobra.Command) (ctx context.Context, cancel context.CancelFunc) {
	ctx = cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt)
}

// WriteJSON writes v to w as JSON indented by two spaces, with a final
// newline: the output of the commands that print one JSON document.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
