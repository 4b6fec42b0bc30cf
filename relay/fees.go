package relay

import (
	"context"
	"errors"
	"fmt"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

// FeeAddresses hands out the node's fee ("dust") addresses, one per paired
// session. An implementation must be safe for concurrent use and should
// never return the same address twice: the address is how the node finds
// its fee on-chain, and a reused one links two payments.
type FeeAddresses interface {
	NextFeeAddress(ctx context.Context) (address.Address, error)
}

// FeeAddressFunc adapts a function to FeeAddresses.
type FeeAddressFunc func(ctx context.Context) (address.Address, error)

// NextFeeAddress calls f.
func (f FeeAddressFunc) NextFeeAddress(ctx context.Context) (address.Address, error) { return f(ctx) }

// DefaultFeeAddressBatch is how many receive indexes WalletFeeAddresses
// reserves with one wallet save.
const DefaultFeeAddressBatch = 256

// WalletFeeAddresses hands out the receive addresses of a wallet file as
// fee addresses. It reserves them in batches, each with one small atomic
// save of the wallet (wallet.Wallet.ReserveReceive), before handing any of
// the batch out, and then hands them out one by one from memory: an index
// is never handed out twice, also across restarts, and the disk is touched
// once per batch, not once per session.
//
// The price is a gap: the indexes of a batch not handed out before the
// process stops are never used. A wallet restored from its mnemonic must
// therefore scan the receive chain past gaps of up to the batch size per
// restart, and past every fee address whose sender never paid (a sender
// that pairs and walks away leaves its address unused, whatever the batch
// size). A scan of every index below the wallet file's next receive index
// (wallet.Wallet.NextReceiveIndex) finds everything; a recovery that uses a
// BIP44 gap limit of 20 may not.
//
// A WalletFeeAddresses must be the only user of its wallet's receive chain
// in the process, or the others must reserve through the same wallet
// (reservations never overlap), and the wallet file must not be open in
// another process.
type WalletFeeAddresses struct {
	w     *wallet.Wallet
	batch int
	sem   chan struct{} // one allocation at a time; a channel so a wait honours ctx
	ready []address.Address
}

// NewWalletFeeAddresses returns fee addresses from w's receive chain,
// reserved batch at a time (DefaultFeeAddressBatch where batch <= 0).
func NewWalletFeeAddresses(w *wallet.Wallet, batch int) *WalletFeeAddresses {
	if batch <= 0 {
		batch = DefaultFeeAddressBatch
	}
	return &WalletFeeAddresses{w: w, batch: batch, sem: make(chan struct{}, 1)}
}

// NextFeeAddress returns the next unused receive address. When its batch
// is used up it reserves the next batch first (one save of the wallet
// file); if that save fails it returns the error and hands out nothing.
func (f *WalletFeeAddresses) NextFeeAddress(ctx context.Context) (address.Address, error) {
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return address.Address{}, fmt.Errorf("relay: fee address: %w", ctx.Err())
	}
	defer func() { <-f.sem }()
	if len(f.ready) == 0 {
		if err := ctx.Err(); err != nil {
			return address.Address{}, fmt.Errorf("relay: fee address: %w", err)
		}
		keys, err := f.w.ReserveReceive(f.batch)
		if err != nil {
			return address.Address{}, fmt.Errorf("relay: reserving %d fee addresses: %w", f.batch, err)
		}
		f.ready = make([]address.Address, 0, len(keys))
		for _, k := range keys {
			f.ready = append(f.ready, k.Address)
			k.Zero() // the relay needs addresses, never keys
		}
		if len(f.ready) == 0 {
			return address.Address{}, errors.New("relay: the wallet reserved no fee address")
		}
	}
	a := f.ready[0]
	f.ready = f.ready[1:]
	return a, nil
}
