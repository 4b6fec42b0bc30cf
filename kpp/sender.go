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

// SenderChain is the sender's view of the network. *node.Client satisfies
// it.
type SenderChain interface {
	UTXOLookup
	// FeeRate is the network fee rate to pay.
	FeeRate(ctx context.Context) (txbuild.FeeRate, error)
	// SubmitTransaction broadcasts tx.
	SubmitTransaction(ctx context.Context, tx *txbuild.Transaction) (txbuild.Hash, error)
}

// SenderWallet is what a paying wallet lends a payjoin. *wallet.Funds
// satisfies it.
type SenderWallet interface {
	// SelectUTXOs returns the coins the payjoin may spend, each holding at
	// least min: up to txbuild.MaxSenderCoins of them, smallest first
	// (txbuild.SenderCoins). The builder spends the one that leaves an
	// observer least sure of the payment (PRIVACY.md).
	SelectUTXOs(ctx context.Context, min amount.Sompi) ([]txbuild.UTXO, error)
	// ChangeAddress returns a fresh change address.
	ChangeAddress(ctx context.Context) (address.Address, error)
	// SignInput signs input i of tx, which spends utxos[i], a UTXO of the
	// wallet, with SIGHASH_ALL.
	SignInput(ctx context.Context, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, i int) error
}

// SenderConfig configures SenderPrepare.
type SenderConfig struct {
	Network address.Network
	Wallet  SenderWallet
	Chain   SenderChain
	// Policy holds the network's rules; default txbuild.PolicyFor(Network).
	Policy *txbuild.Policy
	// FeeRate is the network fee rate; zero asks Chain.FeeRate.
	FeeRate txbuild.FeeRate
	// MaxNodeFee caps the fee the relay node may ask (its fee_max, where
	// it announces one); zero means twice what DefaultFeePolicy asks for
	// the payment.
	MaxNodeFee amount.Sompi
	// ChangeReserve is how much more than payment and node fee the
	// sender's UTXO must hold, to cover the network fee and leave a change
	// output KIP-9 does not punish; default 0.5 KAS.
	ChangeReserve amount.Sompi
	Timeouts      Timeouts
	OnEvent       func(Event)
	HTTPClient    *http.Client
	// Random drives the payjoin's input order, output order and split;
	// default crypto/rand.
	Random io.Reader
}

// Errors of the sender's checks.
var (
	ErrNodeFeeTooHigh = errors.New("kpp: the relay node asks more than the fee cap")
	ErrOfferMismatch  = errors.New("kpp: the receiver's offer does not match the payment request")
)

// SenderProposal is a payjoin the receiver has signed: it needs only the
// sender's signature. Sign it and Finalize, or Abort.
type SenderProposal struct {
	cfg      SenderConfig
	c        *conn
	req      PaymentRequest
	pj       *txbuild.Payjoin
	tx       *txbuild.Transaction // the proposal with the receiver's signature
	nodeFee  amount.Sompi
	rate     txbuild.FeeRate
	feeAddr  address.Address
	finished bool
}

