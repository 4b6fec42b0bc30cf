package kpp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// UTXOLookup looks an unspent output up on the wallet's own node.
// *node.Client satisfies it.
type UTXOLookup interface {
	// LookupUTXO returns the unspent output at outpoint if the node holds
	// it for addr, and an error otherwise.
	LookupUTXO(ctx context.Context, addr address.Address, outpoint txbuild.Outpoint) (txbuild.UTXOEntry, error)
}

// ReceiverChain is the receiver's view of the network. *node.Client
// satisfies it.
type ReceiverChain interface {
	UTXOLookup
	// TransactionSeen reports whether the node has the transaction id in its
	// mempool or addr holds an output it created.
	TransactionSeen(ctx context.Context, id txbuild.Hash, addr address.Address) (bool, error)
}

// ReceiverWallet is what a receiving wallet lends a payjoin. *wallet.Funds
// satisfies it.
type ReceiverWallet interface {
	// ContributeUTXO picks one of the wallet's UTXOs to add to a payjoin
	// paying it payment (txbuild.ReceiverCoin: a coin like one a sender of
	// that payment would spend, so that either input reads as the
	// sender's).
	ContributeUTXO(ctx context.Context, payment amount.Sompi) (txbuild.UTXO, error)
	// FreshAddresses returns n addresses the wallet never handed out.
	FreshAddresses(ctx context.Context, n int) ([]address.Address, error)
	// SignInput signs input i of tx, which spends utxos[i], a UTXO of the
	// wallet, with SIGHASH_ALL.
	SignInput(ctx context.Context, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, i int) error
}

// Step is a stage of a payjoin that a wallet may show a person.
type Step int

// The steps, in order.
const (
	StepWaitingForSender Step = iota // receiver: the URI is shown
	StepSenderArrived                // receiver: a sender paired and sent its data
	StepProposalSigned               // receiver: the proposal passed every check; its input is signed
	StepBroadcastClaimed             // receiver: the sender says it broadcast
	StepBroadcastSeen                // receiver: its node shows the transaction
	StepPaired                       // sender: the relay paired us with the receiver
	StepProposalSent                 // sender: the proposal went to the receiver
	StepReceiverSigned               // sender: the receiver's signature checked out
	StepBroadcast                    // sender: the node accepted the transaction
)

func (s Step) String() string {
	return [...]string{"waiting for sender", "sender arrived", "proposal signed", "broadcast claimed", "broadcast seen",
		"paired", "proposal sent", "receiver signed", "broadcast"}[s]
}

// Event reports a step.
type Event struct {
	Step          Step
	TransactionID txbuild.Hash // from StepProposalSigned / StepReceiverSigned on
}

// Timeouts bound each wait of a payjoin. Zero values are the defaults.
type Timeouts struct {
	// Pair bounds the receiver's wait for a sender; default 5 min, the
	// relay's pending TTL.
	Pair time.Duration
	// Step bounds every other wait for the peer; default 60 s.
	Step time.Duration
	// Seen bounds the receiver's wait for its node to show the broadcast;
	// default 2 min.
	Seen time.Duration
	// PairRetry is how long a sender keeps asking a relay that answers
	// "No matching receiver waiting" (the receiver's offer may still be on
	// its way); default 3 s. Negative: ask once.
	PairRetry time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Pair <= 0 {
		t.Pair = 5 * time.Minute
	}
	if t.Step <= 0 {
		t.Step = 60 * time.Second
	}
	if t.Seen <= 0 {
		t.Seen = 2 * time.Minute
	}
	if t.PairRetry == 0 {
		t.PairRetry = 3 * time.Second
	}
	return t
}

const closeWait = 3 * time.Second

