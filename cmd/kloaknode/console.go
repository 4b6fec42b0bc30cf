package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// consoleTimeout bounds the kaspad and wallet work of one console command
// (not the wait for the operator's answer); statusTimeout bounds status,
// which should answer quickly even when kaspad does not.
const (
	consoleTimeout = 60 * time.Second
	statusTimeout  = 10 * time.Second
)

// chain is the kaspad access the console needs; *node.Client has it.
type chain interface {
	ServerInfo(ctx context.Context) (node.ServerInfo, error)
	FeeRate(ctx context.Context) (txbuild.FeeRate, error)
	SubmitTransaction(ctx context.Context, tx *txbuild.Transaction) (txbuild.Hash, error)
	UTXOsByAddresses(ctx context.Context, addrs []address.Address) ([]txbuild.UTXO, error)
	VirtualDAAScore(ctx context.Context) (uint64, error)
}

// coins is the node wallet's money as the console uses it; *wallet.Funds
// has it.
type coins interface {
	Balances(ctx context.Context) (wallet.Balances, error)
	UTXOs(ctx context.Context) ([]txbuild.UTXO, error)
	ChangeAddress(ctx context.Context) (address.Address, error)
	Send(ctx context.Context, to address.Address, amt amount.Sompi, rate txbuild.FeeRate, policy txbuild.Policy) (*txbuild.Transaction, []txbuild.UTXOEntry, error)
}

// console is the operator console of `kloaknode run`: a line-mode prompt
// on standard input and output, with the Python node's commands. Logs go
// to standard error, the console's answers to standard output.
type console struct {
	out        io.Writer
	in         *lineInput
	log        *slog.Logger
	network    address.Network
	relayURL   string
	kaspadAddr string
	chain      chain
	funds      coins
	relay      interface{ Stats() relay.Stats }
	pulses     pulser       // nil: not configured
	legacy     legacyWallet // keys imported from a Python node
	maturity   uint64       // coinbase maturity, for the legacy coins
}

// consoleCommand is one command of the console. An entry without names
// only adds a line to help: another form of the command above it.
type consoleCommand struct {
	names []string // lower case; the first is the one help shows
	usage string
	help  string
	run   func(c *console, ctx context.Context, args []string) error
}

func consoleCommands() []consoleCommand {
	return []consoleCommand{
		{[]string{"status"}, "status", "version, relay, kaspad, pulses, sessions and balance", (*console).status},
		{[]string{"balance"}, "balance", "the node wallet's spendable and maturing coins", (*console).balance},
		{[]string{"fundaddr"}, "fundaddr", "a fresh address of the node wallet, with a QR code, to fund it", (*console).fundaddr},
		{[]string{"pulse"}, "pulse", "send a discovery pulse now", (*console).pulse},
		{[]string{"sessions"}, "sessions", "the relay's connections and sessions", (*console).sessions},
		{[]string{"sweep"}, "sweep ADDRESS [--reserve KAS]", "send all but the reserve (default 2 KAS) to ADDRESS, after you confirm", (*console).sweep},
		{nil, "sweep --legacy ADDRESS", "send every coin of the keys imported from a Python node to ADDRESS", nil},
		{[]string{"help", "?"}, "help", "this list", (*console).help},
	}
}

// run prompts and runs commands until ctx ends or the input does. The end
// of input ends the console, not the node.
func (c *console) run(ctx context.Context) {
	c.log.Info("kloaknode: operator console ready; type 'help'")
	for {
		fmt.Fprint(c.out, "> ")
		line, ok, err := c.in.next(ctx)
		if err != nil {
			fmt.Fprintln(c.out)
			return
		}
		if !ok {
			fmt.Fprintln(c.out)
			c.log.Info("kloaknode: operator console closed (end of input); the node keeps running")
			return
		}
		c.exec(ctx, line)
	}
}

// exec runs one line.
func (c *console) exec(ctx context.Context, line string) {
	words, err := splitWords(line)
	if err != nil {
		fmt.Fprintf(c.out, "%v. Type 'help'.\n", err)
		return
	}
	if len(words) == 0 {
		return
	}
	name := strings.ToLower(words[0])
	for _, cmd := range consoleCommands() {
		for _, n := range cmd.names {
			if n != name {
				continue
			}
			if err := cmd.run(c, ctx, words[1:]); err != nil {
				if ctx.Err() != nil {
					fmt.Fprintf(c.out, "%s: interrupted\n", name)
					return
				}
				fmt.Fprintf(c.out, "%s failed: %v\n", name, err)
			}
			return
		}
	}
	fmt.Fprintln(c.out, "Unknown command. Type 'help'.")
}

