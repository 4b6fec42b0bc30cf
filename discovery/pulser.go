package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// Pulse schedule.
const (
	// DefaultPulseInterval is the Python original's pulse interval (its
	// comments say six hours; its code says ten minutes).
	DefaultPulseInterval = 600 * time.Second
	// MinPulseInterval is the shortest interval NewPulser accepts, and
	// the debounce of Trigger: a pulse costs a fee.
	MinPulseInterval = 30 * time.Second
	// PulseInputMin is the smallest wallet UTXO the pulser asks for. Each
	// pulse's output is spent by the next, so one such UTXO pays for a
	// long run of pulses (mainnet: about 0.0017 KAS each at the floor).
	PulseInputMin amount.Sompi = 10_000_000
)

// pulseTimeout bounds one pulse started by Run.
const pulseTimeout = 2 * time.Minute

// PulseChain is what the pulser needs from a node; *node.Client satisfies
// it.
type PulseChain interface {
	FeeRate(ctx context.Context) (txbuild.FeeRate, error)
	SubmitTransaction(ctx context.Context, tx *txbuild.Transaction) (txbuild.Hash, error)
}

// PulseWallet is the node wallet; *wallet.Funds satisfies it.
// SelectChangeUTXO must pick only coins the wallet paid itself (its change
// chain), never one received on an address given out, such as a relay
// fee output: see Pulser.
type PulseWallet interface {
	SelectChangeUTXO(ctx context.Context, min amount.Sompi) (txbuild.UTXO, error)
	ChangeAddress(ctx context.Context) (address.Address, error)
	SignInput(ctx context.Context, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, i int) error
}

// PulserConfig configures a Pulser. Chain, Wallet, Network and PublicURL
// are required; the rest have defaults.
type PulserConfig struct {
	Chain   PulseChain
	Wallet  PulseWallet
	Network address.Network
	// Policy is the network's fee and standardness rules. Default
	// txbuild.PolicyFor(Network).
	Policy *txbuild.Policy
	// PublicURL is the relay URL the pulses announce, as wallets must
	// dial it (ws://host:port/kpp or wss://host/kpp). Required: kloak
	// never asks a third party for its own IP address.
	PublicURL string
	// Interval is the time between pulses. Default DefaultPulseInterval;
	// at least MinPulseInterval.
	Interval time.Duration
	// FeePolicy, if set, is announced in the pulses (fee_min, fee_unit);
	// nil announces nothing, which means kpp.DefaultFeePolicy.
	FeePolicy *kpp.FeePolicy
	// Logger receives a line per pulse. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of the payload's timestamp and of Status. Default
	// time.Now.
	Now func() time.Time
}

// PulseStatus is what a Pulser has done.
type PulseStatus struct {
	Sent   int          // pulses the node accepted since NewPulser
	LastTx txbuild.Hash // the last of them
	LastAt time.Time    // when it was sent
	NextAt time.Time    // when Run pulses next; zero when Run is not running or pulses are off
	// LastErr is the last attempt's error, nil after a success.
	LastErr error
	// PayloadRefused is true once the node refused a pulse's payload
	// (pre-Crescendo rules): the Pulser no longer tries.
	PayloadRefused bool
}

// Pulser announces a relay on chain: a pulse is a transaction of the
// node wallet to itself that carries the Payload (BuildPulse). It pulses
// from Run at start, every Interval, and on Trigger, and from PulseNow on
// demand, one pulse at a time.
//
// A pulse names the node in public, so it never spends a coin the node
// received: spending a relay fee output in a pulse would tie that payjoin
// to the node. Each pulse spends the output of the one before (kept in
// memory) while that holds at least PulseInputMin; the first pulse after
// a start, and the one after the chain runs low, spends the smallest UTXO
// of at least PulseInputMin on the wallet's change chain
// (PulseWallet.SelectChangeUTXO): coins the operator sent to one of the
// node wallet's change addresses (wallet.Funds.ChangeAddress; kloaknode's
// fundaddr gives one), or earlier pulses' outputs. Pulses pay their
// output to a fresh change address.
//
// A node whose kaspad refuses transaction payloads (pre-Crescendo rules,
// e.g. Go kaspad's "transaction in the native subnetwork includes a
// payload") is told once at Warn; pulses are then off, Run keeps running
// without error, and the relay is not affected.
type Pulser struct {
	cfg     PulserConfig
	policy  txbuild.Policy
	log     *slog.Logger
	trigger chan struct{}
	running atomic.Bool

	pulseMu sync.Mutex // one pulse at a time; guards prev and unused
	prev    *txbuild.UTXO
	unused  address.Address // reserved by a pulse the node did not take; the next one uses it

	mu          sync.Mutex // guards st and lastSuccess
	st          PulseStatus
	lastSuccess time.Time
}