// ReceiverConfig configures ReceiverInitiate.
type ReceiverConfig struct {
	Network  address.Network
	RelayURL string       // the relay's WebSocket URL
	Amount   amount.Sompi // what the receiver asks for, P
	Payload  string       // the URI's payload text; default "kpp"
	Wallet   ReceiverWallet
	Chain    ReceiverChain
	// Policy holds the network rules a proposal must meet; default
	// txbuild.PolicyFor(Network).
	Policy *txbuild.Policy
	// MinFeeRate is the least network fee rate accepted; zero checks the
	// relay floor only.
	MinFeeRate txbuild.FeeRate
	Timeouts   Timeouts
	// OnEvent, if set, is called at each step (from the goroutine that
	// calls Wait).
	OnEvent func(Event)
	// HTTPClient dials the relay; default http.DefaultClient.
	HTTPClient *http.Client
	// Random is the source of the session key; default crypto/rand.
	Random io.Reader
}

// Receiver is a receiver's payjoin in progress. Show URI to the sender,
// then call Wait.
type Receiver struct {
	cfg   ReceiverConfig
	req   PaymentRequest
	offer ReceiverOffer
	c     *conn
}

// ReceiverInitiate prepares a payjoin: it picks a UTXO and two fresh
// addresses from the wallet, connects to the relay, leaves the encrypted
// offer there, and returns at once with the payment request to show; the
// wallet then waits for a sender with Wait. (The original returned the URI
// only after a sender had come, which no sender could.)
func ReceiverInitiate(ctx context.Context, cfg ReceiverConfig) (*Receiver, error) {
	if cfg.Amount == 0 {
		return nil, errors.New("kpp: receiver amount is 0")
	}
	if cfg.Wallet == nil || cfg.Chain == nil {
		return nil, errors.New("kpp: ReceiverConfig needs Wallet and Chain")
	}
	if cfg.Payload == "" {
		cfg.Payload = "kpp"
	}
	if cfg.Policy == nil {
		p := txbuild.PolicyFor(cfg.Network)
		cfg.Policy = &p
	}
	cfg.Timeouts = cfg.Timeouts.withDefaults()
	var key Key
	random := cfg.Random
	if random == nil {
		k, err := NewKey()
		if err != nil {
			return nil, err
		}
		key = k
	} else if _, err := io.ReadFull(random, key[:]); err != nil {
		return nil, err
	}
	utxo, err := cfg.Wallet.ContributeUTXO(ctx, cfg.Amount)
	if err != nil {
		return nil, fmt.Errorf("kpp: pick a UTXO to contribute: %w", err)
	}
	addrs, err := cfg.Wallet.FreshAddresses(ctx, 2)
	if err != nil {
		return nil, fmt.Errorf("kpp: fresh addresses: %w", err)
	}
	if len(addrs) != 2 || addrs[0].Equal(addrs[1]) {
		return nil, errors.New("kpp: the wallet must give two distinct fresh addresses")
	}
	r := &Receiver{
		cfg:   cfg,
		offer: ReceiverOffer{UTXO: utxo, Address1: addrs[0], Address2: addrs[1], Amount: cfg.Amount},
		req:   PaymentRequest{Address: addrs[0], Amount: cfg.Amount, Payload: cfg.Payload, RelayURL: cfg.RelayURL, Key: key, Format: FormatURI},
	}
	if r.c, err = dialRelay(ctx, cfg.RelayURL, key, cfg.HTTPClient); err != nil {
		return nil, err
	}
	if err := r.c.handshake(ctx, RoleReceiver); err != nil {
		r.c.close()
		return nil, err
	}
	if err := r.c.sendSealed(ctx, r.offer.Marshal()); err != nil {
		r.c.close()
		return nil, err
	}
	return r, nil
}

// URI returns the payment request to show (as a QR code).
func (r *Receiver) URI() string { return r.req.URI() }

// PaymentRequest returns the request behind URI.
func (r *Receiver) PaymentRequest() PaymentRequest { return r.req }

// Close abandons the payjoin.
func (r *Receiver) Close() { r.c.close() }

