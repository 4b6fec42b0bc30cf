package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/txbuild"
)

// ErrUTXONotFound is returned by LookupUTXO when the node's UTXO index
// holds no unspent output at the outpoint for the address.
var ErrUTXONotFound = errors.New("UTXO not found")

// LookupUTXO returns the unspent output at outpoint if the node's UTXO
// index holds it for addr. Otherwise the error wraps ErrUTXONotFound: the
// output was spent, never existed, or does not pay addr. The index lists
// outputs accepted in blocks, never those of transactions still in the
// mempool.
//
// Kaspa nodes have no query by outpoint, so LookupUTXO fetches every
// unspent output of addr: cheap for the fresh addresses a payjoin uses,
// slow for an address with thousands of outputs.
func (c *Client) LookupUTXO(ctx context.Context, addr address.Address, outpoint txbuild.Outpoint) (txbuild.UTXOEntry, error) {
	utxos, err := c.UTXOsByAddresses(ctx, []address.Address{addr})
	if err != nil {
		return txbuild.UTXOEntry{}, err
	}
	spk := addr.ScriptPublicKey()
	for _, u := range utxos {
		// The script check guards against a node that answers for
		// another address: the entry must really pay addr.
		if u.Outpoint == outpoint && u.Address.Equal(addr) && u.Entry.ScriptPublicKey.Equal(spk) {
			return u.Entry, nil
		}
	}
	return txbuild.UTXOEntry{}, fmt.Errorf("%w: no unspent output %s paying %s (spent, never existed, or not paying that address)",
		ErrUTXONotFound, outpoint, addr)
}

// TransactionSeen reports whether the node knows the transaction id: its
// mempool holds it, or addr has an unspent output created by it, so a
// block accepted it. addr should be an address the transaction pays.
//
// It cannot see an accepted transaction whose outputs to addr were all
// spent again, nor one that pays addr nothing: it then reports false. The
// mempool is asked first, so a transaction that moves from the mempool
// into a block between the two queries is still seen.
func (c *Client) TransactionSeen(ctx context.Context, id txbuild.Hash, addr address.Address) (bool, error) {
	in, err := c.InMempool(ctx, id)
	if err != nil || in {
		return in, err
	}
	utxos, err := c.UTXOsByAddresses(ctx, []address.Address{addr})
	if err != nil {
		return false, err
	}
	for _, u := range utxos {
		if u.Outpoint.TransactionID == id {
			return true, nil
		}
	}
	return false, nil
}

// FeeRate returns the node's fee rate for normal priority (FeeEstimate's
// Normal), or 1 sompi/gram when the node gives no estimate, as
// FeeEstimate does.
func (c *Client) FeeRate(ctx context.Context) (txbuild.FeeRate, error) {
	f, err := c.FeeEstimate(ctx)
	if err != nil {
		return 0, err
	}
	return f.Normal, nil
}

// VirtualDAAScore returns the DAA score of the node's virtual block: the
// score a transaction submitted now is judged at, and the clock against
// which coinbase maturity is counted.
func (c *Client) VirtualDAAScore(ctx context.Context) (uint64, error) {
	d, err := c.DAGInfo(ctx)
	if err != nil {
		return 0, err
	}
	return d.VirtualDAAScore, nil
}
