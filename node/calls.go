package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/kaspanet/kaspad/app/appmessage"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// ServerInfo describes the node.
type ServerInfo struct {
	Version     string // the node's software version
	Network     string // e.g. "kaspa-mainnet", "kaspa-devnet"
	UTXOIndex   bool   // started with --utxoindex
	Synced      bool
	MempoolSize uint64
	VirtualDAA  uint64 // virtual DAA score
}

// ServerInfo asks the node what it is and whether it is ready.
func (c *Client) ServerInfo(ctx context.Context) (ServerInfo, error) {
	info, err := call[*appmessage.GetInfoResponseMessage](ctx, c, "GetInfo", appmessage.NewGetInfoRequestMessage())
	if err != nil {
		return ServerInfo{}, err
	}
	if err := nodeErr("GetInfo", info.Error); err != nil {
		return ServerInfo{}, err
	}
	dag, err := c.DAGInfo(ctx)
	if err != nil {
		return ServerInfo{}, err
	}
	return ServerInfo{
		Version: info.ServerVersion, Network: dag.Network, UTXOIndex: info.IsUtxoIndexed,
		Synced: info.IsSynced, MempoolSize: info.MempoolSize, VirtualDAA: dag.VirtualDAAScore,
	}, nil
}

// DAGInfo is the state of the node's block DAG.
type DAGInfo struct {
	Network         string
	BlockCount      uint64
	TipHashes       []txbuild.Hash
	VirtualParents  []txbuild.Hash
	PastMedianTime  int64 // milliseconds since the Unix epoch
	PruningPoint    txbuild.Hash
	VirtualDAAScore uint64
}

// DAGInfo returns the node's view of the DAG.
func (c *Client) DAGInfo(ctx context.Context) (DAGInfo, error) {
	r, err := call[*appmessage.GetBlockDAGInfoResponseMessage](ctx, c, "GetBlockDAGInfo", appmessage.NewGetBlockDAGInfoRequestMessage())
	if err != nil {
		return DAGInfo{}, err
	}
	if err := nodeErr("GetBlockDAGInfo", r.Error); err != nil {
		return DAGInfo{}, err
	}
	d := DAGInfo{Network: r.NetworkName, BlockCount: r.BlockCount, PastMedianTime: r.PastMedianTime, VirtualDAAScore: r.VirtualDAAScore}
	if d.TipHashes, err = parseHashes("tip hash", r.TipHashes); err != nil {
		return DAGInfo{}, err
	}
	if d.VirtualParents, err = parseHashes("virtual parent", r.VirtualParentHashes); err != nil {
		return DAGInfo{}, err
	}
	if d.PruningPoint, err = txbuild.ParseHash(r.PruningPointHash); err != nil {
		return DAGInfo{}, fmt.Errorf("%w: pruning point: %w", ErrProtocol, err)
	}
	return d, nil
}

// UTXO is an unspent output the node holds for an address.
type UTXO = txbuild.UTXO