func (c *console) help(_ context.Context, _ []string) error {
	fmt.Fprintln(c.out, "Commands (case does not matter):")
	for _, cmd := range consoleCommands() {
		usage := cmd.usage
		if len(cmd.names) > 1 {
			usage = strings.Join(cmd.names, ", ")
		}
		fmt.Fprintf(c.out, "  %-31s %s\n", usage, cmd.help)
	}
	fmt.Fprintln(c.out, "Ctrl+C stops the node.")
	return nil
}

func (c *console) status(ctx context.Context, _ []string) error {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	w := c.out
	fmt.Fprintf(w, "Version:   kloaknode %s\n", versionString())
	fmt.Fprintf(w, "Relay:     %s\n", c.relayURL)
	fmt.Fprintf(w, "Network:   %s\n", c.network)
	if info, err := c.chain.ServerInfo(ctx); err != nil {
		fmt.Fprintf(w, "kaspad:    %s, not answering: %v\n", c.kaspadAddr, err)
	} else {
		synced := "synced"
		if !info.Synced {
			synced = "NOT synced"
		}
		index := ""
		if !info.UTXOIndex {
			index = ", no UTXO index (start kaspad with --utxoindex)"
		}
		fmt.Fprintf(w, "kaspad:    %s, version %s, %s, DAA score %d%s\n", c.kaspadAddr, info.Version, synced, info.VirtualDAA, index)
	}
	fmt.Fprintf(w, "Pulses:    %s\n", describePulses(c.pulses))
	fmt.Fprintf(w, "Sessions:  %s\n", describeStats(c.relay.Stats()))
	if b, err := c.funds.Balances(ctx); err != nil {
		fmt.Fprintf(w, "Balance:   unknown: %v\n", err)
	} else {
		fmt.Fprintf(w, "Balance:   %s KAS (%s spendable, %s maturing)\n", (b.Spendable + b.Maturing).KAS(), b.Spendable.KAS(), b.Maturing.KAS())
	}
	return nil
}

// describePulses is the pulse line of status.
func describePulses(p pulser) string {
	if p == nil {
		return "not configured"
	}
	s := p.Status()
	var b strings.Builder
	fmt.Fprintf(&b, "%d sent", s.Sent)
	if !s.LastTx.IsZero() {
		fmt.Fprintf(&b, ", last %s (%s)", s.LastAt.Format(time.DateTime), s.LastTx)
	}
	if !s.NextAt.IsZero() {
		fmt.Fprintf(&b, ", next %s", s.NextAt.Format(time.DateTime))
	}
	if s.PayloadRefused {
		b.WriteString("; kaspad refuses transaction payloads, so no pulse can be sent")
	}
	if s.LastErr != nil {
		fmt.Fprintf(&b, "; last attempt failed: %v", s.LastErr)
	}
	return b.String()
}

func describeStats(s relay.Stats) string {
	return fmt.Sprintf("%d connections, %d receivers waiting, %d senders waiting, %d sessions bridged, %d paired since start",
		s.Connections, s.Pending, s.Waiting, s.Bridged, s.Served)
}

func (c *console) balance(ctx context.Context, _ []string) error {
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	b, err := c.funds.Balances(ctx)
	if err != nil {
		return err
	}
	utxos, err := c.funds.UTXOs(ctx)
	if err != nil {
		return err
	}
	funded := make(map[string]bool)
	for _, u := range utxos {
		funded[u.Address.String()] = true
	}
	fmt.Fprintf(c.out, "Spendable: %s KAS\n", b.Spendable.KAS())
	fmt.Fprintf(c.out, "Maturing:  %s KAS (mined coins not yet spendable)\n", b.Maturing.KAS())
	fmt.Fprintf(c.out, "Addresses with spendable funds: %d\n", len(funded))
	return nil
}

func (c *console) fundaddr(ctx context.Context, _ []string) error {
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	// A change address: pulses spend only the change chain's coins, never
	// the relay fees paid to receive addresses (discovery.Pulser).
	fund, err := c.funds.ChangeAddress(ctx)
	if err != nil {
		return err
	}
	a := fund.String()
	fmt.Fprintf(c.out, "Fund address: %s\n", a)
	if qr, err := drawQR(a); err == nil {
		fmt.Fprint(c.out, qr)
	}
	fmt.Fprintf(c.out, "Send at least %s to it: the node pays its discovery pulses from coins sent here, never from its relay fees.\n", amount.Sompi(defaultReserve))
	return nil
}

