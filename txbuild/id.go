package txbuild

// ID returns the transaction id: keyed BLAKE2b-256 ("TransactionID") over the
// transaction with empty signature scripts, without sig-op counts and without
// the mass commitment (rusty-kaspa consensus/core/src/hashing/tx.rs, id_v0).
// Signing does not change a transaction's id.
func (tx *Transaction) ID() Hash {
	w := newBlake2b(keyTransactionID)
	tx.write(w, false)
	return w.sum()
}

// Hash returns the transaction hash that a block's merkle root commits to:
// keyed BLAKE2b-256 ("TransactionHash") over the whole transaction, with
// signature scripts, sig-op counts and, when non-zero, the mass commitment.
func (tx *Transaction) Hash() Hash {
	w := newBlake2b(keyTransactionHash)
	tx.write(w, true)
	if tx.Mass > 0 {
		w.u64(tx.Mass)
	}
	return w.sum()
}

func (tx *Transaction) write(w *writer, withScripts bool) {
	w.u16(tx.Version).u64(uint64(len(tx.Inputs)))
	for i := range tx.Inputs {
		in := &tx.Inputs[i]
		w.bytes(in.PreviousOutpoint.TransactionID[:]).u32(in.PreviousOutpoint.Index)
		if withScripts {
			w.varBytes(in.SignatureScript).u8(in.SigOpCount)
		} else {
			w.u64(0)
		}
		w.u64(in.Sequence)
	}
	w.u64(uint64(len(tx.Outputs)))
	for i := range tx.Outputs {
		writeOutput(w, &tx.Outputs[i])
	}
	w.u64(tx.LockTime).bytes(tx.SubnetworkID[:]).u64(tx.Gas).varBytes(tx.Payload)
}

func writeOutput(w *writer, o *Output) {
	w.u64(uint64(o.Amount)).u16(o.ScriptPublicKey.Version).varBytes(o.ScriptPublicKey.Script)
}
