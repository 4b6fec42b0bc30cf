package txbuild

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
)

// Errors of the payjoin builder and checks. Test with errors.Is; the
// messages carry the numbers.
var (
	ErrInsufficientFunds  = errors.New("payjoin: the sender's UTXO does not cover payment, node fee and network fee")
	ErrStorageMassTooHigh = errors.New("payjoin: KIP-9 storage mass over the budget")
	ErrBadPayjoin         = errors.New("payjoin: invalid parameters")
	ErrNotAgreedShape     = errors.New("payjoin: not the agreed 2-input transaction")
	ErrNotPaidInFull      = errors.New("payjoin: the receiver's addresses are not paid exactly its UTXO plus the payment")
	ErrBreaksRules        = errors.New("payjoin: transaction breaks the network's rules")
	ErrProposalChanged    = errors.New("payjoin: transaction differs from the one proposed")
	// ErrExposingSplit: the receiver's outputs would mark it: one of exactly
	// R or P (which shows the receiver's coin and the payment), all of
	// R + P to one address, or a split no kloak sender draws.
	ErrExposingSplit = errors.New("payjoin: the receiver's outputs would expose it")
)

// PayjoinParams describe a KPP payjoin from the sender's side.
type PayjoinParams struct {
	Sender       UTXO            // the sender's UTXO, S
	SenderChange address.Address // where the sender's change goes
	Receiver     UTXO            // the receiver's UTXO, R, as the sender's node reports it
	// ReceiverAddresses receive R + P between them.
	ReceiverAddresses [2]address.Address
	Payment           amount.Sompi    // P
	NodeFee           amount.Sompi    // F, paid to NodeFeeAddress
	NodeFeeAddress    address.Address // the relay node's fee address
	Policy            Policy          // the network's rules
	FeeRate           FeeRate         // the network fee rate to pay at least
	// SenderAlternatives are other coins of the sender's that the builder
	// may spend instead of Sender, for privacy (SenderCoins picks them);
	// it weighs Sender and up to MaxSenderCoins−1 of these, each holding
	// at least P + F + ChangeReserve. Payjoin.Sender says which it spent.
	SenderAlternatives []UTXO
	// FeeRule is how NodeFee was set, as an observer knows it (the node's
	// announced policy); the zero value is the rule of a node that
	// announces nothing (kpp.DefaultFeePolicy).
	FeeRule analysis.FeeRule
	// ChangeReserve is what the sender's coin holds beyond P + F (zero:
	// DefaultChangeReserve, kpp's sender's).
	ChangeReserve amount.Sompi
	// Random supplies the input order, the output order, the receiver
	// split and the choice among the candidates. Nil means crypto/rand;
	// tests inject a deterministic reader.
	Random io.Reader
}

// Payjoin is a built, unsigned KPP transaction.
type Payjoin struct {
	Tx *Transaction
	// Sender is the sender's coin the payjoin spends: Sender or one of
	// the SenderAlternatives of its PayjoinParams.
	Sender        UTXO
	UTXOs         []UTXOEntry // one per input, in input order
	SenderInput   int
	ReceiverInput int
	// NodeFee is the node fee output F: PayjoinParams.NodeFee, or, where
	// the node's fee rule is a range (FeeRule), the amount in that range
	// the builder chose.
	NodeFee    amount.Sompi
	NetworkFee amount.Sompi
	Masses     Masses
}