// ReceiverResult is a completed payjoin, from the receiver's side.
type ReceiverResult struct {
	TransactionID txbuild.Hash
	Transaction   *txbuild.Transaction // as the receiver signed it
	Received      amount.Sompi         // P: what the payjoin added to the wallet
}

// SignedError is returned when the receiver signed its input but the
// payjoin did not complete (the sender vanished, failed to broadcast, or
// claimed a broadcast the node does not show). The signed transaction pays
// the receiver in full, so if anyone broadcasts it later the receiver is
// paid; to cancel it, the receiver spends its contributed UTXO.
type SignedError struct {
	TransactionID txbuild.Hash
	Contributed   txbuild.Outpoint
	Err           error
}

func (e *SignedError) Error() string {
	return fmt.Sprintf("kpp: payjoin %s not completed after the receiver signed (it pays the receiver in full if broadcast; spend %s to cancel it): %v",
		e.TransactionID, e.Contributed, e.Err)
}

func (e *SignedError) Unwrap() error { return e.Err }

// ErrNotSeen is returned when the sender claims a broadcast that the
// receiver's node does not show in time.
var ErrNotSeen = errors.New("kpp: the claimed broadcast does not show on the receiver's node")

// Wait runs the receiver's side to the end: it waits for a sender, checks
// the sender's UTXO on its node, checks the proposal (its UTXO at the
// agreed input, R + P to its addresses, the network's rules), signs only
// its own input, and waits until its node shows the broadcast. Every
// refusal is a typed error; the sender is told why.
func (r *Receiver) Wait(ctx context.Context) (*ReceiverResult, error) {
	defer r.c.close()
	t := r.cfg.Timeouts
	r.event(Event{Step: StepWaitingForSender})

	pctx, cancel := context.WithTimeout(ctx, t.Pair)
	pt, err := r.c.readSealed(pctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("kpp: waiting for a sender: %w", err)
	}
	if pe := peerErrorIn(pt); pe != nil {
		return nil, pe // the sender refused after pairing
	}
	sd, err := DecodeSenderData(pt, r.cfg.Network)
	if err != nil {
		r.c.fail(err)
		return nil, err
	}
	if sd.Amount != r.cfg.Amount {
		err := fmt.Errorf("%w: the sender pays %s, the request asks %s", ErrUnexpectedMessage, sd.Amount, r.cfg.Amount)
		r.c.fail(err)
		return nil, err
	}
	senderEntry, err := r.cfg.Chain.LookupUTXO(ctx, sd.UTXO.Address, sd.UTXO.Outpoint)
	if err != nil {
		err = fmt.Errorf("kpp: the sender's UTXO %s: %w", sd.UTXO.Outpoint, err)
		r.c.fail(err)
		return nil, err
	}
	r.event(Event{Step: StepSenderArrived})

	sctx, cancel := context.WithTimeout(ctx, t.Step)
	pt, err = r.c.readSealed(sctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("kpp: waiting for the proposal: %w", err)
	}
	msg, err := DecodeTransactionMessage(pt)
	if err != nil {
		r.c.fail(err)
		return nil, err
	}
	tx := msg.Tx
	if msg.SenderInputIndex != 1-msg.YourInputIndex {
		err := fmt.Errorf("%w: input indexes %d and %d", ErrUnexpectedMessage, msg.YourInputIndex, msg.SenderInputIndex)
		r.c.fail(err)
		return nil, err
	}
	if len(tx.Inputs) == 2 && (msg.SenderInputIndex == 0 || msg.SenderInputIndex == 1) && tx.Inputs[msg.SenderInputIndex].PreviousOutpoint != sd.UTXO.Outpoint {
		err := fmt.Errorf("%w: the proposal spends %s, not the sender's announced UTXO", ErrUnexpectedMessage, tx.Inputs[msg.SenderInputIndex].PreviousOutpoint)
		r.c.fail(err)
		return nil, err
	}
	if err := txbuild.VerifyAsReceiver(tx, txbuild.ReceiverTerms{
		UTXO: r.offer.UTXO, InputIndex: msg.YourInputIndex, Addresses: [2]address.Address{r.offer.Address1, r.offer.Address2},
		Payment: r.cfg.Amount, SenderEntry: senderEntry, Policy: *r.cfg.Policy, FeeRate: r.cfg.MinFeeRate,
	}); err != nil {
		r.c.fail(err)
		return nil, err
	}
	utxos := make([]txbuild.UTXOEntry, 2)
	utxos[msg.YourInputIndex], utxos[msg.SenderInputIndex] = r.offer.UTXO.Entry, senderEntry
	signed := tx.Clone()
	for i := range signed.Inputs {
		signed.Inputs[i].SignatureScript = nil
	}
	if err := r.cfg.Wallet.SignInput(ctx, signed, utxos, msg.YourInputIndex); err != nil {
		err = fmt.Errorf("kpp: sign: %w", err)
		r.c.fail(err)
		return nil, err
	}
	if err := txbuild.VerifyInput(signed, utxos, msg.YourInputIndex); err != nil {
		err = fmt.Errorf("kpp: the wallet's signature: %w", err)
		r.c.fail(err)
		return nil, err
	}
	// Only SIGHASH_ALL commits the receiver to these exact outputs: a
	// wallet that signed otherwise would let the sender change them.
	if sc := signed.Inputs[msg.YourInputIndex].SignatureScript; len(sc) == 0 || txbuild.SigHashType(sc[len(sc)-1]) != txbuild.SigHashAll {
		err := fmt.Errorf("kpp: the wallet's signature: %w, want SIGHASH_ALL", txbuild.ErrBadSigHashType)
		r.c.fail(err)
		return nil, err
	}
	id := signed.ID()
	if err := r.c.sendSealed(ctx, receiverSignatureMessage(signed)); err != nil {
		return nil, &SignedError{TransactionID: id, Contributed: r.offer.UTXO.Outpoint, Err: err}
	}
	r.event(Event{Step: StepProposalSigned, TransactionID: id})

	sctx, cancel = context.WithTimeout(ctx, t.Step)
	pt, err = r.c.readSealed(sctx)
	cancel()
	if err != nil {
		return nil, &SignedError{TransactionID: id, Contributed: r.offer.UTXO.Outpoint, Err: err}
	}
	claimed, err := decodeBroadcastSuccess(pt)
	if err != nil {
		return nil, &SignedError{TransactionID: id, Contributed: r.offer.UTXO.Outpoint, Err: err}
	}
	if claimed != id {
		return nil, &SignedError{TransactionID: id, Contributed: r.offer.UTXO.Outpoint,
			Err: fmt.Errorf("%w: the sender claims %s was broadcast, not %s", ErrUnexpectedMessage, claimed, id)}
	}
	r.event(Event{Step: StepBroadcastClaimed, TransactionID: id})

	if err := waitSeen(ctx, r.cfg.Chain, id, r.offer.Address1, t.Seen); err != nil {
		return nil, &SignedError{TransactionID: id, Contributed: r.offer.UTXO.Outpoint, Err: err}
	}
	r.event(Event{Step: StepBroadcastSeen, TransactionID: id})
	return &ReceiverResult{TransactionID: id, Transaction: signed, Received: r.cfg.Amount}, nil
}

func waitSeen(ctx context.Context, chain ReceiverChain, id txbuild.Hash, addr address.Address, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	wait := 200 * time.Millisecond
	for {
		seen, err := chain.TransactionSeen(ctx, id, addr)
		if err == nil && seen {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w within %v (last node error: %v)", ErrNotSeen, limit, err)
			}
			return fmt.Errorf("%w within %v", ErrNotSeen, limit)
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func (r *Receiver) event(e Event) {
	if r.cfg.OnEvent != nil {
		r.cfg.OnEvent(e)
	}
}
