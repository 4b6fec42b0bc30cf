package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// defaultReserve is what a sweep leaves in the node wallet unless told
// otherwise: the original's FUND_AMOUNT_KAS, enough for years of pulses.
const defaultReserve = 2 * amount.SompiPerKAS

// maxSweepInputs is the most UTXOs one sweep spends: wallet.Funds.Send
// spends at most 80, to stay within the standard mass budget of 100,000
// grams (a P2PK input costs about 1,118).
const maxSweepInputs = 80

// errNothingToSweep: the wallet holds no more than the reserve and the fee.
var errNothingToSweep = errors.New("nothing to sweep")

// sweepArgs are the words after "sweep".
type sweepArgs struct {
	to      address.Address
	reserve amount.Sompi
	legacy  bool // the coins of the legacy keys, not the wallet's own
}

const sweepUsage = "usage: sweep ADDRESS [--reserve KAS] | sweep --legacy ADDRESS"

func parseSweepArgs(args []string, net address.Network) (sweepArgs, error) {
	a := sweepArgs{reserve: defaultReserve}
	var dest []string
	reserveGiven := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(arg, "=")
		switch {
		case name == "--reserve" || name == "-reserve":
			if !hasValue {
				if i+1 == len(args) {
					return a, errors.New("--reserve needs an amount of KAS; " + sweepUsage)
				}
				i++
				value = args[i]
			}
			r, err := amount.ParseKAS(value)
			if err != nil {
				return a, fmt.Errorf("--reserve: %w", err)
			}
			a.reserve = r
			reserveGiven = true
		case arg == "--legacy" || arg == "-legacy":
			a.legacy = true
		case strings.HasPrefix(arg, "-"):
			return a, fmt.Errorf("unknown option %s; %s", arg, sweepUsage)
		default:
			dest = append(dest, arg)
		}
	}
	if len(dest) != 1 {
		return a, errors.New(sweepUsage)
	}
	if a.legacy && reserveGiven {
		return a, errors.New("--legacy sweeps every legacy coin: no --reserve")
	}
	to, err := address.Parse(dest[0])
	if err != nil {
		return a, fmt.Errorf("%q: %w", dest[0], err)
	}
	if to.Network() != net {
		return a, fmt.Errorf("%s is a %v address; the node runs on %v", to, to.Network(), net)
	}
	a.to = to
	return a, nil
}

// sweepPlan is how much a sweep sends, worked out before the wallet
// builds it.
type sweepPlan struct {
	Amount amount.Sompi // to the destination
	Fee    amount.Sompi // estimated for Inputs inputs
	Inputs int          // the largest spendable UTXOs, at most maxSweepInputs
	Left   int          // spendable UTXOs left for another sweep
	LeftIn amount.Sompi // what they hold
}

// planSweep works out what a sweep of utxos (the wallet's spendable
// UTXOs, largest first, as wallet.Funds.UTXOs returns them) to to sends
// when it keeps reserve: amount = spendable − reserve − fee, the fee that
// of one transaction spending the largest UTXOs, at most 80, and paying
// the destination and, if the spent UTXOs must keep part of the reserve,
// a change output (of at least 0.2 KAS: one of 0.1 KAS alone fills the
// mass budget). UTXOs beyond the 80 largest stay for a later sweep and count
// toward the reserve.
//
// wallet.Funds.Send(to, amount) then builds the same transaction: it picks
// the largest UTXOs first, and its change is what the plan keeps.
func planSweep(utxos []txbuild.UTXO, to address.Address, reserve amount.Sompi, rate txbuild.FeeRate, policy txbuild.Policy) (sweepPlan, error) {
	var total amount.Sompi
	for _, u := range utxos {
		total += u.Entry.Amount // within MaxSompi: the node's coins
	}
	if len(utxos) == 0 {
		return sweepPlan{}, fmt.Errorf("%w: the node wallet has no spendable coins", errNothingToSweep)
	}
	p := sweepPlan{Inputs: min(len(utxos), maxSweepInputs)}
	spent := utxos[:p.Inputs]
	var in amount.Sompi
	for _, u := range spent {
		in += u.Entry.Amount
	}
	p.Left, p.LeftIn = len(utxos)-p.Inputs, total-in
	keep := amount.Sompi(0) // change the spent UTXOs keep
	if reserve > p.LeftIn {
		keep = reserve - p.LeftIn
	}
	// A change output costs 10^12 / amount grams of storage mass (KIP-9):
	// 0.1 KAS alone fills the standard budget. Keep at least twice that.
	budget := policy.MassBudget
	if budget == 0 {
		budget = txbuild.MaximumStandardMass
	}
	if minChange := amount.Sompi(2 * txbuild.StorageMassParameter / budget); keep > 0 && keep < minChange {
		keep = minChange
	}
	if keep >= in {
		return p, fmt.Errorf("%w: the node wallet holds %s spendable, not more than the %s reserve", errNothingToSweep, total, reserve)
	}

	tx := &txbuild.Transaction{Inputs: make([]txbuild.Input, len(spent))}
	entries := make([]txbuild.UTXOEntry, len(spent))
	for i, u := range spent {
		entries[i] = u.Entry
		// A Schnorr signature script's size (OP_DATA_65, 64 bytes,
		// sighash type), so the masses are those of the signed transaction.
		tx.Inputs[i] = txbuild.Input{PreviousOutpoint: u.Outpoint, SigOpCount: 1, SignatureScript: make([]byte, 66)}
	}
	// The wallet's change scripts are all as long as its P2PK UTXOs'.
	changeScript := spent[0].Entry.ScriptPublicKey
	var fee amount.Sompi
	for range 32 { // the fee grows each round and settles within a few
		if in <= keep+fee {
			return p, fmt.Errorf("%w: %s spendable, less the %s reserve, does not pay the %s fee", errNothingToSweep, total, reserve, fee)
		}
		tx.Outputs = []txbuild.Output{{Amount: in - keep - fee, ScriptPublicKey: to.ScriptPublicKey()}}
		if keep > 0 {
			tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: keep, ScriptPublicKey: changeScript})
		}
		m, err := txbuild.CalcMasses(tx, entries)
		if err != nil {
			return p, fmt.Errorf("sweep of %d UTXOs: %w", len(spent), err)
		}
		need := amount.Sompi(policy.RequiredFee(tx, m, rate))
		if need <= fee {
			p.Amount, p.Fee = in-keep-fee, fee
			return p, nil
		}
		fee = need
	}
	return p, fmt.Errorf("sweep of %d UTXOs: the fee did not settle (last %s); try another --reserve", len(spent), fee)
}