// Build2In4Out builds the KPP payjoin: two inputs in random order (the
// sender's and the receiver's), and four outputs in random order: the
// receiver's two addresses, which share R + P, the node fee F, and the
// sender's change S − P − F − network fee. The network fee is the least
// that meets p.Policy at p.FeeRate, computed from the real masses of the
// signed transaction.
//
// The split of R + P and, among p.Sender and p.SenderAlternatives, the coin
// the sender spends are chosen for privacy (private.go): the builder tries
// random splits and splits aimed so that another reading of the
// transaction names a decoy payment as round and as likely as P, scores
// each with the analyst of package analysis under the rules an observer
// knows (p.Rules), and keeps the one that leaves the observer least sure of
// P. Every receiver output lies within SplitMin–SplitMax per mille of
// R + P, none is exactly R or P, and the storage mass stays within the
// budget. Where no such transaction fits, it falls back to a split around
// the middle, narrowed until the storage mass fits, and refuses, with the
// numbers and what would fix it, a transaction whose storage mass breaks
// the budget or that the sender's UTXO cannot pay for.
func Build2In4Out(p PayjoinParams) (*Payjoin, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	random := p.Random
	if random == nil {
		random = rand.Reader
	}
	senderFirst, err := randUint64(random)
	if err != nil {
		return nil, err
	}
	best, err := p.private(random)
	if err != nil {
		return nil, err
	}
	if best == nil {
		if best, err = p.fallback(random); err != nil {
			return nil, err
		}
	}
	pj := &Payjoin{SenderInput: 0, ReceiverInput: 1, NodeFee: best.nodeFee, NetworkFee: best.fee, Masses: best.masses}
	sender := best.coin
	inputs := []UTXO{sender, p.Receiver}
	if senderFirst&1 == 1 {
		inputs[0], inputs[1] = inputs[1], inputs[0]
		pj.SenderInput, pj.ReceiverInput = 1, 0
	}
	tx := &Transaction{}
	for _, u := range inputs {
		// A signature script of 66 bytes stands in for the signature, so
		// the masses are those of the signed transaction.
		tx.Inputs = append(tx.Inputs, Input{PreviousOutpoint: u.Outpoint, SigOpCount: 1, SignatureScript: make([]byte, 66)})
		pj.UTXOs = append(pj.UTXOs, u.Entry)
	}
	tx.Outputs = best.outputs(p)
	pj.Sender = sender
	// Shuffle the outputs (Fisher–Yates).
	for i := len(tx.Outputs) - 1; i > 0; i-- {
		r, err := randUint64(random)
		if err != nil {
			return nil, err
		}
		j := int(r % uint64(i+1))
		tx.Outputs[i], tx.Outputs[j] = tx.Outputs[j], tx.Outputs[i]
	}
	if err := checkRules(tx, pj.UTXOs, p.Policy, p.FeeRate); err != nil {
		return nil, err
	}
	for i := range tx.Inputs {
		tx.Inputs[i].SignatureScript = nil
	}
	pj.Tx = tx
	return pj, nil
}

// fallback is the first builder's construction, for a payjoin no private
// candidate fits: p.Sender, a split drawn in SplitMin–SplitMax per mille
// and narrowed around the middle until the storage mass fits the budget.
// Its refusals are the errors a caller sees.
func (p PayjoinParams) fallback(random io.Reader) (*candidate, error) {
	splitDraw, err := randUint64(random)
	if err != nil {
		return nil, err
	}
	total := p.Receiver.Entry.Amount + p.Payment // checked in p.check
	budget := p.budget()
	fixed := p.Payment + p.NodeFee
	var fee amount.Sompi
	c := &candidate{coin: p.Sender, total: total, nodeFee: p.NodeFee}
	for range 16 {
		if uint64(p.Sender.Entry.Amount) <= uint64(fixed)+uint64(fee) {
			return nil, fmt.Errorf("%w: UTXO of %s < payment %s + node fee %s + network fee %s + change: use a UTXO of at least %s",
				ErrInsufficientFunds, p.Sender.Entry.Amount, p.Payment, p.NodeFee, fee, fixed+fee+amount.SompiPerKAS/10)
		}
		c.change = p.Sender.Entry.Amount - fixed - fee
		tx, utxos := c.skeleton(p)
		lo, hi, err := receiverSplitRange(total, utxos, tx, budget)
		if err != nil {
			return nil, err
		}
		c.r1 = lo + amount.Sompi(splitDraw%uint64(hi-lo+1))
		if c.r1 == p.Receiver.Entry.Amount || c.r1 == p.Payment || total-c.r1 == p.Receiver.Entry.Amount || total-c.r1 == p.Payment {
			// An output of exactly R or P would show the receiver's coin
			// and the payment (VerifyAsReceiver refuses it).
			if c.r1 > lo {
				c.r1--
			} else {
				c.r1++
			}
		}
		tx.Outputs[0].Amount, tx.Outputs[1].Amount = c.r1, total-c.r1
		m, err := CalcMasses(tx, utxos)
		if err != nil {
			return nil, err
		}
		need := amount.Sompi(p.Policy.RequiredFee(tx, m, p.FeeRate))
		if need <= fee {
			c.fee, c.masses = fee, m
			if err := checkBudget(m, budget, tx); err != nil {
				return nil, err
			}
			return c, nil
		}
		fee = need
	}
	return nil, fmt.Errorf("%w: the network fee did not settle", ErrBadPayjoin)
}

