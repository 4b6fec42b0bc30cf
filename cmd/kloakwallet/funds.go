package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// balanceReport is what balance and restore print.
type balanceReport struct {
	spendable, maturing amount.Sompi
	spending            amount.Sompi // coins spent by mempool transactions
	utxos               int          // spendable UTXOs
}

// maxBalanceScans bounds the rescans of balance when a block arrives
// between its two queries.
const maxBalanceScans = 3

// balance returns the wallet's spendable and maturing balance and the
// number of spendable UTXOs, from two queries that agree.
func (s *session) balance(ctx context.Context) (balanceReport, error) {
	for range maxBalanceScans {
		utxos, err := s.funds.UTXOs(ctx)
		if err != nil {
			return balanceReport{}, err
		}
		b, err := s.funds.Balances(ctx)
		if err != nil {
			return balanceReport{}, err
		}
		var sum amount.Sompi
		for _, u := range utxos {
			sum += u.Entry.Amount // within MaxSompi: Funds summed them
		}
		if sum == b.Spendable {
			return balanceReport{spendable: b.Spendable, maturing: b.Maturing, spending: b.Spending, utxos: len(utxos)}, nil
		}
	}
	return balanceReport{}, errors.New("the wallet's UTXOs kept changing while they were counted; try again")
}

func (p printer) balance(r balanceReport, w *wallet.Wallet) {
	text := fmt.Sprintf("Spendable: %s in %s\nMaturing:  %s (mined coins not yet spendable)", r.spendable, utxoCount(r.utxos), r.maturing)
	if r.spending > 0 {
		text += fmt.Sprintf("\nSpending:  %s (coins of payments not yet in a block; their change shows then)", r.spending)
	}
	p.emit("balance", text, map[string]any{
		"spendable": r.spendable.KAS(), "spendableSompi": uint64(r.spendable),
		"maturing": r.maturing.KAS(), "maturingSompi": uint64(r.maturing),
		"spending": r.spending.KAS(), "spendingSompi": uint64(r.spending),
		"utxos":            r.utxos,
		"nextReceiveIndex": w.NextReceiveIndex(), "nextChangeIndex": w.NextChangeIndex(),
	})
}

