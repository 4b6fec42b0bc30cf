package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

// openOrCreateWallet opens the node wallet at path, or creates it on
// network if there is no file there, printing its new mnemonic once.
func openOrCreateWallet(path string, network address.Network, stdout, prompts io.Writer) (*wallet.Wallet, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return createWallet(path, network, stdout, prompts)
	} else if err != nil {
		return nil, err
	}
	password, err := readPassword(prompts, false)
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

func createWallet(path string, network address.Network, stdout, prompts io.Writer) (*wallet.Wallet, error) {
	fmt.Fprintf(prompts, "kloaknode: no wallet at %s; creating a new %s wallet.\n", path, network)
	password, err := readPassword(prompts, true)
	if err != nil {
		return nil, err
	}
	defer clear(password)
	if len(password) == 0 {
		return nil, errors.New("the wallet password must not be empty")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	mnemonic, err := wallet.NewMnemonic(24)
	if err != nil {
		return nil, err
	}
	w, err := wallet.Create(path, password, mnemonic, wallet.CreateOptions{Network: network})
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(stdout, "Created node wallet %s (%v).\n\n", path, network)
	fmt.Fprintln(stdout, "WRITE DOWN THESE 24 WORDS, in order, and keep them offline. They are the only")
	fmt.Fprintln(stdout, "way to recover the node's fees if the file or its password is lost, and anyone")
	fmt.Fprintln(stdout, "who sees them can spend them. They are not shown again.")
	fmt.Fprintln(stdout)
	list := strings.Fields(mnemonic)
	for i := 0; i < len(list); i += 4 {
		var line strings.Builder
		for j := i; j < i+4 && j < len(list); j++ {
			fmt.Fprintf(&line, "%3d. %-10s", j+1, list[j])
		}
		fmt.Fprintln(stdout, strings.TrimRight(line.String(), " "))
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "Fee addresses are handed out 256 indexes at a time; to recover the fees, scan")
	fmt.Fprintln(stdout, "the receive chain up to the wallet file's next receive index, not a gap limit.")
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(prompts, "Press Enter once the words are written down. ")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	return w, nil
}
