package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/wallet"
)

// openOrCreateWallet opens the node wallet at path, or creates it on
// network if there is no file there, printing its new mnemonic once to
// stdout and, when in is not nil (standard input is a terminal), waiting
// for Enter so that the words are not scrolled away by the logs.
func openOrCreateWallet(ctx context.Context, path string, network address.Network, stdout, prompts io.Writer, in *lineInput, log *slog.Logger) (*wallet.Wallet, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		log.Info("kloaknode: no wallet file; creating a new wallet", "file", path, "network", network.String())
		w, err := createWallet(ctx, path, network, stdout, prompts)
		if err != nil {
			return nil, err
		}
		if in != nil {
			fmt.Fprint(stdout, "Press Enter once the words are written down. ")
			if _, _, err := in.next(ctx); err != nil {
				w.Close()
				return nil, err
			}
		}
		return w, nil
	} else if err != nil {
		return nil, err
	}
	password, err := walletPassword.Read(ctx, prompts)
	if err != nil {
		return nil, err
	}
	defer clear(password)
	w, err := wallet.Open(path, password)
	if err != nil {
		return nil, fmt.Errorf("opening the node wallet: %w", err)
	}
	if w.Network() != network {
		w.Close()
		return nil, fmt.Errorf("the node wallet %s is a %s wallet, not %s (--network)", path, w.Network(), network)
	}
	return w, nil
}

// createWallet creates a node wallet with a new 24-word mnemonic at path
// and prints the words once to stdout.
func createWallet(ctx context.Context, path string, network address.Network, stdout, prompts io.Writer) (*wallet.Wallet, error) {
	password, err := newWalletPassword.Read(ctx, prompts)
	if err != nil {
		return nil, err
	}
	defer clear(password)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	mnemonic, err := wallet.NewMnemonic(24)
	if err != nil {
		return nil, err
	}
	c, err := cli.CreateWallet(path, password, mnemonic, wallet.CreateOptions{Network: network})
	if err != nil {
		return nil, err
	}
	w := c.Wallet
	fmt.Fprintf(stdout, "Created node wallet %s (%v).\n\n", path, network)
	printMnemonic(stdout, mnemonic)
	fmt.Fprintln(stdout, "Fee addresses are handed out 256 indexes at a time; to recover the fees, scan")
	fmt.Fprintln(stdout, "the receive chain up to the wallet file's next receive index, not a gap limit.")
	return w, nil
}

// printMnemonic prints the words of a new wallet, numbered, four a line.
func printMnemonic(stdout io.Writer, mnemonic string) {
	list := strings.Fields(mnemonic)
	fmt.Fprintf(stdout, "WRITE DOWN THESE %d WORDS, in order, and keep them offline. They are the only\n", len(list))
	fmt.Fprintln(stdout, "way to recover the node's fees if the file or its password is lost, and anyone")
	fmt.Fprintln(stdout, "who sees them can spend them. They are not shown again.")
	fmt.Fprintln(stdout)
	cli.PrintWords(stdout, mnemonic)
	fmt.Fprintln(stdout)
}