func newBalanceCmd() *cobra.Command {
	var nf nodeFlags
	cmd := &cobra.Command{
		Use:   "balance --wallet-file FILE --kaspad HOST:PORT",
		Short: "Show the wallet's spendable and maturing balance",
		Long: `balance asks your Kaspa node (started with --utxoindex) for the coins of the
wallet's addresses: those handed out so far and 20 more on each chain. Spendable
is what send and pay can use now; maturing is mined coins younger than the
coinbase maturity. Coins that a payment still in the node's mempool spends are
shown as spending, and not spent again, until a block holds the payment; its
change shows then.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return nf.run(cmd, func(ctx context.Context, s *session, out printer) error {
				r, err := s.balance(ctx)
				if err != nil {
					return err
				}
				out.balance(r, s.w)
				return nil
			})
		},
	}
	nf.register(cmd)
	return cmd
}

func newRestoreCmd() *cobra.Command {
	var (
		nf        nodeFlags
		network   string
		wordsFile string
	)
	cmd := &cobra.Command{
		Use:   "restore --wallet-file FILE [--network NET] [--words-file FILE] [--kaspad HOST:PORT]",
		Short: "Create a wallet file from an existing mnemonic and find its coins",
		Long: `restore writes a new wallet file (it never replaces one) for a BIP39 mnemonic
you already have, read from --words-file or typed on the terminal without echo,
with the password from $` + passwordEnv + ` or asked twice. No BIP39 passphrase;
account 0.

With --kaspad it then asks the node for the coins of the mnemonic's addresses:
it marks every receive and change address that holds coins as used, looking 20
addresses past the last one found on each chain (BIP44's gap limit), and reports
the balance. Only addresses that hold coins now can be found: an address whose
coins were all spent looks unused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			net, err := address.ParseNetwork(network)
			if err != nil {
				return err
			}
			if err := cli.RefuseExisting(nf.walletFile); err != nil {
				return err
			}
			mnemonic, err := readMnemonic(cmd, wordsFile)
			if err != nil {
				return err
			}
			password, err := newWalletPassword.Read(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer clear(password)
			c, err := cli.CreateWallet(nf.walletFile, password, mnemonic, wallet.CreateOptions{Network: net})
			if err != nil {
				return err
			}
			w := c.Wallet
			out := printer{cmd.OutOrStdout(), nf.asJSON}
			out.emit("restored", fmt.Sprintf("Restored wallet %s (%v, account %d).\nFirst receive address: %s", nf.walletFile, net, c.Account, c.FirstReceive),
				map[string]any{"walletFile": nf.walletFile, "network": net.String(), "account": c.Account, "firstReceiveAddress": c.FirstReceive.String()})
			if !cmd.Flags().Changed("kaspad") {
				w.Close()
				return nil
			}
			ctx, cancel := cli.Interruptible(cmd)
			defer cancel()
			s, err := nf.attach(ctx, w)
			if err != nil {
				w.Close()
				return fmt.Errorf("the wallet file is written, but finding its coins failed: %w", err)
			}
			defer s.close()
			if err := s.markUsed(ctx); err != nil {
				return fmt.Errorf("the wallet file is written, but finding its coins failed: %w", err)
			}
			r, err := s.balance(ctx)
			if err != nil {
				return fmt.Errorf("the wallet file is written, but finding its coins failed: %w", err)
			}
			out.balance(r, s.w)
			return nil
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&network, "network", "mainnet", cli.NetworkUsage)
	cmd.Flags().StringVar(&wordsFile, "words-file", "", "file holding the BIP39 mnemonic (default: type it on the terminal)")
	cmd.Flag("kaspad").Usage = "Kaspa node gRPC address (host:port), started with --utxoindex; when given, restore looks for the wallet's coins"
	return cmd
}

// mnemonicPrompt asks restore's mnemonic on the terminal.
var mnemonicPrompt = cli.Prompt{Text: "Mnemonic (12 or 24 words; not shown as you type): ", Purpose: "type the mnemonic", Remedy: "use --words-file"}

// readMnemonic reads a mnemonic from path, or from the terminal without
// echo when path is empty, and checks it.
func readMnemonic(cmd *cobra.Command, path string) (string, error) {
	var raw []byte
	if path != "" {
		b, err := cli.ReadFile(path, maxSecretFile)
		if err != nil {
			return "", err
		}
		raw = b
	} else {
		b, err := mnemonicPrompt.Read(cmd.Context(), cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		raw, path = b, "the typed mnemonic"
	}
	defer clear(raw)
	mnemonic := strings.Join(strings.Fields(string(raw)), " ")
	if err := wallet.ValidateMnemonic(mnemonic); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return mnemonic, nil
}

// maxRestoreRounds bounds markUsed's rounds; each moves a chain's next
// index forward.
const maxRestoreRounds = 1000

// markUsed finds the addresses of the wallet that hold coins (mature or
// not) and marks them and every address before them as handed out, so the
// wallet does not hand them out again and the next scan looks a whole
// lookahead window (wallet.DefaultLookahead, as Funds) past them. It
// repeats until a scan finds nothing new.
func (s *session) markUsed(ctx context.Context) error {
	acct, err := s.w.Account()
	if err != nil {
		return err
	}
	type place struct{ chain, index uint32 }
	owner := map[string]place{}
	var (
		addrs   []address.Address
		derived [2]uint32
	)
	for range maxRestoreRounds {
		next := [2]uint32{s.w.NextReceiveIndex(), s.w.NextChangeIndex()}
		for c := range uint32(2) {
			limit := uint32(min(uint64(next[c])+wallet.DefaultLookahead, uint64(wallet.HardenedOffset)))
			for i := derived[c]; i < limit; i++ {
				derive := acct.Receive
				if c == wallet.ChangeChain {
					derive = acct.Change
				}
				k, err := derive(i)
				if errors.Is(err, wallet.ErrInvalidChild) {
					continue // BIP32: no address at this index
				}
				if err != nil {
					return err
				}
				k.Zero()
				owner[scriptKey(k.Address.ScriptPublicKey())] = place{c, i}
				addrs = append(addrs, k.Address)
			}
			derived[c] = max(derived[c], limit)
		}
		utxos, err := s.client.UTXOsByAddresses(ctx, addrs)
		if err != nil {
			return err
		}
		used := next
		for _, u := range utxos {
			if p, ok := owner[scriptKey(u.Entry.ScriptPublicKey)]; ok && p.index >= used[p.chain] {
				used[p.chain] = p.index + 1
			}
		}
		if used == next {
			return nil
		}
		if n := used[wallet.ReceiveChain] - next[wallet.ReceiveChain]; n > 0 {
			keys, err := s.w.ReserveReceive(int(n))
			if err != nil {
				return err
			}
			zeroAll(keys)
		}
		if n := used[wallet.ChangeChain] - next[wallet.ChangeChain]; n > 0 {
			keys, err := s.w.ReserveChange(int(n))
			if err != nil {
				return err
			}
			zeroAll(keys)
		}
	}
	return fmt.Errorf("still finding used addresses after %d rounds", maxRestoreRounds)
}

func utxoCount(n int) string {
	if n == 1 {
		return "1 UTXO"
	}
	return fmt.Sprintf("%d UTXOs", n)
}

func scriptKey(spk address.ScriptPublicKey) string {
	return fmt.Sprintf("%d:%x", spk.Version, spk.Script)
}

func zeroAll(keys []wallet.Key) {
	for _, k := range keys {
		k.Zero()
	}
}

func newSendCmd() *cobra.Command {
	var (
		nf      nodeFlags
		to, amt string
		feerate string
		yes     bool
	)
	cmd := &cobra.Command{
		Use:   "send --wallet-file FILE --kaspad HOST:PORT --to ADDRESS --amount KAS",
		Short: "Pay an address (an ordinary transaction, not a payjoin)",
		Long: `send pays AMOUNT KAS to ADDRESS from the wallet's spendable coins, largest
first, with any change to a fresh change address. It shows the amount, the
network fee and the change and, once you agree (or with --yes), broadcasts the
signed transaction through your node and prints its id. The fee rate is the
node's estimate for normal priority unless --feerate (sompi per gram) is given;
the transaction follows the network's standardness rules (txbuild.PolicyFor).
Without a terminal to confirm on, send needs --yes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Everything that can be checked without the wallet is, before
			// asking for its password.
			pay, err := amount.ParseKAS(amt)
			if err != nil {
				return fmt.Errorf("--amount: %w", err)
			}
			if _, err := address.Parse(to); err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			var rate txbuild.FeeRate
			if feerate != "" {
				if rate, err = txbuild.ParseFeeRate(feerate); err != nil {
					return fmt.Errorf("--feerate: %w", err)
				}
			}
			if !yes && !cli.StdinIsTerminal() {
				return errNoConfirm
			}
			return nf.run(cmd, func(ctx context.Context, s *session, out printer) error {
				var dest address.Address
				if dest, err = address.Decode(to, s.net); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
				if feerate == "" {
					if rate, err = s.client.FeeRate(ctx); err != nil {
						return fmt.Errorf("fee rate: %w", err)
					}
				}
				tx, utxos, err := s.funds.Send(ctx, dest, pay, rate, txbuild.PolicyFor(s.net))
				if err != nil {
					return err
				}
				q := quoteOf(tx, utxos, dest, pay)
				fields := map[string]any{
					"to": dest.String(), "amount": pay.KAS(), "fee": q.fee.KAS(), "change": q.change.KAS(),
					"total": (pay + q.fee).KAS(), "inputs": len(tx.Inputs), "feeRate": rate.String(),
					"transactionId": tx.ID().String(),
				}
				text := fmt.Sprintf("Pay      %s\nto       %s\nfee      %s (%s)\nchange   %s\ntotal    %s from %s",
					pay, dest, q.fee, rate, q.change, pay+q.fee, utxoCount(len(tx.Inputs)))
				if q.changeAddr != "" {
					fields["changeAddress"] = q.changeAddr
					text += "\nchange to " + q.changeAddr
				}
				out.emit("quote", text, fields)
				if !yes {
					ok, err := confirm(cmd, "Broadcast this payment? [y/N] ")
					if err != nil {
						return err
					}
					if !ok {
						return errors.New("not sent")
					}
				}
				id, err := s.client.SubmitTransaction(ctx, tx)
				var rejected *node.RejectedError
				if errors.As(err, &rejected) {
					out.emit("rejected", "The node refused the payment: "+rejected.Reason,
						map[string]any{"transactionId": rejected.TransactionID.String(), "reason": rejected.Reason})
					return fmt.Errorf("not sent: the node refused transaction %s: %s", rejected.TransactionID, rejected.Reason)
				}
				if err != nil {
					return err
				}
				out.emit("done", fmt.Sprintf("Sent %s to %s in transaction %s", pay, dest, id),
					map[string]any{"transactionId": id.String(), "amount": pay.KAS(), "fee": q.fee.KAS()})
				return nil
			})
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&to, "to", "", "address to pay")
	cmd.Flags().StringVar(&amt, "amount", "", "amount to pay, in KAS (e.g. 10.5)")
	cmd.Flags().StringVar(&feerate, "feerate", "", "fee rate in sompi per gram, e.g. 1 or 1.5 (default: the node's estimate)")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask before broadcasting")
	cmd.MarkFlagRequired("to")
	cmd.MarkFlagRequired("amount")
	return cmd
}

// quote is what a payment costs, read off the signed transaction.
type quote struct {
	fee, change amount.Sompi
	changeAddr  string
}

// quoteOf returns the fee (inputs minus outputs) and the change of tx, a
// payment of pay to dest built by Funds.Send: every output but the one
// payment output returns to the wallet.
func quoteOf(tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, dest address.Address, pay amount.Sompi) quote {
	var in, outs amount.Sompi
	for _, u := range utxos {
		in += u.Amount
	}
	var q quote
	paid := false
	for _, o := range tx.Outputs {
		outs += o.Amount
		if !paid && o.Amount == pay && o.ScriptPublicKey.Equal(dest.ScriptPublicKey()) {
			paid = true
			continue
		}
		q.change += o.Amount
		if a, err := address.FromScriptPublicKey(o.ScriptPublicKey, dest.Network()); err == nil {
			q.changeAddr = a.String()
		}
	}
	q.fee = in - outs
	return q
}