// UTXOsByAddresses returns the unspent outputs of addrs.
func (c *Client) UTXOsByAddresses(ctx context.Context, addrs []address.Address) ([]UTXO, error) {
	names := make([]string, len(addrs))
	for i, a := range addrs {
		names[i] = a.String()
	}
	r, err := call[*appmessage.GetUTXOsByAddressesResponseMessage](ctx, c, "GetUTXOsByAddresses", appmessage.NewGetUTXOsByAddressesRequestMessage(names))
	if err != nil {
		return nil, err
	}
	if err := utxoIndexErr("GetUTXOsByAddresses", r.Error); err != nil {
		return nil, err
	}
	out := make([]UTXO, 0, len(r.Entries))
	for _, e := range r.Entries {
		u, err := fromRPCUTXO(e)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func utxoIndexErr(name string, e *appmessage.RPCError) error {
	if e == nil {
		return nil
	}
	if strings.Contains(e.Message, "utxoindex") {
		return fmt.Errorf("%w (node said: %s)", ErrNoUTXOIndex, e.Message)
	}
	return nodeErr(name, e)
}

func fromRPCUTXO(e *appmessage.UTXOsByAddressesEntry) (UTXO, error) {
	if e == nil || e.Outpoint == nil || e.UTXOEntry == nil || e.UTXOEntry.ScriptPublicKey == nil {
		return UTXO{}, fmt.Errorf("%w: incomplete UTXO entry", ErrProtocol)
	}
	a, err := address.Parse(e.Address)
	if err != nil {
		return UTXO{}, fmt.Errorf("%w: UTXO address: %w", ErrProtocol, err)
	}
	id, err := txbuild.ParseHash(e.Outpoint.TransactionID)
	if err != nil {
		return UTXO{}, fmt.Errorf("%w: UTXO outpoint: %w", ErrProtocol, err)
	}
	entry, err := fromRPCEntry(e.UTXOEntry)
	if err != nil {
		return UTXO{}, err
	}
	return UTXO{Address: a, Outpoint: txbuild.Outpoint{TransactionID: id, Index: e.Outpoint.Index}, Entry: entry}, nil
}

func fromRPCEntry(e *appmessage.RPCUTXOEntry) (txbuild.UTXOEntry, error) {
	script, err := hex.DecodeString(e.ScriptPublicKey.Script)
	if err != nil {
		return txbuild.UTXOEntry{}, fmt.Errorf("%w: UTXO script: %w", ErrProtocol, err)
	}
	if amount.Sompi(e.Amount) > amount.MaxSompi {
		return txbuild.UTXOEntry{}, fmt.Errorf("%w: UTXO of %d sompi", ErrProtocol, e.Amount)
	}
	return txbuild.UTXOEntry{
		Amount:          amount.Sompi(e.Amount),
		ScriptPublicKey: address.ScriptPublicKey{Version: e.ScriptPublicKey.Version, Script: script},
		BlockDAAScore:   e.BlockDAAScore,
		IsCoinbase:      e.IsCoinbase,
	}, nil
}

// Balance returns the sum of addr's unspent outputs.
func (c *Client) Balance(ctx context.Context, addr address.Address) (amount.Sompi, error) {
	r, err := call[*appmessage.GetBalanceByAddressResponseMessage](ctx, c, "GetBalanceByAddress", appmessage.NewGetBalanceByAddressRequest(addr.String()))
	if err != nil {
		return 0, err
	}
	if err := utxoIndexErr("GetBalanceByAddress", r.Error); err != nil {
		return 0, err
	}
	return amount.Sompi(r.Balance), nil
}

// Balances returns the balance of each of addrs, in order.
func (c *Client) Balances(ctx context.Context, addrs []address.Address) ([]amount.Sompi, error) {
	names := make([]string, len(addrs))
	for i, a := range addrs {
		names[i] = a.String()
	}
	r, err := call[*appmessage.GetBalancesByAddressesResponseMessage](ctx, c, "GetBalancesByAddresses", appmessage.NewGetBalancesByAddressesRequest(names))
	if err != nil {
		return nil, err
	}
	if err := utxoIndexErr("GetBalancesByAddresses", r.Error); err != nil {
		return nil, err
	}
	byName := make(map[string]uint64, len(r.Entries))
	for _, e := range r.Entries {
		if e != nil {
			byName[e.Address] = e.Balance
		}
	}
	out := make([]amount.Sompi, len(addrs))
	for i, n := range names {
		out[i] = amount.Sompi(byName[n])
	}
	return out, nil
}

// ErrRejected is matched by every RejectedError.
var ErrRejected = errors.New("transaction rejected by the kaspa node")

// RejectedError is the node's refusal of a submitted transaction.
type RejectedError struct {
	TransactionID txbuild.Hash
	Reason        string // the node's words
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("kaspa node rejected transaction %s: %s", e.TransactionID, e.Reason)
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// SubmitTransaction hands tx to the node for its mempool and returns the id
// the node reports. A refusal is a *RejectedError with the node's reason.
func (c *Client) SubmitTransaction(ctx context.Context, tx *txbuild.Transaction) (txbuild.Hash, error) {
	id := tx.ID()
	r, err := call[*appmessage.SubmitTransactionResponseMessage](ctx, c, "SubmitTransaction", appmessage.NewSubmitTransactionRequestMessage(ToRPCTransaction(tx), false))
	if err != nil {
		return txbuild.Hash{}, err
	}
	if r.Error != nil {
		return txbuild.Hash{}, &RejectedError{TransactionID: id, Reason: r.Error.Message}
	}
	got, err := txbuild.ParseHash(r.TransactionID)
	if err != nil {
		return txbuild.Hash{}, fmt.Errorf("%w: submitted transaction id: %w", ErrProtocol, err)
	}
	if got != id {
		return got, fmt.Errorf("%w: node reports id %s for transaction %s", ErrProtocol, got, id)
	}
	return got, nil
}

// InMempool reports whether the node's mempool holds the transaction id.
func (c *Client) InMempool(ctx context.Context, id txbuild.Hash) (bool, error) {
	r, err := call[*appmessage.GetMempoolEntryResponseMessage](ctx, c, "GetMempoolEntry", appmessage.NewGetMempoolEntryRequestMessage(id.String(), false, false))
	if err != nil {
		return false, err
	}
	if r.Error != nil {
		if strings.Contains(strings.ToLower(r.Error.Message), "not found") {
			return false, nil
		}
		return false, nodeErr("GetMempoolEntry", r.Error)
	}
	return r.Entry != nil && r.Entry.Transaction != nil, nil
}

// MempoolSpends returns the outpoints that transactions in the node's
// mempool spend, of the transactions that spend an output of one of addrs,
// each with the id of the spending transaction. The UTXO index lists an
// output until a block accepts its spend, so a wallet subtracts these to
// keep from spending a coin twice. Orphans are left out: they spend
// outputs of transactions the node has not seen, not the index's.
//
// Go kaspad v0.12.23 reports at most one spending transaction an address
// (and, asked for orphans too, drops the pool's: so MempoolSpends does not
// ask); rusty-kaspa reports them all.
func (c *Client) MempoolSpends(ctx context.Context, addrs []address.Address) (map[txbuild.Outpoint]txbuild.Hash, error) {
	names := make([]string, len(addrs))
	for i, a := range addrs {
		names[i] = a.String()
	}
	r, err := call[*appmessage.GetMempoolEntriesByAddressesResponseMessage](ctx, c, "GetMempoolEntriesByAddresses",
		appmessage.NewGetMempoolEntriesByAddressesRequestMessage(names, false, false))
	if err != nil {
		return nil, err
	}
	if err := nodeErr("GetMempoolEntriesByAddresses", r.Error); err != nil {
		return nil, err
	}
	spent := make(map[txbuild.Outpoint]txbuild.Hash)
	for _, e := range r.Entries {
		if e == nil {
			return nil, fmt.Errorf("%w: GetMempoolEntriesByAddresses: an empty entry", ErrProtocol)
		}
		for _, m := range e.Sending {
			if m == nil || m.Transaction == nil {
				return nil, fmt.Errorf("%w: GetMempoolEntriesByAddresses: an entry of %s without its transaction", ErrProtocol, e.Address)
			}
			tx, err := FromRPCTransaction(m.Transaction)
			if err != nil {
				return nil, fmt.Errorf("GetMempoolEntriesByAddresses: %w", err)
			}
			id := tx.ID()
			for _, in := range tx.Inputs {
				spent[in.PreviousOutpoint] = id
			}
		}
	}
	return spent, nil
}

// FeeEstimate holds fee rates for the node's priority levels.
type FeeEstimate struct {
	Priority, Normal, Low txbuild.FeeRate
	// Fallback is true when the node gave no estimate (it predates
	// GetFeeEstimate or refused it) and the rates are the 1 sompi/gram
	// network minimum.
	Fallback bool
}

// FeeEstimate asks the node for fee rates. A node that cannot estimate gets
// a fallback of 1 sompi/gram with Fallback set; a connection failure is
// still an error.
func (c *Client) FeeEstimate(ctx context.Context) (FeeEstimate, error) {
	fallback := FeeEstimate{Priority: txbuild.SompiPerGram(1), Normal: txbuild.SompiPerGram(1), Low: txbuild.SompiPerGram(1), Fallback: true}
	if c.noFeeEstimate.Load() {
		return fallback, nil
	}
	r, err := call[*appmessage.GetFeeEstimateResponseMessage](ctx, c, "GetFeeEstimate", appmessage.NewGetFeeEstimateRequestMessage())
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return FeeEstimate{}, err
		}
		// Go kaspad before GetFeeEstimate drops the connection on a request
		// it has no route for. If the node answers everything else, that is
		// what happened: remember it and fall back.
		if _, infoErr := c.ServerInfo(ctx); infoErr != nil {
			return FeeEstimate{}, err
		}
		c.noFeeEstimate.Store(true)
		c.opts.Logger.Warn("kaspa node has no GetFeeEstimate; using 1 sompi/gram", "node", c.address, "err", err)
		return fallback, nil
	}
	if r.Error != nil {
		c.opts.Logger.Warn("kaspa node gives no fee estimate; using 1 sompi/gram", "node", c.address, "err", r.Error.Message)
		return fallback, nil
	}
	rate := func(b []appmessage.RPCFeeRateBucket) (txbuild.FeeRate, error) {
		if len(b) == 0 {
			return txbuild.SompiPerGram(1), nil
		}
		return txbuild.FeeRateFromFloat(b[0].Feerate)
	}
	var f FeeEstimate
	if f.Priority, err = txbuild.FeeRateFromFloat(r.Estimate.PriorityBucket.Feerate); err != nil {
		return FeeEstimate{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if f.Normal, err = rate(r.Estimate.NormalBuckets); err != nil {
		return FeeEstimate{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if f.Low, err = rate(r.Estimate.LowBuckets); err != nil {
		return FeeEstimate{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return f, nil
}

// Block is a block with the fields wallets and discovery read.
type Block struct {
	Hash         txbuild.Hash
	Timestamp    int64 // milliseconds since the Unix epoch, from the header
	DAAScore     uint64
	BlueScore    uint64
	Parents      []txbuild.Hash // direct parents (level 0)
	IsChainBlock bool
	Transactions []*txbuild.Transaction // nil unless asked for
	// ParentsByLevel are the header's parents by block level: index 0 is
	// Parents; level L lists the nearest ancestors whose proof of work
	// is L levels better, so that they reach back about 2^L blocks.
	ParentsByLevel [][]txbuild.Hash
}

// Block returns the block with the given hash.
func (c *Client) Block(ctx context.Context, hash txbuild.Hash, withTransactions bool) (*Block, error) {
	r, err := call[*appmessage.GetBlockResponseMessage](ctx, c, "GetBlock", appmessage.NewGetBlockRequestMessage(hash.String(), withTransactions))
	if err != nil {
		return nil, err
	}
	if err := nodeErr("GetBlock", r.Error); err != nil {
		return nil, err
	}
	return fromRPCBlock(hash, r.Block)
}

// BlocksFrom returns a batch of the node's blocks that are not in the
// past of low, low itself first (the node's GetBlocks). The node walks
// its selected chain up from low (from low's nearest chain ancestor if
// low is not on it) and adds each chain block's merge set whole, until
// the next merge set would take the batch past the merge-set size limit
// + 1 blocks (mainnet: 249 on rusty-kaspa, 181 on Go kaspad); the batch
// then ends with the chain block it stopped at, the low of the next
// batch. A batch that reaches the virtual selected parent ends with the
// blocks in its anticone (the other tips and what only they reach), and
// so holds every block not in low's past. Go kaspad may list low twice
// (when it is also in that anticone). A low the node does not have
// (unknown, or pruned) is a *NodeError.
func (c *Client) BlocksFrom(ctx context.Context, low txbuild.Hash, withTransactions bool) ([]*Block, error) {
	r, err := call[*appmessage.GetBlocksResponseMessage](ctx, c, "GetBlocks", appmessage.NewGetBlocksRequestMessage(low.String(), true, withTransactions))
	if err != nil {
		return nil, err
	}
	if err := nodeErr("GetBlocks", r.Error); err != nil {
		return nil, err
	}
	if len(r.Blocks) != len(r.BlockHashes) {
		return nil, fmt.Errorf("%w: GetBlocks: %d hashes, %d blocks", ErrProtocol, len(r.BlockHashes), len(r.Blocks))
	}
	hashes, err := parseHashes("GetBlocks block", r.BlockHashes)
	if err != nil {
		return nil, err
	}
	out := make([]*Block, len(hashes))
	for i, h := range hashes {
		if out[i], err = fromRPCBlock(h, r.Blocks[i]); err != nil {
			return nil, fmt.Errorf("GetBlocks: %w", err)
		}
	}
	return out, nil
}

// VirtualChain is the change of the node's selected chain since a block.
type VirtualChain struct {
	Removed  []txbuild.Hash // chain blocks no longer on the chain
	Added    []txbuild.Hash // chain blocks added, oldest first
	Accepted []AcceptedTransactions
}

// AcceptedTransactions are the transactions a chain block accepted.
type AcceptedTransactions struct {
	Block txbuild.Hash
	IDs   []txbuild.Hash
}

// VirtualChainFromBlock returns the selected-chain blocks added since start
// (and those removed), optionally with the transactions each accepted.
func (c *Client) VirtualChainFromBlock(ctx context.Context, start txbuild.Hash, withAccepted bool) (VirtualChain, error) {
	r, err := call[*appmessage.GetVirtualSelectedParentChainFromBlockResponseMessage](ctx, c, "GetVirtualSelectedParentChainFromBlock",
		appmessage.NewGetVirtualSelectedParentChainFromBlockRequestMessage(start.String(), withAccepted))
	if err != nil {
		return VirtualChain{}, err
	}
	if err := nodeErr("GetVirtualSelectedParentChainFromBlock", r.Error); err != nil {
		return VirtualChain{}, err
	}
	var v VirtualChain
	if v.Removed, err = parseHashes("removed chain block", r.RemovedChainBlockHashes); err != nil {
		return VirtualChain{}, err
	}
	if v.Added, err = parseHashes("added chain block", r.AddedChainBlockHashes); err != nil {
		return VirtualChain{}, err
	}
	for _, a := range r.AcceptedTransactionIDs {
		if a == nil {
			continue
		}
		blk, err := txbuild.ParseHash(a.AcceptingBlockHash)
		if err != nil {
			return VirtualChain{}, fmt.Errorf("%w: accepting block: %w", ErrProtocol, err)
		}
		ids, err := parseHashes("accepted transaction", a.AcceptedTransactionIDs)
		if err != nil {
			return VirtualChain{}, err
		}
		v.Accepted = append(v.Accepted, AcceptedTransactions{Block: blk, IDs: ids})
	}
	return v, nil
}

func parseHashes(what string, in []string) ([]txbuild.Hash, error) {
	out := make([]txbuild.Hash, len(in))
	for i, s := range in {
		h, err := txbuild.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %q: %w", ErrProtocol, what, s, err)
		}
		out[i] = h
	}
	return out, nil
}
