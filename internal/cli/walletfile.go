package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

// RefuseExisting fails with wallet.ErrExist if path exists ("PATH: wallet
// file already exists; not replacing it"). wallet.Create checks again,
// atomically; asking first spares the user a password prompt that cannot
// succeed.
func RefuseExisting(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w; not replacing it", path, wallet.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// OpenWallet reads the password of the wallet file at path as p says
// (prompts on prompts) and opens the file.
func OpenWallet(ctx context.Context, prompts io.Writer, path string, p Prompt) (*wallet.Wallet, error) {
	password, err := p.Read(ctx, prompts)
	if err != nil {
		return nil, err
	}
	defer clear(password)
	return wallet.Open(path, password)
}

// Created is a wallet file CreateWallet has just written, still open.
type Created struct {
	Wallet *wallet.Wallet
	// Account is the BIP44 account number of the wallet's keys.
	Account uint32
	// FirstReceive is receive address 0, the one to show the user.
	FirstReceive address.Address
}

// CreateWallet writes a new wallet file at path holding mnemonic,
// encrypted with password (wallet.Create: never replacing a file), and
// returns it open with its first receive address.
func CreateWallet(path string, password []byte, mnemonic string, opts wallet.CreateOptions) (Created, error) {
	w, err := wallet.Create(path, password, mnemonic, opts)
	if err != nil {
		return Created{}, err
	}
	acct, err := w.Account()
	if err != nil {
		w.Close()
		return Created{}, err
	}
	first, err := acct.Receive(0)
	if err != nil {
		w.Close()
		return Created{}, err
	}
	first.Zero()
	return Created{Wallet: w, Account: acct.Number(), FirstReceive: first.Address}, nil
}

// PrintWords writes the words of mnemonic numbered, four a line, as a
// person copies them onto paper: each word as "%3d. %-10s", the line's
// trailing spaces trimmed.
func PrintWords(w io.Writer, mnemonic string) {
	list := strings.Fields(mnemonic)
	for i := 0; i < len(list); i += 4 {
		var line strings.Builder
		for j := i; j < i+4 && j < len(list); j++ {
			fmt.Fprintf(&line, "%3d. %-10s", j+1, list[j])
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
}

// DevnetCoinbaseMaturity is the coinbase maturity, in DAA scores, of
// devnet and simnet.
const DevnetCoinbaseMaturity = 100

// CoinbaseMaturity is the value of a --coinbase-maturity flag: flag when
// it is not 0, else the network's own, wallet.DefaultCoinbaseMaturity
// (1000 DAA scores, mainnet and testnet after Crescendo) or
// DevnetCoinbaseMaturity on devnet and simnet.
func CoinbaseMaturity(flag uint64, network address.Network) uint64 {
	switch {
	case flag != 0:
		return flag
	case network == address.Devnet || network == address.Simnet:
		return DevnetCoinbaseMaturity
	}
	return wallet.DefaultCoinbaseMaturity
}

// CoinbaseMaturityUsage is the help of a --coinbase-maturity flag that
// CoinbaseMaturity reads.
const CoinbaseMaturityUsage = "DAA scores before a mined coin is spendable (default: 1000 on mainnet and testnet, 100 on devnet and simnet)"
