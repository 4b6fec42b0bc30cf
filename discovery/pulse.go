package discovery

import (
	"fmt"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// signatureScriptSize is the size of a Schnorr input's signature script
// (OP_DATA_65, 64-byte signature, sighash type): the fee is computed with
// it in place so that the signed transaction weighs what was paid for.
const signatureScriptSize = 66

// maxFeeRounds bounds the fee iteration of BuildPulse; it settles in two
// or three rounds (a higher fee lowers the output, which raises the
// storage mass a little).
const maxFeeRounds = 32

// BuildPulse builds an unsigned pulse: one input spending utxo, one output
// paying the rest to to (a fresh change address of the node wallet),
// payload's bytes as the transaction payload. The fee is
// policy.RequiredFee at rate, computed from the real masses with a
// signature script of the final size in place: at least the relay floor
// (mainnet: 100 sompi × max(compute grams, 2 × bytes)) and at least rate ×
// max(compute, storage mass), the storage mass by KIP-9's relaxed formula
// for one input and one output, C/out − C/in.
//
// It returns the transaction and the UTXO entry its input spends, ready
// for the wallet to sign input 0. The error wraps ErrPayload for a payload
// ParsePayload would refuse, and ErrPulseInput, with the numbers, for a
// UTXO that cannot pay the fee, would leave a dust output, or is so small
// that the storage mass breaks policy.MassBudget (about 0.01 KAS and
// below).
func BuildPulse(utxo txbuild.UTXO, to address.Address, payload Payload, policy txbuild.Policy, rate txbuild.FeeRate) (*txbuild.Transaction, []txbuild.UTXOEntry, error) {
	b := payload.Encode()
	if _, err := ParsePayload(b); err != nil {
		return nil, nil, err
	}
	if to.IsZero() {
		return nil, nil, fmt.Errorf("build pulse: no destination address")
	}
	return buildPulseRaw(utxo, to.ScriptPublicKey(), b, policy, rate)
}

// buildPulseRaw is BuildPulse with the payload bytes as they are, so that
// tests can put malformed pulses on chain.
func buildPulseRaw(utxo txbuild.UTXO, to address.ScriptPublicKey, payload []byte, policy txbuild.Policy, rate txbuild.FeeRate) (*txbuild.Transaction, []txbuild.UTXOEntry, error) {
	in := utxo.Entry.Amount
	if in == 0 || in > amount.MaxSompi {
		return nil, nil, fmt.Errorf("%w: UTXO %s holds %d sompi", ErrPulseInput, utxo.Outpoint, in)
	}
	tx := &txbuild.Transaction{
		Inputs: []txbuild.Input{{
			PreviousOutpoint: utxo.Outpoint,
			SignatureScript:  make([]byte, signatureScriptSize),
			SigOpCount:       1,
		}},
		Outputs: []txbuild.Output{{Amount: in, ScriptPublicKey: to}},
		Payload: append([]byte(nil), payload...),
	}
	utxos := []txbuild.UTXOEntry{utxo.Entry}
	var (
		fee uint64
		m   txbuild.Masses
	)
	settled := false
	for range maxFeeRounds {
		if fee >= uint64(in) {
			return nil, nil, fmt.Errorf("%w: UTXO %s of %s cannot pay the fee of %d sompi (compute mass %d, KIP-9 storage mass %d grams, which grows as the output shrinks); use one of at least 0.1 KAS",
				ErrPulseInput, utxo.Outpoint, in, fee, m.Compute, m.Storage)
		}
		tx.Outputs[0].Amount = in - amount.Sompi(fee)
		var err error
		if m, err = txbuild.CalcMasses(tx, utxos); err != nil {
			return nil, nil, fmt.Errorf("%w: UTXO %s of %s: %w", ErrPulseInput, utxo.Outpoint, in, err)
		}
		need := policy.RequiredFee(tx, m, rate)
		if need <= fee {
			settled = true
			break
		}
		fee = need
	}
	if !settled {
		return nil, nil, fmt.Errorf("%w: UTXO %s of %s: the fee does not settle (last %d sompi); use one of at least 0.1 KAS",
			ErrPulseInput, utxo.Outpoint, in, fee)
	}
	out := tx.Outputs[0]
	if policy.DustRule && txbuild.IsDust(out) {
		return nil, nil, fmt.Errorf("%w: UTXO %s of %s leaves %s after the fee of %d sompi, which is dust; use one of at least 0.1 KAS",
			ErrPulseInput, utxo.Outpoint, in, out.Amount, fee)
	}
	for _, d := range []struct {
		name        string
		mass, limit uint64
	}{
		{"storage", m.Storage, txbuild.BlockStorageMassLimit},
		{"compute", m.Compute, txbuild.BlockComputeMassLimit},
		{"transient", m.Transient, txbuild.BlockTransientMassLimit},
	} {
		limit := d.limit
		if policy.MassBudget > 0 {
			limit = min(limit, policy.MassBudget)
		}
		if d.mass > limit {
			hint := ""
			if d.name == "storage" {
				hint = " (KIP-9: 10^12/output − 10^12/input grams); use a UTXO of at least 0.1 KAS"
			}
			return nil, nil, fmt.Errorf("%w: UTXO %s of %s: %s mass %d grams exceeds %d%s",
				ErrPulseInput, utxo.Outpoint, in, d.name, d.mass, limit, hint)
		}
	}
	tx.Inputs[0].SignatureScript = nil
	return tx, utxos, nil
}