func (p PayjoinParams) check() error {
	if p.Payment == 0 {
		return fmt.Errorf("%w: payment of 0", ErrBadPayjoin)
	}
	if p.NodeFee == 0 {
		return fmt.Errorf("%w: node fee of 0 (an output of 0 sompi is invalid)", ErrBadPayjoin)
	}
	if p.Sender.Outpoint == p.Receiver.Outpoint {
		return fmt.Errorf("%w: sender and receiver name the same UTXO %s", ErrBadPayjoin, p.Sender.Outpoint)
	}
	if p.Receiver.Entry.Amount == 0 || p.Sender.Entry.Amount == 0 {
		return fmt.Errorf("%w: UTXO of 0 sompi", ErrBadPayjoin)
	}
	if _, err := amount.Add(p.Receiver.Entry.Amount, p.Payment); err != nil {
		return fmt.Errorf("%w: %w", ErrBadPayjoin, err)
	}
	addrs := []address.Address{p.ReceiverAddresses[0], p.ReceiverAddresses[1], p.NodeFeeAddress, p.SenderChange}
	for i, a := range addrs {
		if a.IsZero() {
			return fmt.Errorf("%w: address %d is missing", ErrBadPayjoin, i)
		}
		for _, b := range addrs[:i] {
			if a.Equal(b) {
				return fmt.Errorf("%w: address %s appears twice among the outputs", ErrBadPayjoin, a)
			}
		}
	}
	return nil
}

// receiverSplitRange returns the range of the first receiver output:
// SplitMin–SplitMax per mille of total, narrowed around the middle until
// the storage mass fits the budget. Storage mass falls as the split nears
// the middle.
func receiverSplitRange(total amount.Sompi, utxos []UTXOEntry, tx *Transaction, budget uint64) (amount.Sompi, amount.Sompi, error) {
	lo, hi := splitBounds(total)
	if lo < 1 {
		lo = 1
	}
	if hi > total-1 {
		hi = total - 1
	}
	if total < 2 || lo > hi {
		lo, hi = total/2, total/2
		if total < 2 {
			return 0, 0, fmt.Errorf("%w: the receiver's outputs need at least 2 sompi", ErrBadPayjoin)
		}
	}
	massAt := func(r1 amount.Sompi) (uint64, error) {
		tx.Outputs[0].Amount, tx.Outputs[1].Amount = r1, total-r1
		return TxStorageMass(tx, utxos)
	}
	mid := total / 2
	if m, err := massAt(mid); err != nil {
		return 0, 0, err
	} else if m > budget {
		return 0, 0, storageMassError(m, budget, tx)
	}
	if m, err := massAt(lo); err != nil {
		return 0, 0, err
	} else if m <= budget {
		return lo, hi, nil
	}
	// The smallest r1 in [lo, mid] whose mass fits; the range is symmetric.
	a, b := lo, mid
	for a < b {
		c := a + (b-a)/2
		m, err := massAt(c)
		if err != nil {
			return 0, 0, err
		}
		if m <= budget {
			b = c
		} else {
			a = c + 1
		}
	}
	return a, total - a, nil
}

func checkBudget(m Masses, budget uint64, tx *Transaction) error {
	if m.Storage > budget {
		return storageMassError(m.Storage, budget, tx)
	}
	if m.Compute > budget {
		return fmt.Errorf("%w: compute mass %d > budget %d", ErrBadPayjoin, m.Compute, budget)
	}
	return nil
}

func storageMassError(mass, budget uint64, tx *Transaction) error {
	return fmt.Errorf("%w: storage mass %d > budget %d%s", ErrStorageMassTooHigh, mass, budget, massHint("storage", tx))
}

