package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// legacyWallet is the node wallet's keys imported from a Python node
// (`kloaknode wallet import-python`); *wallet.Wallet has them.
type legacyWallet interface {
	LegacyKeys() ([]wallet.LegacyKey, error)
}

// legacySweep is a signed transaction moving the coins of the legacy
// keys to one address.
type legacySweep struct {
	tx        *txbuild.Transaction
	plan      sweepPlan
	fee       amount.Sompi
	addresses int // legacy addresses with coins
}

// buildLegacySweep builds and signs the sweep of every spendable coin on
// the legacy addresses (at most 80, the largest) to to, keeping nothing:
// the Python node's keys follow a derivation no standard wallet knows,
// so their coins should all move to a standard address. Coinbase outputs
// younger than maturity are left.
func (c *console) buildLegacySweep(ctx context.Context, to address.Address, rate txbuild.FeeRate, policy txbuild.Policy) (*legacySweep, error) {
	keys, err := c.legacy.LegacyKeys()
	if err != nil {
		return nil, err
	}
	owner := make(map[string]wallet.LegacyKey)
	var addrs []address.Address
	others := 0
	for _, k := range keys {
		if k.Address.Network() != c.network {
			others++
			continue
		}
		owner[string(k.Address.ScriptPublicKey().Script)] = k
		addrs = append(addrs, k.Address)
	}
	switch {
	case len(keys) == 0:
		return nil, fmt.Errorf("%w: the node wallet holds no legacy keys (kloaknode wallet import-python imports them)", errNothingToSweep)
	case len(addrs) == 0:
		return nil, fmt.Errorf("%w: the %d legacy keys are %v addresses; the node runs on %v", errNothingToSweep, others, keys[0].Address.Network(), c.network)
	}
	daa, err := c.chain.VirtualDAAScore(ctx)
	if err != nil {
		return nil, err
	}
	found, err := c.chain.UTXOsByAddresses(ctx, addrs)
	if err != nil {
		return nil, err
	}
	var utxos []txbuild.UTXO
	for _, u := range found {
		_, ok := owner[string(u.Entry.ScriptPublicKey.Script)]
		if !ok || u.Entry.ScriptPublicKey.Version != 0 || u.Entry.Amount == 0 ||
			u.Entry.IsCoinbase && (u.Entry.BlockDAAScore > daa || daa-u.Entry.BlockDAAScore < c.maturity) {
			continue
		}
		utxos = append(utxos, u)
	}
	slices.SortFunc(utxos, func(a, b txbuild.UTXO) int { // largest first
		switch {
		case a.Entry.Amount > b.Entry.Amount:
			return -1
		case a.Entry.Amount < b.Entry.Amount:
			return 1
		}
		return 0
	})
	plan, err := planSweep(utxos, to, 0, rate, policy)
	if err != nil {
		return nil, err
	}
	tx := &txbuild.Transaction{Outputs: []txbuild.Output{{Amount: plan.Amount, ScriptPublicKey: to.ScriptPublicKey()}}}
	entries := make([]txbuild.UTXOEntry, plan.Inputs)
	funded := make(map[string]bool)
	for i, u := range utxos[:plan.Inputs] {
		tx.Inputs = append(tx.Inputs, txbuild.Input{PreviousOutpoint: u.Outpoint, SigOpCount: 1})
		entries[i] = u.Entry
		funded[string(u.Entry.ScriptPublicKey.Script)] = true
	}
	s, err := txbuild.NewSigHasher(tx, entries)
	if err != nil {
		return nil, err
	}
	for i, e := range entries {
		// The key's own storage, wiped when the wallet closes.
		priv, err := owner[string(e.ScriptPublicKey.Script)].PrivateKey()
		if err != nil {
			return nil, err
		}
		if err := s.SignInput(i, txbuild.SigHashAll, priv); err != nil {
			return nil, err
		}
	}
	if probs := policy.Check(tx, entries, rate); len(probs) > 0 {
		return nil, &wallet.PolicyError{Problems: probs}
	}
	fee, err := txbuild.Fee(tx, entries)
	if err != nil {
		return nil, err
	}
	return &legacySweep{tx: tx, plan: plan, fee: fee, addresses: len(funded)}, nil
}