// SenderPrepare runs the sender's side up to its own signature: it parses
// the payment request, pairs at the relay, checks the receiver's offer
// against the request and the receiver's UTXO against its own node, builds
// the payjoin with txbuild.Build2In4Out, sends it, and checks that the
// receiver returned that very transaction with a valid signature on its own
// input. Any refusal after pairing is a typed error, and the receiver is
// told why in a short fixed text (a sealed broadcast_error; refusal.go),
// never the error itself.
func SenderPrepare(ctx context.Context, uri string, cfg SenderConfig) (*SenderProposal, error) {
	if cfg.Wallet == nil || cfg.Chain == nil {
		return nil, errors.New("kpp: SenderConfig needs Wallet and Chain")
	}
	if cfg.Policy == nil {
		p := txbuild.PolicyFor(cfg.Network)
		cfg.Policy = &p
	}
	if cfg.ChangeReserve == 0 {
		cfg.ChangeReserve = txbuild.DefaultChangeReserve
	}
	cfg.Timeouts = cfg.Timeouts.withDefaults()
	req, err := ParsePaymentRequest(uri, cfg.Network)
	if err != nil {
		return nil, err
	}
	// Before pairing, so that a receiver does not wait, sign or reserve
	// for a payer that cannot pay: one coin must hold P and the change
	// reserve (the node fee, which the relay names, comes on top).
	least := req.Amount + cfg.ChangeReserve
	if coins, err := cfg.Wallet.SelectUTXOs(ctx, least); err != nil || len(coins) == 0 {
		if err == nil {
			err = errors.New("the wallet offered none")
		}
		return nil, fmt.Errorf("kpp: before pairing: a UTXO of at least %s (payment + change reserve, then the node fee): %w", least, err)
	}
	p := &SenderProposal{cfg: cfg, req: req}
	first, err := p.pair(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.prepare(ctx, first); err != nil {
		// Paired: the receiver is told why, in a fixed text (refusal.go).
		p.c.fail(err)
		return nil, err
	}
	return p, nil
}

// pair connects to the relay as the sender and returns the relay's first
// message. A relay that has not yet filed the receiver's offer (the two
// wallets raced, or the relay is a Python node, which refuses rather than
// waits) answers "No matching receiver waiting"; pair then tries again
// for up to Timeouts.PairRetry.
func (p *SenderProposal) pair(ctx context.Context) ([]byte, error) {
	deadline := time.Now().Add(p.cfg.Timeouts.PairRetry)
	wait := 100 * time.Millisecond
	for {
		c, err := dialRelay(ctx, p.req.RelayURL, p.req.Key, p.cfg.HTTPClient)
		if err != nil {
			return nil, err
		}
		if err := c.handshake(ctx, RoleSender); err != nil {
			c.close()
			return nil, err
		}
		// A relay may hold a sender that came before its receiver's offer
		// for up to MaxSenderHold before it answers.
		sctx, cancel := context.WithTimeout(ctx, max(p.cfg.Timeouts.Step, MaxSenderHold+5*time.Second))
		first, err := c.readPlain(sctx)
		cancel()
		if err == nil {
			p.c = c
			return first, nil
		}
		c.close()
		var re *RelayError
		if !errors.As(err, &re) || re.Code != ErrTextNoReceiver || time.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("kpp: pairing: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("kpp: pairing: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

func (p *SenderProposal) prepare(ctx context.Context, first []byte) error {
	cfg, req, t := p.cfg, p.req, p.cfg.Timeouts
	sctx, cancel := context.WithTimeout(ctx, t.Step)
	defer cancel()
	fa, err := decodeFeeAddress(first)
	if err != nil {
		return err
	}
	if p.feeAddr, err = address.Decode(fa.Address, cfg.Network); err != nil {
		return fmt.Errorf("kpp: the relay's fee address: %w", err)
	}
	policy := fa.Policy()
	if p.nodeFee, err = policy.NodeFee(req.Amount, cfg.Random); err != nil {
		return fmt.Errorf("%w: the relay's fee policy: %w", ErrUnexpectedMessage, err)
	}
	capFee := cfg.MaxNodeFee
	if capFee == 0 {
		d, err := DefaultFeePolicy.Fee(req.Amount)
		if err != nil {
			return err
		}
		capFee = 2 * d
	}
	// With fee_max the builder may choose any fee up to it.
	mostFee := max(p.nodeFee, policy.Max)
	if mostFee > capFee {
		return fmt.Errorf("%w: %s for a payment of %s, cap %s", ErrNodeFeeTooHigh, mostFee, req.Amount, capFee)
	}
	pt, err := p.c.readSealed(sctx)
	if err != nil {
		return fmt.Errorf("kpp: the receiver's offer: %w", err)
	}
	offer, err := DecodeReceiverOffer(pt, cfg.Network)
	if err != nil {
		return err
	}
	if err := checkOffer(offer, req); err != nil {
		return err
	}
	p.event(Event{Step: StepPaired})
	entry, err := cfg.Chain.LookupUTXO(ctx, offer.UTXO.Address, offer.UTXO.Outpoint)
	if err != nil {
		return fmt.Errorf("kpp: the receiver's UTXO %s: %w", offer.UTXO.Outpoint, err)
	}
	if entry.Amount != offer.UTXO.Entry.Amount || !entry.ScriptPublicKey.Equal(offer.UTXO.Entry.ScriptPublicKey) {
		return fmt.Errorf("%w: the receiver claims its UTXO %s holds %s, the node says %s", ErrOfferMismatch, offer.UTXO.Outpoint, offer.UTXO.Entry.Amount, entry.Amount)
	}
	receiverUTXO := offer.UTXO
	receiverUTXO.Entry = entry

	rate := cfg.FeeRate
	if rate == 0 {
		if rate, err = cfg.Chain.FeeRate(ctx); err != nil {
			return fmt.Errorf("kpp: fee rate: %w", err)
		}
	}
	p.rate = rate
	// Coins that hold the drawn fee: the builder chooses a larger F (up to
	// fee_max) only for a coin that still holds it and the reserve, so a
	// sender is refused no payment the tied rule would have let it make.
	need := req.Amount + p.nodeFee + cfg.ChangeReserve
	coins, err := cfg.Wallet.SelectUTXOs(ctx, need)
	if err == nil && len(coins) == 0 {
		err = errors.New("the wallet offered none")
	}
	if err != nil {
		return fmt.Errorf("kpp: a UTXO of at least %s: %w", need, err)
	}
	change, err := cfg.Wallet.ChangeAddress(ctx)
	if err != nil {
		return fmt.Errorf("kpp: change address: %w", err)
	}
	p.pj, err = txbuild.Build2In4Out(txbuild.PayjoinParams{
		Sender: coins[0], SenderAlternatives: coins[1:], SenderChange: change, Receiver: receiverUTXO,
		ReceiverAddresses: [2]address.Address{offer.Address1, offer.Address2},
		Payment:           req.Amount, NodeFee: p.nodeFee, NodeFeeAddress: p.feeAddr,
		FeeRule: policy.Rule(), ChangeReserve: cfg.ChangeReserve,
		Policy: *cfg.Policy, FeeRate: rate, Random: cfg.Random,
	})
	if err != nil {
		return err
	}
	p.nodeFee = p.pj.NodeFee
	if err := p.c.sendSealed(ctx, SenderData{UTXO: p.pj.Sender, ChangeAddress: change, Amount: req.Amount}.Marshal()); err != nil {
		return err
	}
	msg := TransactionMessage{Tx: p.pj.Tx, YourInputIndex: p.pj.ReceiverInput, SenderInputIndex: p.pj.SenderInput}
	if err := p.c.sendSealed(ctx, msg.Marshal()); err != nil {
		return err
	}
	p.event(Event{Step: StepProposalSent, TransactionID: p.pj.Tx.ID()})

	sctx2, cancel2 := context.WithTimeout(ctx, t.Step)
	defer cancel2()
	pt, err = p.c.readSealed(sctx2)
	if err != nil {
		return fmt.Errorf("kpp: waiting for the receiver's signature: %w", err)
	}
	returned, err := decodeReceiverSignature(pt)
	if err != nil {
		return err
	}
	if err := txbuild.VerifyAsSender(p.pj, returned); err != nil {
		return err
	}
	p.tx = returned
	p.event(Event{Step: StepReceiverSigned, TransactionID: returned.ID()})
	return nil
}

func checkOffer(o ReceiverOffer, req PaymentRequest) error {
	if o.Amount != req.Amount {
		return fmt.Errorf("%w: the offer asks %s, the request %s", ErrOfferMismatch, o.Amount, req.Amount)
	}
	if !req.Address.IsZero() && !o.Address1.Equal(req.Address) {
		return fmt.Errorf("%w: the offer's first address %s is not the request's %s", ErrOfferMismatch, o.Address1, req.Address)
	}
	if o.Address1.Equal(o.Address2) {
		return fmt.Errorf("%w: the offer names the same address twice", ErrOfferMismatch)
	}
	if !o.UTXO.Address.ScriptPublicKey().Equal(o.UTXO.Entry.ScriptPublicKey) {
		return fmt.Errorf("%w: the offer's UTXO script does not pay its address", ErrOfferMismatch)
	}
	return nil
}

func decodeFeeAddress(b []byte) (FeeAddress, error) {
	var fa FeeAddress
	if err := decodeJSON(b, &fa); err != nil || fa.Type != MsgFeeAddress || fa.Address == "" {
		return FeeAddress{}, fmt.Errorf("%w: want the relay's dust_address message", ErrUnexpectedMessage)
	}
	return fa, nil
}

// Transaction returns a copy of the payjoin with the receiver's signature;
// the sender signs input SenderInput.
func (p *SenderProposal) Transaction() *txbuild.Transaction { return p.tx.Clone() }

// UTXOEntries returns the entries of the two inputs, in input order, as
// the sender's node reports them.
func (p *SenderProposal) UTXOEntries() []txbuild.UTXOEntry {
	return append([]txbuild.UTXOEntry(nil), p.pj.UTXOs...)
}

// SenderInput is the index of the sender's input.
func (p *SenderProposal) SenderInput() int { return p.pj.SenderInput }

// NodeFee is the relay node's fee, F.
func (p *SenderProposal) NodeFee() amount.Sompi { return p.nodeFee }

// NetworkFee is the fee the transaction pays the network.
func (p *SenderProposal) NetworkFee() amount.Sompi { return p.pj.NetworkFee }

// Payment is the amount paid, P.
func (p *SenderProposal) Payment() amount.Sompi { return p.req.Amount }

// SenderResult is a broadcast payjoin, from the sender's side.
type SenderResult struct {
	TransactionID txbuild.Hash
	Transaction   *txbuild.Transaction
	// Debit is what left the sender's wallet: P + F + network fee.
	Debit amount.Sompi
}

// SignAndFinalize signs the sender's input with the wallet and finalizes.
func (p *SenderProposal) SignAndFinalize(ctx context.Context) (*SenderResult, error) {
	tx := p.Transaction()
	if err := p.cfg.Wallet.SignInput(ctx, tx, p.UTXOEntries(), p.pj.SenderInput); err != nil {
		err = fmt.Errorf("kpp: sign: %w", err)
		p.Abort(err)
		return nil, err
	}
	return p.Finalize(ctx, tx)
}

// Finalize checks that signed is the agreed payjoin with both signatures
// valid, broadcasts it through the sender's node, and tells the receiver
// the outcome (broadcast_success or broadcast_error). A broadcast error
// other than the node's refusal (the node did not answer in time) leaves
// the outcome unknown: the node may have taken the payjoin, so a wallet
// asks its node (TransactionSeen) before it pays again.
func (p *SenderProposal) Finalize(ctx context.Context, signed *txbuild.Transaction) (*SenderResult, error) {
	if p.finished {
		return nil, errors.New("kpp: proposal already finalized or aborted")
	}
	p.finished = true
	defer p.c.close()
	if err := txbuild.VerifySigned(p.pj, signed, *p.cfg.Policy, p.rate); err != nil {
		p.c.fail(err)
		return nil, err
	}
	id, err := p.cfg.Chain.SubmitTransaction(ctx, signed)
	if err != nil {
		p.c.fail(fmt.Errorf("%w: %w", errBroadcastFailed, err))
		// A node that did not answer may have taken the transaction all
		// the same (TestSenderNodeUnresponsiveAtBroadcast): a wallet must
		// not pay again before its node says the payjoin is unknown.
		return nil, fmt.Errorf("kpp: broadcast of payjoin %s (unless the node refused it, it may still reach the network: check before paying again): %w", signed.ID(), err)
	}
	p.event(Event{Step: StepBroadcast, TransactionID: id})
	if err := p.c.sendSealed(ctx, broadcastSuccessMessage(id)); err != nil {
		// Broadcast happened; the receiver learns it from its node.
		return &SenderResult{TransactionID: id, Transaction: signed, Debit: p.req.Amount + p.nodeFee + p.pj.NetworkFee},
			fmt.Errorf("kpp: broadcast %s, but could not tell the receiver: %w", id, err)
	}
	return &SenderResult{TransactionID: id, Transaction: signed, Debit: p.req.Amount + p.nodeFee + p.pj.NetworkFee}, nil
}

// Abort tells the receiver the payjoin is off and closes the session.
func (p *SenderProposal) Abort(reason error) {
	if p.finished {
		return
	}
	p.finished = true
	p.c.fail(reason)
}

func (p *SenderProposal) event(e Event) {
	if p.cfg.OnEvent != nil {
		p.cfg.OnEvent(e)
	}
}