// NewPulser checks cfg and returns a Pulser. It refuses a config without
// a wallet, without a public URL (the operator's --public-url), or with
// an interval under MinPulseInterval.
func NewPulser(cfg PulserConfig) (*Pulser, error) {
	switch {
	case cfg.Wallet == nil:
		return nil, errors.New("discovery: no node wallet: pulses are paid from it (PulserConfig.Wallet)")
	case cfg.Chain == nil:
		return nil, errors.New("discovery: no kaspa node to submit pulses to (PulserConfig.Chain)")
	case cfg.PublicURL == "":
		return nil, errors.New("discovery: no public relay URL to announce: set --public-url (e.g. wss://relay.example.com/kpp or ws://203.0.113.7:8765/kpp); kloak does not look up its own IP address")
	case cfg.Network.Prefix() == "":
		return nil, fmt.Errorf("discovery: PulserConfig.Network %d is not a Kaspa network", cfg.Network)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultPulseInterval
	}
	if cfg.Interval < MinPulseInterval {
		return nil, fmt.Errorf("discovery: pulse interval %v is under the minimum %v (each pulse pays a fee)", cfg.Interval, MinPulseInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := NewPayload(cfg.PublicURL, cfg.Now(), cfg.FeePolicy); err != nil {
		return nil, fmt.Errorf("discovery: public URL: %w", err)
	}
	p := &Pulser{cfg: cfg, log: cfg.Logger, trigger: make(chan struct{}, 1)}
	if cfg.Policy != nil {
		p.policy = *cfg.Policy
	} else {
		p.policy = txbuild.PolicyFor(cfg.Network)
	}
	if isLocalURL(cfg.PublicURL) && (cfg.Network == address.Mainnet || cfg.Network == address.Testnet) {
		p.log.Warn("pulses will announce a local address that nobody else can reach; wallets skip it", "url", cfg.PublicURL)
	}
	return p, nil
}

// Run pulses at once, then every Interval after the last attempt, and on
// Trigger unless the last successful pulse is under MinPulseInterval old.
// It returns nil when ctx ends. A failed pulse is logged and shown in
// Status; it does not end Run, nor does a node that refuses payloads.
func (p *Pulser) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("discovery: Pulser.Run is already running")
	}
	defer p.running.Store(false)
	defer p.setNext(time.Time{})
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-p.trigger:
			if p.Status().PayloadRefused {
				continue
			}
			if ago, ok := p.recentSuccess(); ok {
				p.log.Debug("pulse request ignored: the last pulse is recent", "ago", ago.Round(time.Second))
				continue
			}
		}
		pctx, cancel := context.WithTimeout(ctx, pulseTimeout)
		_, _ = p.PulseNow(pctx)
		cancel()
		if p.Status().PayloadRefused {
			timer.Stop()
			p.setNext(time.Time{})
			continue
		}
		timer.Reset(p.cfg.Interval)
		p.setNext(p.cfg.Now().Add(p.cfg.Interval))
	}
}

// Trigger asks Run for a pulse now (the original's immediate pulse). It
// never blocks; Run ignores it if the last successful pulse is under
// MinPulseInterval old.
func (p *Pulser) Trigger() {
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// PulseNow sends one pulse and returns its transaction id, whether or not
// Run is running (the operator's "pulse" command). Once the node has
// refused a payload it returns ErrPayloadRefused without trying.
func (p *Pulser) PulseNow(ctx context.Context) (txbuild.Hash, error) {
	p.pulseMu.Lock()
	defer p.pulseMu.Unlock()
	if p.Status().PayloadRefused {
		return txbuild.Hash{}, fmt.Errorf("discovery: %w", ErrPayloadRefused)
	}
	id, fee, err := p.pulse(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		now := p.cfg.Now()
		p.st.Sent++
		p.st.LastTx, p.st.LastAt, p.st.LastErr = id, now, nil
		p.lastSuccess = now
		p.log.Info("pulse sent", "tx", id, "url", p.cfg.PublicURL, "fee_sompi", uint64(fee))
		return id, nil
	}
	p.st.LastErr = err
	switch {
	case errors.Is(err, ErrPayloadRefused):
		p.st.PayloadRefused = true
		p.log.Warn("this kaspad refuses transaction payloads (pre-Crescendo rules): pulses are off, relaying continues", "err", err)
	case ctx.Err() != nil:
		// Shutting down, or the caller gave up: not worth a warning.
	default:
		p.log.Warn("pulse failed", "url", p.cfg.PublicURL, "err", err)
	}
	return txbuild.Hash{}, err
}

// Status returns what the Pulser has done so far.
func (p *Pulser) Status() PulseStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *Pulser) setNext(t time.Time) {
	p.mu.Lock()
	p.st.NextAt = t
	p.mu.Unlock()
}

