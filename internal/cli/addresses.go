package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/wallet"
)

// MaxListed bounds how many addresses of a chain ListAddresses derives:
// deriving is cheap, but a typo should not print a million lines.
const MaxListed = 100_000

// Address is one derived address of an account; as JSON,
// {"index", "path", "address"}.
type Address struct {
	Index   uint32 `json:"index"`
	Path    string `json:"path"`    // such as "m/44'/111111'/0'/0/5"
	Address string `json:"address"` // with its network's prefix
}

// AddressList is the receive and change addresses of an account, each
// chain from index 0.
type AddressList struct {
	Receive, Change []Address
}

// ListAddresses derives receive addresses 0..receive-1 and change
// addresses 0..change-1 of acct, at most MaxListed per chain. An index
// with no key (wallet.ErrInvalidChild, odds about 1 in 2^127) is skipped,
// as BIP32 says; the Index of each Address tells.
func ListAddresses(acct *wallet.Account, receive, change uint32) (AddressList, error) {
	if receive > MaxListed || change > MaxListed {
		return AddressList{}, fmt.Errorf("at most %d addresses per chain", MaxListed)
	}
	var l AddressList
	var err error
	if l.Receive, err = derive(acct.Receive, receive); err != nil {
		return AddressList{}, err
	}
	if l.Change, err = derive(acct.Change, change); err != nil {
		return AddressList{}, err
	}
	return l, nil
}

func derive(key func(uint32) (wallet.Key, error), n uint32) ([]Address, error) {
	list := make([]Address, 0, n)
	for i := range n {
		k, err := key(i)
		if errors.Is(err, wallet.ErrInvalidChild) {
			continue
		}
		if err != nil {
			return nil, err
		}
		k.Zero()
		list = append(list, Address{Index: i, Path: k.Path, Address: k.Address.String()})
	}
	return list, nil
}

// Print writes one line per address: chain, index, path and address,
//
//	receive 0    m/44'/111111'/0'/0/0     kaspa:qpuvlauc6a5syze9g70dnxzzvykhkuatsjrx87mxqccqh7kf9kcssdkp9ec7w
func (l AddressList) Print(w io.Writer) {
	for _, a := range l.Receive {
		fmt.Fprintf(w, "receive %-4d %-24s %s\n", a.Index, a.Path, a.Address)
	}
	for _, a := range l.Change {
		fmt.Fprintf(w, "change  %-4d %-24s %s\n", a.Index, a.Path, a.Address)
	}
}

// AddressCounts are the --receive and --change flags of a command that
// lists a wallet file's addresses: how many of each chain, by default
// those handed out so far.
type AddressCounts struct {
	cmd             *cobra.Command
	receive, change uint32
}

// Register adds --receive and --change to cmd.
func (c *AddressCounts) Register(cmd *cobra.Command) {
	c.cmd = cmd
	flags := cmd.Flags()
	flags.Uint32Var(&c.receive, "receive", 0, "number of receive addresses (default: those handed out so far, at least 1)")
	flags.Uint32Var(&c.change, "change", 0, "number of change addresses (default: those handed out so far)")
}

// Open opens the wallet file at path as OpenWallet does and lists its
// addresses (List). The caller closes the wallet.
func (c *AddressCounts) Open(ctx context.Context, prompts io.Writer, path string, p Prompt) (*wallet.Wallet, AddressList, error) {
	w, err := OpenWallet(ctx, prompts, path, p)
	if err != nil {
		return nil, AddressList{}, err
	}
	l, err := c.List(w)
	if err != nil {
		w.Close()
		return nil, AddressList{}, err
	}
	return w, l, nil
}

// List lists the addresses of w the flags ask for: as many as each flag
// says if it is given, else up to w's next index on that chain, and at
// least one receive address.
func (c *AddressCounts) List(w *wallet.Wallet) (AddressList, error) {
	receive, change := c.receive, c.change
	if !c.cmd.Flags().Changed("receive") {
		receive = max(w.NextReceiveIndex(), 1)
	}
	if !c.cmd.Flags().Changed("change") {
		change = w.NextChangeIndex()
	}
	acct, err := w.Account()
	if err != nil {
		return AddressList{}, err
	}
	return ListAddresses(acct, receive, change)
}