func (c *console) pulse(ctx context.Context, _ []string) error {
	if c.pulses == nil {
		fmt.Fprintln(c.out, "Pulses are not configured on this node.")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	fmt.Fprintln(c.out, "Pulse requested.")
	id, err := c.pulses.PulseNow(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Pulse sent: %s\n", id)
	return nil
}

func (c *console) sessions(_ context.Context, _ []string) error {
	s := c.relay.Stats()
	fmt.Fprintf(c.out, "Connections:        %d\n", s.Connections)
	fmt.Fprintf(c.out, "Receivers waiting:  %d\n", s.Pending)
	fmt.Fprintf(c.out, "Senders waiting:    %d (arrived before their receiver)\n", s.Waiting)
	fmt.Fprintf(c.out, "Sessions bridged:   %d\n", s.Bridged)
	fmt.Fprintf(c.out, "Paired since start: %d\n", s.Served)
	return nil
}

// sweep sends everything but a reserve to an address, the original's
// node_sweep_drain, after the operator confirms.
func (c *console) sweep(ctx context.Context, args []string) error {
	a, err := parseSweepArgs(args, c.network)
	if err != nil {
		fmt.Fprintln(c.out, err)
		return nil
	}
	if a.legacy {
		return c.sweepLegacy(ctx, a.to)
	}
	work, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	rate, err := c.chain.FeeRate(work)
	if err != nil {
		return fmt.Errorf("fee rate: %w", err)
	}
	policy := txbuild.PolicyFor(c.network)
	utxos, err := c.funds.UTXOs(work)
	if err != nil {
		return err
	}
	plan, err := planSweep(utxos, a.to, a.reserve, rate, policy)
	if errors.Is(err, errNothingToSweep) {
		fmt.Fprintf(c.out, "Nothing to sweep: %s.\n", strings.TrimPrefix(err.Error(), errNothingToSweep.Error()+": "))
		return nil
	}
	if err != nil {
		return err
	}
	tx, spent, err := c.funds.Send(work, a.to, plan.Amount, rate, policy)
	if err != nil {
		return err
	}
	fee, err := txbuild.Fee(tx, spent)
	if err != nil {
		return err
	}
	var total amount.Sompi
	for _, u := range utxos {
		total += u.Entry.Amount
	}
	fmt.Fprintf(c.out, "Spends %d of %d coins (%s KAS spendable); fee %s KAS; %s KAS stays in the node wallet.\n",
		len(spent), len(utxos), total.KAS(), fee.KAS(), (total - plan.Amount - fee).KAS())
	c.sayLeft(plan)
	cancel() // the operator may take their time
	return c.confirmAndSubmit(ctx, tx, fmt.Sprintf("Sweep %s KAS to %s?", plan.Amount.KAS(), a.to),
		"amount_kas", plan.Amount.KAS(), "fee_kas", fee.KAS(), "inputs", len(spent))
}

// sweepLegacy is sweep --legacy.
func (c *console) sweepLegacy(ctx context.Context, to address.Address) error {
	if c.legacy == nil {
		fmt.Fprintln(c.out, "Nothing to sweep: this node has no legacy keys.")
		return nil
	}
	work, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	rate, err := c.chain.FeeRate(work)
	if err != nil {
		return fmt.Errorf("fee rate: %w", err)
	}
	s, err := c.buildLegacySweep(work, to, rate, txbuild.PolicyFor(c.network))
	if errors.Is(err, errNothingToSweep) {
		fmt.Fprintf(c.out, "Nothing to sweep: %s.\n", strings.TrimPrefix(err.Error(), errNothingToSweep.Error()+": "))
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Spends %d coins of %d legacy addresses; fee %s KAS.\n", s.plan.Inputs, s.addresses, s.fee.KAS())
	c.sayLeft(s.plan)
	cancel()
	return c.confirmAndSubmit(ctx, s.tx, fmt.Sprintf("Sweep %s KAS from the legacy keys to %s?", s.plan.Amount.KAS(), to),
		"legacy", true, "amount_kas", s.plan.Amount.KAS(), "fee_kas", s.fee.KAS(), "inputs", s.plan.Inputs)
}

// sayLeft tells of the coins a sweep leaves for another.
func (c *console) sayLeft(p sweepPlan) {
	if p.Left > 0 {
		fmt.Fprintf(c.out, "A transaction spends at most %d coins: %d coins holding %s KAS stay for another sweep once this one is in a block.\n",
			maxSweepInputs, p.Left, p.LeftIn.KAS())
	}
}

// confirmAndSubmit asks question, and submits tx if the answer is yes.
func (c *console) confirmAndSubmit(ctx context.Context, tx *txbuild.Transaction, question string, logAttrs ...any) error {
	fmt.Fprintf(c.out, "%s [y/N] ", question)
	answer, ok, err := c.in.next(ctx)
	if err != nil {
		return err
	}
	if !ok || !isYes(answer) {
		if !ok {
			fmt.Fprintln(c.out)
		}
		fmt.Fprintln(c.out, "Sweep cancelled.")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	id, err := c.chain.SubmitTransaction(ctx, tx)
	if err != nil {
		return err
	}
	c.log.Info("kloaknode: sweep submitted", append([]any{"tx", id.String()}, logAttrs...)...)
	fmt.Fprintf(c.out, "Sweep broadcast: %s\n", id)
	return nil
}

func isYes(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "y" || s == "yes"
}
