package txbuild

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
)

// SubnetworkID identifies the subnetwork of a transaction. Ordinary
// payments use the native subnetwork, all zeros.
type SubnetworkID [20]byte

// SubnetworkNative is the native subnetwork of ordinary transactions.
var SubnetworkNative SubnetworkID

// SubnetworkCoinbase is the subnetwork of coinbase transactions.
var SubnetworkCoinbase = SubnetworkID{1}

// String returns the id as 40 hex characters.
func (s SubnetworkID) String() string { return hex.EncodeToString(s[:]) }

// Outpoint names a transaction output: the id of the transaction and the
// output's index in it.
type Outpoint struct {
	TransactionID Hash
	Index         uint32
}

// String returns "txid:index".
func (o Outpoint) String() string { return fmt.Sprintf("%s:%d", o.TransactionID, o.Index) }

// Input spends a previous output.
type Input struct {
	PreviousOutpoint Outpoint
	SignatureScript  []byte
	Sequence         uint64
	SigOpCount       uint8
}

// Output pays Amount to the holder of ScriptPublicKey.
type Output struct {
	Amount          amount.Sompi
	ScriptPublicKey address.ScriptPublicKey
}

// Transaction is a Kaspa transaction, version 0 as kloak builds them. Its
// JSON form is kaspad's RPC RpcTransaction (see the package doc).
type Transaction struct {
	Version      uint16
	Inputs       []Input
	Outputs      []Output
	LockTime     uint64
	SubnetworkID SubnetworkID
	Gas          uint64
	Payload      []byte
	// Mass is the storage mass the transaction commits to (rusty-kaspa's
	// mass commitment, hashed into the transaction hash when non-zero).
	// Wallets leave it zero.
	Mass uint64
}

// UTXOEntry is the previous output an input spends, as the node's UTXO set
// holds it. Signature hashes, storage mass and fees need one per input.
type UTXOEntry struct {
	Amount          amount.Sompi
	ScriptPublicKey address.ScriptPublicKey
	BlockDAAScore   uint64
	IsCoinbase      bool
}

// UTXO is an unspent output: where it is, what it holds, and the address
// it pays to.
type UTXO struct {
	Address  address.Address
	Outpoint Outpoint
	Entry    UTXOEntry
}

// Clone returns a deep copy of tx.
func (tx *Transaction) Clone() *Transaction {
	c := *tx
	c.Inputs = make([]Input, len(tx.Inputs))
	for i, in := range tx.Inputs {
		in.SignatureScript = bytes.Clone(in.SignatureScript)
		c.Inputs[i] = in
	}
	c.Outputs = make([]Output, len(tx.Outputs))
	for i, out := range tx.Outputs {
		out.ScriptPublicKey.Script = bytes.Clone(out.ScriptPublicKey.Script)
		c.Outputs[i] = out
	}
	c.Payload = bytes.Clone(tx.Payload)
	return &c
}

// IsCoinbase reports whether tx is a coinbase transaction.
func (tx *Transaction) IsCoinbase() bool { return tx.SubnetworkID == SubnetworkCoinbase }

// TotalOut returns the sum of the output amounts, or an error if it
// exceeds the maximum supply.
func (tx *Transaction) TotalOut() (amount.Sompi, error) {
	var sum amount.Sompi
	for i, o := range tx.Outputs {
		s, err := amount.Add(sum, o.Amount)
		if err != nil {
			return 0, fmt.Errorf("output %d: %w", i, err)
		}
		sum = s
	}
	return sum, nil
}

// TotalIn returns the sum of the UTXO amounts, or an error if it exceeds
// the maximum supply.
func TotalIn(utxos []UTXOEntry) (amount.Sompi, error) {
	var sum amount.Sompi
	for i, u := range utxos {
		s, err := amount.Add(sum, u.Amount)
		if err != nil {
			return 0, fmt.Errorf("input %d: %w", i, err)
		}
		sum = s
	}
	return sum, nil
}

// Fee returns the amount the inputs pay beyond the outputs.
func Fee(tx *Transaction, utxos []UTXOEntry) (amount.Sompi, error) {
	if err := checkUTXOs(tx, utxos); err != nil {
		return 0, err
	}
	in, err := TotalIn(utxos)
	if err != nil {
		return 0, err
	}
	out, err := tx.TotalOut()
	if err != nil {
		return 0, err
	}
	if out > in {
		return 0, fmt.Errorf("%w: outputs %d sompi > inputs %d sompi", ErrOutputsExceedInputs, out, in)
	}
	return in - out, nil
}

func checkUTXOs(tx *Transaction, utxos []UTXOEntry) error {
	if len(utxos) != len(tx.Inputs) {
		return fmt.Errorf("%w: %d inputs, %d UTXO entries", ErrUTXOCount, len(tx.Inputs), len(utxos))
	}
	return nil
}