func randUint64(r io.Reader) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("payjoin: randomness: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// ReceiverTerms are what a KPP receiver agreed to: its own UTXO at a given
// input, and exactly R + P to its two addresses.
type ReceiverTerms struct {
	UTXO       UTXO               // the receiver's own UTXO (R)
	InputIndex int                // where the sender says it is
	Addresses  [2]address.Address // the receiver's two output addresses
	Payment    amount.Sompi       // P
	// SenderEntry is the other input's UTXO as the receiver's node reports
	// it; it lets the receiver check fees and masses.
	SenderEntry UTXOEntry
	Policy      Policy
	// FeeRate is the least rate the receiver accepts; zero checks only the
	// relay floor.
	FeeRate FeeRate
}

// VerifyAsReceiver checks a proposal before the receiver signs its input
// (PROTOCOL.md §1): exactly two inputs, the receiver's outpoint at the agreed
// index, its addresses paid exactly R + P and neither output exactly R or P
// (ErrExposingSplit; any other split is accepted), a plain version-0 transaction
// without lock time, and no rule of the network broken (mass budget,
// consensus limits, relay floor) — so a transaction the receiver signs is one
// the network accepts and that pays it in full, whoever broadcasts it.
func VerifyAsReceiver(tx *Transaction, t ReceiverTerms) error {
	if len(tx.Inputs) != 2 {
		return fmt.Errorf("%w: %d inputs, want 2", ErrNotAgreedShape, len(tx.Inputs))
	}
	if t.InputIndex != 0 && t.InputIndex != 1 {
		return fmt.Errorf("%w: receiver input index %d", ErrNotAgreedShape, t.InputIndex)
	}
	if tx.Inputs[t.InputIndex].PreviousOutpoint != t.UTXO.Outpoint {
		return fmt.Errorf("%w: input %d spends %s, not the receiver's UTXO %s", ErrNotAgreedShape, t.InputIndex, tx.Inputs[t.InputIndex].PreviousOutpoint, t.UTXO.Outpoint)
	}
	other := 1 - t.InputIndex
	if tx.Inputs[other].PreviousOutpoint == t.UTXO.Outpoint {
		return fmt.Errorf("%w: both inputs spend the receiver's UTXO", ErrNotAgreedShape)
	}
	if tx.Version != 0 || tx.SubnetworkID != SubnetworkNative || tx.LockTime != 0 || tx.Gas != 0 || len(tx.Payload) != 0 {
		return fmt.Errorf("%w: want version 0, native subnetwork, no lock time, gas or payload", ErrNotAgreedShape)
	}
	if n := tx.Inputs[t.InputIndex].SigOpCount; n != 1 {
		return fmt.Errorf("%w: the receiver's input counts %d signature operations, want 1", ErrNotAgreedShape, n)
	}
	want, err := amount.Add(t.UTXO.Entry.Amount, t.Payment)
	if err != nil {
		return err
	}
	var got, first amount.Sompi // first: what the first address gets
	var exposing []amount.Sompi
	var paid [2]int
	spks := [2]address.ScriptPublicKey{t.Addresses[0].ScriptPublicKey(), t.Addresses[1].ScriptPublicKey()}
	for _, o := range tx.Outputs {
		for i, spk := range spks {
			if o.ScriptPublicKey.Equal(spk) {
				paid[i]++
				if i == 0 {
					first = o.Amount
				}
				if got, err = amount.Add(got, o.Amount); err != nil {
					return fmt.Errorf("%w: %w", ErrNotPaidInFull, err)
				}
				if o.Amount == t.UTXO.Entry.Amount || o.Amount == t.Payment {
					exposing = append(exposing, o.Amount)
				}
			}
		}
	}
	if got != want {
		return fmt.Errorf("%w: they get %s, want %s (UTXO %s + payment %s)", ErrNotPaidInFull, got, want, t.UTXO.Entry.Amount, t.Payment)
	}
	if len(exposing) > 0 {
		return fmt.Errorf("%w: output of %s (UTXO %s, payment %s)", ErrExposingSplit, exposing[0], t.UTXO.Entry.Amount, t.Payment)
	}
	// One output to each address, each a share a kloak sender could have
	// drawn (SplitMin–SplitMax per mille, or half): all of R + P to one
	// address, or a sliver to one, marks the receiver's outputs.
	if paid != [2]int{1, 1} {
		return fmt.Errorf("%w: its addresses are paid by %d and %d outputs, want one each", ErrExposingSplit, paid[0], paid[1])
	}
	if !splitPossible(first, want) {
		return fmt.Errorf("%w: a split of %s and %s is outside %d–%d per mille", ErrExposingSplit, first, want-first, SplitMin, SplitMax)
	}
	utxos := make([]UTXOEntry, 2)
	utxos[t.InputIndex], utxos[other] = t.UTXO.Entry, t.SenderEntry
	return checkRules(tx, utxos, t.Policy, t.FeeRate)
}

// checkRules runs Policy.Check on a transaction whose signatures are not all
// there yet: it judges the masses of the signed transaction and ignores
// unsigned inputs.
func checkRules(tx *Transaction, utxos []UTXOEntry, p Policy, rate FeeRate) error {
	signed := tx.Clone()
	for i := range signed.Inputs {
		if len(signed.Inputs[i].SignatureScript) == 0 {
			signed.Inputs[i].SignatureScript = make([]byte, 66)
		}
	}
	var msgs []string
	for _, pr := range p.Check(signed, utxos, rate) {
		if pr.Rule == RuleBadSignature || pr.Rule == RuleUnsigned {
			continue
		}
		msgs = append(msgs, pr.Message)
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%w: %s", ErrBreaksRules, joinProblems(msgs))
	}
	return nil
}

func joinProblems(msgs []string) string {
	s := msgs[0]
	for _, m := range msgs[1:] {
		s += "; " + m
	}
	return s
}

// VerifyAsSender checks the transaction the receiver returned (PROTOCOL.md
// §1): it must be the proposal itself with only the receiver's signature
// script filled in, and that signature must verify against the receiver's
// UTXO as the sender's node reports it. The sender signs nothing else.
func VerifyAsSender(proposed *Payjoin, returned *Transaction) error {
	if len(returned.Inputs) != len(proposed.Tx.Inputs) {
		return fmt.Errorf("%w: %d inputs", ErrProposalChanged, len(returned.Inputs))
	}
	if len(returned.Inputs[proposed.SenderInput].SignatureScript) != 0 {
		return fmt.Errorf("%w: the sender's input carries a signature script", ErrProposalChanged)
	}
	stripped := returned.Clone()
	stripped.Inputs[proposed.ReceiverInput].SignatureScript = nil
	if stripped.Hash() != proposed.Tx.Hash() {
		return fmt.Errorf("%w: outputs, inputs or fields were altered", ErrProposalChanged)
	}
	if err := VerifyInput(returned, proposed.UTXOs, proposed.ReceiverInput); err != nil {
		return fmt.Errorf("payjoin: receiver signature: %w", err)
	}
	// SIGHASH_ALL commits the receiver to these exact outputs.
	if t := SigHashType(returned.Inputs[proposed.ReceiverInput].SignatureScript[65]); t != SigHashAll {
		return fmt.Errorf("payjoin: receiver signature: %w: 0x%02x, want SIGHASH_ALL", ErrBadSigHashType, uint8(t))
	}
	return nil
}

// VerifySigned checks the fully signed payjoin before broadcast: the
// proposal with both signatures, each valid, and no rule broken.
func VerifySigned(proposed *Payjoin, signed *Transaction, p Policy, rate FeeRate) error {
	stripped := signed.Clone()
	for i := range stripped.Inputs {
		stripped.Inputs[i].SignatureScript = nil
	}
	if stripped.Hash() != proposed.Tx.Hash() {
		return fmt.Errorf("%w: outputs, inputs or fields were altered", ErrProposalChanged)
	}
	s, err := NewSigHasher(signed, proposed.UTXOs)
	if err != nil {
		return err
	}
	for i := range signed.Inputs {
		if err := s.VerifyInput(i); err != nil {
			return err
		}
	}
	if probs := p.Check(signed, proposed.UTXOs, rate); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, pr := range probs {
			msgs[i] = pr.Message
		}
		return fmt.Errorf("%w: %s", ErrBreaksRules, joinProblems(msgs))
	}
	return nil
}