// recentSuccess reports whether the last successful pulse is under
// MinPulseInterval old, and how old it is.
func (p *Pulser) recentSuccess() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastSuccess.IsZero() {
		return 0, false
	}
	ago := p.cfg.Now().Sub(p.lastSuccess)
	return ago, ago < MinPulseInterval
}

// pulse builds, signs and submits one pulse. p.pulseMu is held.
func (p *Pulser) pulse(ctx context.Context) (txbuild.Hash, amount.Sompi, error) {
	rate, err := p.cfg.Chain.FeeRate(ctx)
	if err != nil {
		return txbuild.Hash{}, 0, fmt.Errorf("pulse: fee rate: %w", err)
	}
	payload, err := NewPayload(p.cfg.PublicURL, p.cfg.Now(), p.cfg.FeePolicy)
	if err != nil {
		return txbuild.Hash{}, 0, fmt.Errorf("pulse: %w", err)
	}
	// A dry run with the input's own script in place of the fresh
	// address (same length for the wallet's keys) checks the input before
	// a change address is reserved.
	canPay := func(u txbuild.UTXO) error {
		_, _, err := buildPulseRaw(u, u.Entry.ScriptPublicKey, payload.Encode(), p.policy, rate)
		return err
	}
	var input txbuild.UTXO
	chained := false
	if p.prev != nil && p.prev.Entry.Amount >= PulseInputMin && canPay(*p.prev) == nil {
		input, chained = *p.prev, true
	} else {
		p.prev = nil
		u, err := p.cfg.Wallet.SelectChangeUTXO(ctx, PulseInputMin)
		if err != nil {
			return txbuild.Hash{}, 0, fmt.Errorf("pulse: the node wallet needs a UTXO of at least %s on its change chain "+
				"(send one to a change address of the node wallet; received coins such as relay fees are never pulsed): %w", PulseInputMin, err)
		}
		if err := canPay(u); err != nil {
			return txbuild.Hash{}, 0, fmt.Errorf("pulse: %w", err)
		}
		input = u
	}
	to := p.unused
	if to.IsZero() {
		if to, err = p.cfg.Wallet.ChangeAddress(ctx); err != nil {
			return txbuild.Hash{}, 0, fmt.Errorf("pulse: change address: %w", err)
		}
		p.unused = to
	}
	tx, utxos, err := BuildPulse(input, to, payload, p.policy, rate)
	if err != nil {
		return txbuild.Hash{}, 0, fmt.Errorf("pulse: %w", err)
	}
	if err := p.cfg.Wallet.SignInput(ctx, tx, utxos, 0); err != nil {
		return txbuild.Hash{}, 0, fmt.Errorf("pulse: sign: %w", err)
	}
	if probs := p.policy.Check(tx, utxos, rate); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, pr := range probs {
			msgs[i] = pr.Rule + ": " + pr.Message
		}
		return txbuild.Hash{}, 0, fmt.Errorf("pulse: the signed pulse breaks the network's rules: %s", strings.Join(msgs, "; "))
	}
	fee, _ := txbuild.Fee(tx, utxos)
	id, err := p.cfg.Chain.SubmitTransaction(ctx, tx)
	if err != nil {
		var rej *node.RejectedError
		if errors.As(err, &rej) {
			if refusesPayload(rej.Reason) {
				return txbuild.Hash{}, 0, fmt.Errorf("%w: %w", ErrPayloadRefused, err)
			}
			if chained {
				p.prev = nil // spent, or its pulse never made it: use the wallet next time
			}
		}
		return txbuild.Hash{}, 0, fmt.Errorf("pulse: %w", err)
	}
	p.unused = address.Address{}
	p.prev = &txbuild.UTXO{
		Address:  to,
		Outpoint: txbuild.Outpoint{TransactionID: id, Index: 0},
		Entry:    txbuild.UTXOEntry{Amount: tx.Outputs[0].Amount, ScriptPublicKey: tx.Outputs[0].ScriptPublicKey},
	}
	return id, fee, nil
}

// refusesPayload reports whether a node's rejection is about the
// transaction's payload: Go kaspad and rusty-kaspa before Crescendo
// refuse any payload on a native transaction and say so.
func refusesPayload(reason string) bool {
	return strings.Contains(strings.ToLower(reason), "payload")
}
