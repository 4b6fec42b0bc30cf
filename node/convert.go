package node

import (
	"encoding/hex"
	"fmt"

	"github.com/kaspanet/kaspad/app/appmessage"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// ToRPCTransaction converts tx to kaspad's RPC message form.
func ToRPCTransaction(tx *txbuild.Transaction) *appmessage.RPCTransaction {
	r := &appmessage.RPCTransaction{
		Version:      tx.Version,
		LockTime:     tx.LockTime,
		SubnetworkID: tx.SubnetworkID.String(),
		Gas:          tx.Gas,
		Payload:      hex.EncodeToString(tx.Payload),
		Mass:         tx.Mass,
	}
	for _, in := range tx.Inputs {
		r.Inputs = append(r.Inputs, &appmessage.RPCTransactionInput{
			PreviousOutpoint: &appmessage.RPCOutpoint{TransactionID: in.PreviousOutpoint.TransactionID.String(), Index: in.PreviousOutpoint.Index},
			SignatureScript:  hex.EncodeToString(in.SignatureScript),
			Sequence:         in.Sequence,
			SigOpCount:       in.SigOpCount,
		})
	}
	for _, o := range tx.Outputs {
		r.Outputs = append(r.Outputs, &appmessage.RPCTransactionOutput{
			Amount:          uint64(o.Amount),
			ScriptPublicKey: &appmessage.RPCScriptPublicKey{Version: o.ScriptPublicKey.Version, Script: hex.EncodeToString(o.ScriptPublicKey.Script)},
		})
	}
	return r
}

// FromRPCTransaction converts kaspad's RPC form to a transaction, checking
// every hex field.
func FromRPCTransaction(r *appmessage.RPCTransaction) (*txbuild.Transaction, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil transaction", ErrProtocol)
	}
	tx := &txbuild.Transaction{Version: r.Version, LockTime: r.LockTime, Gas: r.Gas, Mass: r.Mass}
	sub, err := hex.DecodeString(r.SubnetworkID)
	if err != nil || len(sub) != len(tx.SubnetworkID) {
		return nil, fmt.Errorf("%w: subnetwork id %q", ErrProtocol, r.SubnetworkID)
	}
	copy(tx.SubnetworkID[:], sub)
	if tx.Payload, err = hex.DecodeString(r.Payload); err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrProtocol, err)
	}
	for i, in := range r.Inputs {
		if in == nil || in.PreviousOutpoint == nil {
			return nil, fmt.Errorf("%w: input %d incomplete", ErrProtocol, i)
		}
		id, err := txbuild.ParseHash(in.PreviousOutpoint.TransactionID)
		if err != nil {
			return nil, fmt.Errorf("%w: input %d: %w", ErrProtocol, i, err)
		}
		sig, err := hex.DecodeString(in.SignatureScript)
		if err != nil {
			return nil, fmt.Errorf("%w: input %d signature script: %w", ErrProtocol, i, err)
		}
		tx.Inputs = append(tx.Inputs, txbuild.Input{
			PreviousOutpoint: txbuild.Outpoint{TransactionID: id, Index: in.PreviousOutpoint.Index},
			SignatureScript:  sig, Sequence: in.Sequence, SigOpCount: in.SigOpCount,
		})
	}
	for i, o := range r.Outputs {
		if o == nil || o.ScriptPublicKey == nil {
			return nil, fmt.Errorf("%w: output %d incomplete", ErrProtocol, i)
		}
		script, err := hex.DecodeString(o.ScriptPublicKey.Script)
		if err != nil {
			return nil, fmt.Errorf("%w: output %d script: %w", ErrProtocol, i, err)
		}
		tx.Outputs = append(tx.Outputs, txbuild.Output{
			Amount:          amount.Sompi(o.Amount),
			ScriptPublicKey: address.ScriptPublicKey{Version: o.ScriptPublicKey.Version, Script: script},
		})
	}
	return tx, nil
}

// fromRPCBlock converts a block the node sent as hash, checking the
// header, every parent hash and every transaction.
func fromRPCBlock(hash txbuild.Hash, r *appmessage.RPCBlock) (*Block, error) {
	if r == nil || r.Header == nil {
		return nil, fmt.Errorf("%w: block %s without header", ErrProtocol, hash)
	}
	if r.VerboseData != nil && r.VerboseData.Hash != "" && r.VerboseData.Hash != hash.String() {
		return nil, fmt.Errorf("%w: block %s sent as %s", ErrProtocol, r.VerboseData.Hash, hash)
	}
	h := r.Header
	b := &Block{Hash: hash, Timestamp: h.Timestamp, DAAScore: h.DAAScore, BlueScore: h.BlueScore}
	for l, lp := range h.Parents {
		if lp == nil {
			return nil, fmt.Errorf("%w: block %s: no parents at level %d", ErrProtocol, hash, l)
		}
		ps, err := parseHashes("parent", lp.ParentHashes)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", hash, err)
		}
		b.ParentsByLevel = append(b.ParentsByLevel, ps)
	}
	if len(b.ParentsByLevel) > 0 {
		b.Parents = b.ParentsByLevel[0]
	}
	if r.VerboseData != nil {
		b.IsChainBlock = r.VerboseData.IsChainBlock
	}
	for _, t := range r.Transactions {
		tx, err := FromRPCTransaction(t)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", hash, err)
		}
		b.Transactions = append(b.Transactions, tx)
	}
	return b, nil
}
