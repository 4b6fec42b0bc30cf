package txbuild

import (
	"fmt"
	"math/bits"
)

// Mass parameters of Kaspa mainnet (rusty-kaspa consensus/core/src/config/params.rs,
// consensus/core/src/constants.rs, consensus/core/src/mass/units.rs).
const (
	MassPerTxByte           = 1
	MassPerScriptPubKeyByte = 10
	MassPerSigOp            = 1000
	TransientMassPerByte    = 4                 // TRANSIENT_BYTE_TO_MASS_FACTOR
	StorageMassParameter    = 1_000_000_000_000 // C = 10^12 (KIP-9)
	BlockComputeMassLimit   = 500_000
	BlockStorageMassLimit   = 500_000
	BlockTransientMassLimit = 1_000_000
	MaximumStandardMass     = 100_000 // rusty-kaspa wallet SDK MAXIMUM_STANDARD_TRANSACTION_MASS
	utxoConstStorage        = 63      // bytes of a UTXO besides its script
	utxoUnitSize            = 100     // bytes per storage "plurality" unit
)

// Masses are the three mass dimensions of a transaction, in grams.
type Masses struct {
	Compute   uint64 // bytes, script public key bytes and sig-ops
	Storage   uint64 // KIP-9 persistent storage mass
	Transient uint64 // 4 × serialized size
}

// SerializedSize is the estimated serialized size of tx in bytes that the
// mass rules use (rusty-kaspa transaction_estimated_serialized_size, for
// version 0).
func SerializedSize(tx *Transaction) uint64 {
	size := uint64(2 + 8) // version, input count
	for i := range tx.Inputs {
		size += 32 + 4 + 8 + uint64(len(tx.Inputs[i].SignatureScript)) + 8
	}
	size += 8 // output count
	for i := range tx.Outputs {
		size += 8 + 2 + 8 + uint64(len(tx.Outputs[i].ScriptPublicKey.Script))
	}
	size += 8 + 20 + 8 + 32 + 8 + uint64(len(tx.Payload)) // lock time, subnetwork, gas, payload hash, payload
	return size
}

// ComputeMass returns the compute mass of tx: serialized size, plus 10 grams
// per byte of output script public keys (with their 2-byte version), plus
// 1,000 grams per declared sig-op. A coinbase weighs nothing.
func ComputeMass(tx *Transaction) uint64 {
	if tx.IsCoinbase() {
		return 0
	}
	var spk, sigOps uint64
	for i := range tx.Outputs {
		spk += 2 + uint64(len(tx.Outputs[i].ScriptPublicKey.Script))
	}
	for i := range tx.Inputs {
		sigOps += uint64(tx.Inputs[i].SigOpCount)
	}
	return SerializedSize(tx)*MassPerTxByte + spk*MassPerScriptPubKeyByte + sigOps*MassPerSigOp
}

// TransientMass returns the transient storage mass of tx, 4 grams per byte.
func TransientMass(tx *Transaction) uint64 {
	if tx.IsCoinbase() {
		return 0
	}
	return SerializedSize(tx) * TransientMassPerByte
}

// Plurality is the number of 100-byte storage units a UTXO with a script
// of scriptLen bytes occupies; 1 for every standard script.
func Plurality(scriptLen int) uint64 {
	return (utxoConstStorage + uint64(scriptLen) + utxoUnitSize - 1) / utxoUnitSize
}

// StorageCell is a UTXO as KIP-9 sees it: its amount and plurality.
type StorageCell struct {
	Amount    uint64
	Plurality uint64
}

// StorageMass computes KIP-9 storage mass exactly as rusty-kaspa's
// calc_storage_mass does, with integer division in the same places:
//
//	general: max(0, Σ_o C·p²/o − |I|·(C / mean(I)))
//	relaxed: max(0, Σ_o C·p²/o − Σ_i C·p²/i)  when |O| = 1, |I| = 1 or |O| = |I| = 2
//
// (|O| and |I| counted in plurality units). Every amount must be non-zero
// and there must be at least one input. It returns
// ErrStorageMassIncomputable where rusty-kaspa returns None.
func StorageMass(inputs, outputs []StorageCell) (uint64, error) {
	if len(inputs) == 0 {
		return 0, ErrNoInputs
	}
	var outsPlurality, harmonicOuts uint64
	for i, o := range outputs {
		if o.Amount == 0 {
			return 0, fmt.Errorf("output %d: %w", i, ErrZeroOutput)
		}
		hi, lo := bits.Mul64(StorageMassParameter, o.Plurality)
		if hi != 0 {
			return 0, ErrStorageMassIncomputable
		}
		hi, lo = bits.Mul64(lo, o.Plurality)
		if hi != 0 {
			return 0, ErrStorageMassIncomputable
		}
		var carry uint64
		harmonicOuts, carry = bits.Add64(harmonicOuts, lo/o.Amount, 0)
		if carry != 0 {
			return 0, ErrStorageMassIncomputable
		}
		outsPlurality += o.Plurality
	}
	var insPlurality, sumIns uint64
	for i, in := range inputs {
		if in.Amount == 0 {
			return 0, fmt.Errorf("input %d: UTXO of 0 sompi", i)
		}
		insPlurality += in.Plurality
		sumIns += in.Amount
	}
	if outsPlurality == 1 || insPlurality == 1 || (outsPlurality == 2 && insPlurality == 2) {
		var harmonicIns uint64
		for _, in := range inputs {
			v := StorageMassParameter * in.Plurality * in.Plurality / in.Amount
			if harmonicIns+v < harmonicIns {
				harmonicIns = ^uint64(0)
			} else {
				harmonicIns += v
			}
		}
		return subFloor0(harmonicOuts, harmonicIns), nil
	}
	mean := sumIns / insPlurality
	if mean == 0 {
		mean = 1
	}
	hi, arithmeticIns := bits.Mul64(insPlurality, StorageMassParameter/mean)
	if hi != 0 {
		arithmeticIns = ^uint64(0)
	}
	return subFloor0(harmonicOuts, arithmeticIns), nil
}

func subFloor0(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// TxStorageMass returns the storage mass of tx spending utxos.
func TxStorageMass(tx *Transaction, utxos []UTXOEntry) (uint64, error) {
	if err := checkUTXOs(tx, utxos); err != nil {
		return 0, err
	}
	if tx.IsCoinbase() {
		return 0, nil
	}
	ins := make([]StorageCell, len(utxos))
	for i, u := range utxos {
		ins[i] = StorageCell{Amount: uint64(u.Amount), Plurality: Plurality(len(u.ScriptPublicKey.Script))}
	}
	outs := make([]StorageCell, len(tx.Outputs))
	for i, o := range tx.Outputs {
		outs[i] = StorageCell{Amount: uint64(o.Amount), Plurality: Plurality(len(o.ScriptPublicKey.Script))}
	}
	return StorageMass(ins, outs)
}

// CalcMasses returns all three masses of tx spending utxos.
func CalcMasses(tx *Transaction, utxos []UTXOEntry) (Masses, error) {
	storage, err := TxStorageMass(tx, utxos)
	if err != nil {
		return Masses{}, err
	}
	return Masses{Compute: ComputeMass(tx), Storage: storage, Transient: TransientMass(tx)}, nil
}
