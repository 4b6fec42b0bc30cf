package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/wallet"
)

// nodeFlags are the flags of the commands that talk to a Kaspa node.
type nodeFlags struct {
	walletFile string
	kaspad     string
	maturity   uint64
	asJSON     bool
}

func (f *nodeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.walletFile, "wallet-file", "", "wallet file")
	cmd.Flags().StringVar(&f.kaspad, "kaspad", "127.0.0.1:16110", "Kaspa node gRPC address (host:port), started with --utxoindex")
	cmd.Flags().Uint64Var(&f.maturity, "coinbase-maturity", 0, cli.CoinbaseMaturityUsage)
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print one JSON object per line instead of text")
	cmd.MarkFlagRequired("wallet-file")
}

// session is an open wallet and node connection.
type session struct {
	w      *wallet.Wallet
	client *node.Client
	funds  *wallet.Funds
	net    address.Network
}

// run opens the wallet file and connects it to the node, with Ctrl+C
// ending ctx, and calls do with them and the command's printer.
func (f *nodeFlags) run(cmd *cobra.Command, do func(ctx context.Context, s *session, out printer) error) error {
	ctx, cancel := cli.Interruptible(cmd)
	defer cancel()
	w, err := cli.OpenWallet(ctx, cmd.ErrOrStderr(), f.walletFile, walletPassword)
	if err != nil {
		return err
	}
	s, err := f.attach(ctx, w)
	if err != nil {
		w.Close()
		return err
	}
	defer s.close()
	return do(ctx, s, printer{cmd.OutOrStdout(), f.asJSON})
}

// attach connects the open wallet w to the node; closing the session
// closes w.
func (f *nodeFlags) attach(ctx context.Context, w *wallet.Wallet) (*session, error) {
	client, err := node.Dial(ctx, f.kaspad, node.Options{})
	if err != nil {
		return nil, err
	}
	maturity := cli.CoinbaseMaturity(f.maturity, w.Network())
	return &session{w: w, client: client, net: w.Network(),
		funds: w.Funds(client, wallet.FundsOptions{CoinbaseMaturity: maturity})}, nil
}

func (s *session) close() {
	s.client.Close()
	s.w.Close()
}

// printer writes progress as text for people or JSON lines for scripts.
type printer struct {
	out    io.Writer
	asJSON bool
}

func (p printer) emit(event string, text string, fields map[string]any) {
	if p.asJSON {
		m := map[string]any{"event": event}
		for k, v := range fields {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		fmt.Fprintln(p.out, string(b))
		return
	}
	fmt.Fprintln(p.out, text)
}

func stepEvents(p printer) func(kpp.Event) {
	return func(ev kpp.Event) {
		f := map[string]any{"step": ev.Step.String()}
		text := "… " + ev.Step.String()
		if !ev.TransactionID.IsZero() {
			f["transactionId"] = ev.TransactionID.String()
			text += " (" + ev.TransactionID.String() + ")"
		}
		p.emit("step", text, f)
	}
}

func newReceiveCmd() *cobra.Command {
	var (
		nf       nodeFlags
		amt      string
		relayURL string
		payload  string
		wait     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "receive --wallet-file FILE --amount KAS --relay URL",
		Short: "Ask for a payment by KPP payjoin: print the payment request, then wait for the sender",
		Long: `receive contributes one of the wallet's coins and two fresh addresses to a
payjoin, prints the payment request (a kaspa: URI to show as a QR code) and waits
at the relay for a sender. It signs only a transaction that pays it exactly the
amount on top of its own coin, and reports success only once its own node shows
the transaction.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := amount.ParseKAS(amt)
			if err != nil {
				return err
			}
			return nf.run(cmd, func(ctx context.Context, s *session, out printer) error {
				r, err := kpp.ReceiverInitiate(ctx, kpp.ReceiverConfig{
					Network: s.net, RelayURL: relayURL, Amount: p, Payload: payload,
					Wallet: s.funds, Chain: s.client, OnEvent: stepEvents(out),
					Timeouts: kpp.Timeouts{Pair: wait},
				})
				if err != nil {
					return err
				}
				out.emit("request", "Payment request (show it to the sender):\n"+r.URI(), map[string]any{"uri": r.URI(), "amount": p.KAS()})
				res, err := r.Wait(ctx)
				if err != nil {
					return err
				}
				out.emit("done", fmt.Sprintf("Received %s in payjoin %s", res.Received, res.TransactionID),
					map[string]any{"transactionId": res.TransactionID.String(), "received": res.Received.KAS()})
				return nil
			})
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&amt, "amount", "", "amount to receive, in KAS (e.g. 10.5)")
	cmd.Flags().StringVar(&relayURL, "relay", "", "relay node's WebSocket URL, e.g. ws://relay.example:8765/kpp")
	cmd.Flags().StringVar(&payload, "payload", "kpp", "free text carried in the payment request")
	cmd.Flags().DurationVar(&wait, "wait", 5*time.Minute, "how long to wait for a sender")
	cmd.MarkFlagRequired("amount")
	cmd.MarkFlagRequired("relay")
	return cmd
}

func newPayCmd() *cobra.Command {
	var (
		nf  nodeFlags
		yes bool
	)
	cmd := &cobra.Command{
		Use:   "pay URI --wallet-file FILE",
		Short: "Pay a KPP payment request by payjoin",
		Long: `pay meets the receiver at the relay named in the payment request, checks the
receiver's coin on your own node, builds the payjoin, checks the receiver's
signature, shows what you pay (amount, node fee, network fee) and, once you agree
(or with --yes), signs your input and broadcasts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Without --yes the payment is confirmed on a terminal: say so
			// before pairing, not after the receiver has signed.
			if !yes && !cli.StdinIsTerminal() {
				return errNoConfirm
			}
			return nf.run(cmd, func(ctx context.Context, s *session, out printer) error {
				prop, err := kpp.SenderPrepare(ctx, args[0], kpp.SenderConfig{
					Network: s.net, Wallet: s.funds, Chain: s.client, OnEvent: stepEvents(out),
				})
				if err != nil {
					return err
				}
				debit := prop.Payment() + prop.NodeFee() + prop.NetworkFee()
				out.emit("quote", fmt.Sprintf("Pay %s + node fee %s + network fee %s = %s", prop.Payment(), prop.NodeFee(), prop.NetworkFee(), debit),
					map[string]any{"payment": prop.Payment().KAS(), "nodeFee": prop.NodeFee().KAS(), "networkFee": prop.NetworkFee().KAS(), "total": debit.KAS()})
				if !yes {
					ok, err := confirm(cmd, "Sign and broadcast? [y/N] ")
					if err != nil || !ok {
						prop.Abort(fmt.Errorf("the sender declined"))
						if err != nil {
							return err
						}
						return fmt.Errorf("not paid")
					}
				}
				res, err := prop.SignAndFinalize(ctx)
				if err != nil {
					return err
				}
				out.emit("done", fmt.Sprintf("Paid %s in payjoin %s", res.Debit, res.TransactionID),
					map[string]any{"transactionId": res.TransactionID.String(), "debit": res.Debit.KAS()})
				return nil
			})
		},
	}
	nf.register(cmd)
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask before signing")
	return cmd
}

// errNoConfirm: send and pay ask before they broadcast, on the terminal.
var errNoConfirm = &cli.NotTerminalError{Purpose: "confirm the payment", Remedy: "use --yes"}

func confirm(cmd *cobra.Command, question string) (bool, error) {
	if !cli.StdinIsTerminal() {
		return false, errNoConfirm
	}
	fmt.Fprint(cmd.ErrOrStderr(), question)
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
