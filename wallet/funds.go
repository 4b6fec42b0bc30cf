package wallet

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// Errors of Funds, wrapped with the amounts that matter. Test with errors.Is.
var (
	// ErrNoFunds: the wallet has no spendable UTXO at all.
	ErrNoFunds = errors.New("wallet has no spendable UTXO")
	// ErrInsufficientFunds: the wallet's spendable UTXOs cannot pay the
	// amount (and the fee).
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrNotMine: no key of the wallet owns the output an input spends.
	ErrNotMine = errors.New("output is not paid to this wallet")
	// ErrBreaksPolicy is matched by every *PolicyError.
	ErrBreaksPolicy = errors.New("transaction breaks the network's rules")
)

// PolicyError lists the rules (txbuild.Policy.Check) a transaction Send
// built would break, such as a payment below the dust threshold or a
// storage mass over the budget. It matches ErrBreaksPolicy.
type PolicyError struct {
	Problems []txbuild.Problem
}

func (e *PolicyError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Rule + ": " + p.Message
	}
	return ErrBreaksPolicy.Error() + ": " + strings.Join(msgs, "; ")
}

// Is makes errors.Is(err, ErrBreaksPolicy) true.
func (e *PolicyError) Is(target error) bool { return target == ErrBreaksPolicy }

// Defaults of FundsOptions.
const (
	DefaultLookahead        = 20
	DefaultCoinbaseMaturity = 1000
)

// RuleChange is the rule of a txbuild.Problem Send reports when the change
// of a payment can neither be kept nor given up to the fee.
const RuleChange = "change-unusable"

// maxSendInputs keeps an ordinary payment's compute mass under the standard
// budget of 100,000 grams: a P2PK input costs about 1,118 grams (its
// signature operation 1,000, its bytes the rest).
const maxSendInputs = 80

// UTXOSource is the node access Funds needs; *node.Client satisfies it.
type UTXOSource interface {
	UTXOsByAddresses(ctx context.Context, addrs []address.Address) ([]txbuild.UTXO, error)
}

// daaSource is the optional part of a UTXOSource that lets Funds skip
// coinbase outputs that are not yet mature.
type daaSource interface {
	VirtualDAAScore(ctx context.Context) (uint64, error)
}

// mempoolSource is the optional part of a UTXOSource that lets Funds skip
// outputs that transactions in the node's mempool already spend.
// *node.Client satisfies it.
type mempoolSource interface {
	MempoolSpends(ctx context.Context, addrs []address.Address) (map[txbuild.Outpoint]txbuild.Hash, error)
}

// FundsOptions configures Wallet.Funds. The zero value gives the defaults.
type FundsOptions struct {
	// Lookahead is how many addresses past the next unused index of each
	// chain are scanned (default 20, BIP44's gap limit), so a wallet
	// restored from its mnemonic finds coins.
	Lookahead uint32
	// CoinbaseMaturity: coinbase UTXOs younger than this many DAA scores
	// are not spendable and are skipped when the source also implements
	// VirtualDAAScore(ctx) (uint64, error). Default 1000 (mainnet after
	// Crescendo); devnet tests use 10.
	CoinbaseMaturity uint64
}

func (o FundsOptions) withDefaults() FundsOptions {
	if o.Lookahead == 0 {
		o.Lookahead = DefaultLookahead
	}
	if o.CoinbaseMaturity == 0 {
		o.CoinbaseMaturity = DefaultCoinbaseMaturity
	}
	return o
}

// Funds spends a wallet's coins with the help of a node: it finds the
// wallet's spendable UTXOs, picks them, hands out fresh addresses, and signs.
// It never submits a transaction. A Funds is safe for concurrent use.
//
// The UTXOs come from the node's UTXO index, which lists outputs accepted
// in blocks until a block accepts their spend. When the source also
// reports mempool spends (MempoolSpends, as *node.Client does), Funds
// leaves out the outputs that transactions in the node's mempool spend, so
// that a payment made a moment ago is not spent again; with another
// source, or a transaction the node has not seen (built but not yet
// submitted, or submitted to another node), the next Send, SelectUTXO or
// ContributeUTXO may pick the same coins again and the node refuses the
// second spend. Go kaspad v0.12.23 reports one mempool spend an address
// at most (rusty-kaspa all of them).
type Funds struct {
	w    *Wallet
	src  UTXOSource
	opts FundsOptions

	mu sync.Mutex
	// addrs[c][i] is the address of index i of chain c (zero for an index
	// BIP32 declares invalid), derived so far.
	addrs [2][]address.Address
	// owner maps a script public key (scriptKey) to where its key is, so
	// that signing derives only the one key it needs. No private key is
	// kept: each is derived when it signs and wiped after.
	owner map[string]keyIndex
}

type keyIndex struct{ chain, index uint32 }

// Funds returns the wallet's coins as src sees them.
func (w *Wallet) Funds(src UTXOSource, opts FundsOptions) *Funds {
	return &Funds{w: w, src: src, opts: opts.withDefaults(), owner: make(map[string]keyIndex)}
}

func scriptKey(spk address.ScriptPublicKey) string {
	return string([]byte{byte(spk.Version >> 8), byte(spk.Version)}) + string(spk.Script)
}

// limits returns how many indexes of each chain are scanned: the next
// unused index plus the lookahead, below 2^31.
func (f *Funds) limits() [2]uint32 {
	lim := func(next uint32) uint32 {
		return uint32(min(uint64(next)+uint64(f.opts.Lookahead), uint64(HardenedOffset)))
	}
	return [2]uint32{lim(f.w.NextReceiveIndex()), lim(f.w.NextChangeIndex())}
}

// deriveKey derives the key of index i of chain c.
func deriveKey(acct *Account, c, i uint32) (Key, error) {
	if c == ChangeChain {
		return acct.Change(i)
	}
	return acct.Receive(i)
}

// extendLocked derives the addresses up to the scan limits and returns
// the scanned ones. f.mu must be held.
func (f *Funds) extendLocked() ([]address.Address, [2]uint32, error) {
	acct, err := f.w.Account()
	if err != nil {
		return nil, [2]uint32{}, err
	}
	lim := f.limits()
	var out []address.Address
	for c := range uint32(2) {
		for i := uint32(len(f.addrs[c])); i < lim[c]; i++ {
			k, err := deriveKey(acct, c, i)
			if errors.Is(err, ErrInvalidChild) {
				f.addrs[c] = append(f.addrs[c], address.Address{}) // BIP32: skip the index
				continue
			}
			if err != nil {
				return nil, lim, err
			}
			k.Zero() // only the address is kept
			f.addrs[c] = append(f.addrs[c], k.Address)
			f.owner[scriptKey(k.Address.ScriptPublicKey())] = keyIndex{c, i}
		}
		for _, a := range f.addrs[c][:lim[c]] {
			if !a.IsZero() {
				out = append(out, a)
			}
		}
	}
	return out, lim, nil
}

// scan is the result of one UTXO query.
type scan struct {
	utxos         []txbuild.UTXO // spendable, largest first
	total         amount.Sompi
	immature      int // coinbase outputs skipped as too young
	immatureTotal amount.Sompi
	pending       int // outputs skipped as spent by mempool transactions
	pendingTotal  amount.Sompi
	addresses     int
}

// note says why there are fewer funds than the node shows, if it is because
// of young coinbase outputs or spends still in the mempool.
func (s scan) note() string {
	var n string
	if s.immature > 0 {
		n += fmt.Sprintf("; %d coinbase outputs holding %s are not yet mature", s.immature, s.immatureTotal)
	}
	if s.pending > 0 {
		n += fmt.Sprintf("; %d outputs holding %s are being spent by transactions in the mempool", s.pending, s.pendingTotal)
	}
	return n
}

func (f *Funds) scan(ctx context.Context) (scan, error) {
	if err := ctx.Err(); err != nil {
		return scan{}, err
	}
	f.mu.Lock()
	addrs, _, err := f.extendLocked()
	f.mu.Unlock()
	if err != nil {
		return scan{}, err
	}
	// The DAA score is read before the UTXOs: outputs that arrive after it
	// are younger, so maturity errs toward too little, never too much.
	var daa uint64
	d, checkMaturity := f.src.(daaSource)
	if checkMaturity {
		if daa, err = d.VirtualDAAScore(ctx); err != nil {
			return scan{}, fmt.Errorf("virtual DAA score: %w", err)
		}
	}
	// Mempool spends are read before the UTXOs: a spend a block accepts
	// in between has left the UTXO index too, while the other order could
	// miss it in both.
	var spent map[txbuild.Outpoint]txbuild.Hash
	if m, ok := f.src.(mempoolSource); ok {
		if spent, err = m.MempoolSpends(ctx, addrs); err != nil {
			return scan{}, fmt.Errorf("mempool spends of %d wallet addresses: %w", len(addrs), err)
		}
	}
	got, err := f.src.UTXOsByAddresses(ctx, addrs)
	if err != nil {
		return scan{}, fmt.Errorf("UTXOs of %d wallet addresses: %w", len(addrs), err)
	}
	s := scan{addresses: len(addrs)}
	seen := make(map[txbuild.Outpoint]bool, len(got))
	f.mu.Lock()
	for _, u := range got {
		// Only outputs to the wallet's own scripts count: anything else
		// could not be signed.
		if _, ok := f.owner[scriptKey(u.Entry.ScriptPublicKey)]; !ok || seen[u.Outpoint] || u.Entry.Amount == 0 {
			continue
		}
		seen[u.Outpoint] = true
		if _, ok := spent[u.Outpoint]; ok {
			s.pending++
			s.pendingTotal, _ = amount.Add(s.pendingTotal, u.Entry.Amount)
			continue
		}
		if checkMaturity && u.Entry.IsCoinbase && (u.Entry.BlockDAAScore > daa || daa-u.Entry.BlockDAAScore < f.opts.CoinbaseMaturity) {
			s.immature++
			s.immatureTotal, _ = amount.Add(s.immatureTotal, u.Entry.Amount)
			continue
		}
		t, err := amount.Add(s.total, u.Entry.Amount)
		if err != nil {
			f.mu.Unlock()
			return scan{}, fmt.Errorf("wallet UTXOs: %w", err)
		}
		s.total = t
		s.utxos = append(s.utxos, u)
	}
	f.mu.Unlock()
	slices.SortFunc(s.utxos, func(a, b txbuild.UTXO) int {
		if a.Entry.Amount != b.Entry.Amount {
			if a.Entry.Amount > b.Entry.Amount {
				return -1
			}
			return 1
		}
		if c := bytes.Compare(a.Outpoint.TransactionID[:], b.Outpoint.TransactionID[:]); c != 0 {
			return c
		}
		return int(a.Outpoint.Index) - int(b.Outpoint.Index)
	})
	return s, nil
}

// UTXOs returns the wallet's spendable UTXOs, largest first: those of
// receive addresses 0 to NextReceiveIndex+Lookahead-1 and change addresses
// 0 to NextChangeIndex+Lookahead-1, leaving out coinbase outputs that are
// not yet mature (when the source tells the DAA score) and outputs that
// transactions in the node's mempool spend (when it tells those).
func (f *Funds) UTXOs(ctx context.Context) ([]txbuild.UTXO, error) {
	s, err := f.scan(ctx)
	return s.utxos, err
}

// Balance returns the sum of the wallet's spendable UTXOs (see UTXOs).
func (f *Funds) Balance(ctx context.Context) (amount.Sompi, error) {
	s, err := f.scan(ctx)
	return s.total, err
}

// Balances is a wallet's balance split by what can be spent now.
type Balances struct {
	Spendable amount.Sompi // Balance: what Send and the payjoin can use
	Maturing  amount.Sompi // coinbase outputs not yet mature
	// Spending: outputs that transactions in the node's mempool spend
	// (their change shows up once a block accepts them).
	Spending amount.Sompi
}

// Balances returns the spendable and the maturing balance in one scan.
func (f *Funds) Balances(ctx context.Context) (Balances, error) {
	s, err := f.scan(ctx)
	return Balances{Spendable: s.total, Maturing: s.immatureTotal, Spending: s.pendingTotal}, err
}

// SelectUTXO returns the smallest spendable UTXO holding at least min: the
// single coin a payjoin sender spends, leaving larger coins whole. If no
// single UTXO is large enough it returns ErrInsufficientFunds saying the
// largest UTXO and the total (which may suffice for an ordinary Send);
// with no UTXO at all the error also matches ErrNoFunds.
func (f *Funds) SelectUTXO(ctx context.Context, min amount.Sompi) (txbuild.UTXO, error) {
	s, err := f.scan(ctx)
	if err != nil {
		return txbuild.UTXO{}, err
	}
	return s.smallest(min, "")
}

// SelectUTXOs returns the coins a payjoin sender offers its builder:
// up to txbuild.MaxSenderCoins spendable UTXOs holding at least min,
// smallest first (txbuild.SenderCoins). With none it returns
// SelectUTXO's error.
func (f *Funds) SelectUTXOs(ctx context.Context, min amount.Sompi) ([]txbuild.UTXO, error) {
	s, err := f.scan(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.smallest(min, ""); err != nil {
		return nil, err
	}
	return txbuild.SenderCoins(s.utxos, min), nil
}

// SelectChangeUTXO is SelectUTXO among the UTXOs of the wallet's change
// chain only: coins the wallet paid itself (the change of its payments,
// a relay node's pulses, and coins sent to a ChangeAddress), never a
// payment received on a receive address. A relay node pulses with it: a
// pulse names the node in public, and one that spent a relay fee output
// (paid to a receive address) would tie that payjoin to the node.
func (f *Funds) SelectChangeUTXO(ctx context.Context, min amount.Sompi) (txbuild.UTXO, error) {
	s, err := f.scan(ctx)
	if err != nil {
		return txbuild.UTXO{}, err
	}
	f.mu.Lock()
	change := s
	change.utxos, change.total = nil, 0
	for _, u := range s.utxos {
		if f.owner[scriptKey(u.Entry.ScriptPublicKey)].chain == ChangeChain {
			change.utxos = append(change.utxos, u)
			change.total += u.Entry.Amount // a part of s.total: no overflow
		}
	}
	f.mu.Unlock()
	return change.smallest(min, " on the change chain")
}

// smallest returns the smallest of s's UTXOs holding at least min; where
// names the UTXOs in errors.
func (s scan) smallest(min amount.Sompi, where string) (txbuild.UTXO, error) {
	if len(s.utxos) == 0 {
		return txbuild.UTXO{}, fmt.Errorf("%w: need one UTXO%s of at least %s: %w (in %d addresses)%s",
			ErrInsufficientFunds, where, min, ErrNoFunds, s.addresses, s.note())
	}
	// Largest first: the last one holding min is the smallest that does.
	i := len(s.utxos) - 1
	for i >= 0 && s.utxos[i].Entry.Amount < min {
		i--
	}
	if i < 0 {
		return txbuild.UTXO{}, fmt.Errorf("%w: no single UTXO%s holds %s: the largest holds %s, all %d together %s%s",
			ErrInsufficientFunds, where, min, s.utxos[0].Entry.Amount, len(s.utxos), s.total, s.note())
	}
	return s.utxos[i], nil
}

// ContributeUTXO returns the input a payjoin receiver adds to a payjoin
// paying it payment (txbuild.ReceiverCoin): one of its smallest coins
// that could pay that payment as a sender's coin would, drawn at random,
// so that an observer cannot tell the two inputs apart by size
// (PRIVACY.md); its largest coin where none is that large (a large input
// keeps the storage mass low). With no spendable UTXO it returns
// ErrNoFunds.
func (f *Funds) ContributeUTXO(ctx context.Context, payment amount.Sompi) (txbuild.UTXO, error) {
	s, err := f.scan(ctx)
	if err != nil {
		return txbuild.UTXO{}, err
	}
	u, ok, err := txbuild.ReceiverCoin(s.utxos, payment, crand.Reader)
	if err != nil {
		return txbuild.UTXO{}, err
	}
	if !ok {
		return txbuild.UTXO{}, fmt.Errorf("%w (scanned %d addresses)%s", ErrNoFunds, s.addresses, s.note())
	}
	return u, nil
}

// FreshAddresses reserves n new receive addresses (Wallet.ReserveReceive):
// none was handed out before, and the wallet file records them before they
// are returned. They stay within the next scan of a Funds, so coins sent
// to them are found.
func (f *Funds) FreshAddresses(ctx context.Context, n int) ([]address.Address, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	keys, err := f.w.ReserveReceive(n)
	if err != nil {
		return nil, err
	}
	out := make([]address.Address, len(keys))
	for i, k := range keys {
		out[i] = k.Address
		k.Zero()
	}
	return out, nil
}

// ChangeAddress reserves a new change address (Wallet.ReserveChange).
func (f *Funds) ChangeAddress(ctx context.Context) (address.Address, error) {
	if err := ctx.Err(); err != nil {
		return address.Address{}, err
	}
	for {
		keys, err := f.w.ReserveChange(1)
		if err != nil {
			return address.Address{}, err
		}
		if len(keys) == 1 { // empty only for an index BIP32 declares invalid
			keys[0].Zero()
			return keys[0].Address, nil
		}
	}
}

// ownerOf returns where the key of spk is, deriving up to the scan limits
// when it is not known yet.
func (f *Funds) ownerOf(spk address.ScriptPublicKey) (keyIndex, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if loc, ok := f.owner[scriptKey(spk)]; ok {
		return loc, nil
	}
	_, lim, err := f.extendLocked()
	if err != nil {
		return keyIndex{}, err
	}
	if loc, ok := f.owner[scriptKey(spk)]; ok {
		return loc, nil
	}
	what := "script " + spk.String()
	if a, err := address.FromScriptPublicKey(spk, f.w.Network()); err == nil {
		what = a.String()
	}
	return keyIndex{}, fmt.Errorf("%w: %s is none of receive addresses 0..%d and change addresses 0..%d",
		ErrNotMine, what, int64(lim[0])-1, int64(lim[1])-1)
}

// signWith signs input i with the key that owns spk and wipes the key.
func (f *Funds) signWith(s *txbuild.SigHasher, i int, spk address.ScriptPublicKey) error {
	loc, err := f.ownerOf(spk)
	if err != nil {
		return fmt.Errorf("input %d: %w", i, err)
	}
	acct, err := f.w.Account()
	if err != nil {
		return err
	}
	k, err := deriveKey(acct, loc.chain, loc.index)
	if err != nil {
		return err
	}
	defer k.Zero()
	priv, err := k.PrivateKey()
	if err != nil {
		return err
	}
	return s.SignInput(i, txbuild.SigHashAll, priv)
}

// SignInput signs input i of tx (SIGHASH_ALL) with the wallet key that
// owns utxos[i].ScriptPublicKey, utxos holding the previous output of every
// input in order. It searches the receive and change chains up to the next
// unused index plus the lookahead and returns ErrNotMine if no key owns the
// output. The private key is derived for this signature and its bytes are
// zeroed afterwards (see Wallet for the limits of that in Go).
func (f *Funds) SignInput(ctx context.Context, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, i int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tx == nil {
		return errors.New("sign: no transaction")
	}
	if len(utxos) != len(tx.Inputs) {
		return fmt.Errorf("%w: %d inputs, %d UTXO entries", txbuild.ErrUTXOCount, len(tx.Inputs), len(utxos))
	}
	if i < 0 || i >= len(tx.Inputs) {
		return fmt.Errorf("input %d of a transaction with %d inputs", i, len(tx.Inputs))
	}
	s, err := txbuild.NewSigHasher(tx, utxos)
	if err != nil {
		return err
	}
	return f.signWith(s, i, utxos[i].ScriptPublicKey)
}

// Send builds and signs an ordinary payment of amt to to, at fee rate rate
// under policy (txbuild.PolicyFor the network). It does not submit it: the
// caller submits tx with node.Client.SubmitTransaction. utxos holds the
// previous output of each input, in order.
//
// It spends the largest spendable UTXOs first, as many as needed and at most
// 80 (to stay within the standard mass budget), and pays any change to a
// fresh change address (ChangeAddress), at a random output position so the
// change is not told by its place. The fee is policy.RequiredFee, computed
// again until it no longer changes: the fee lowers the change, and a
// smaller change raises the KIP-9 storage mass.
//
// There is no change output when the change would be 0. When the change
// would be too small to keep (below the dust threshold, or so small that
// its storage mass breaks the mass budget, which happens below about
// 10^12 / budget sompi: 0.1 KAS at the standard 100,000 grams) it is added
// to the fee instead, and the fee is then larger than the network requires,
// by less than that amount. Before giving up such change, Send checks
// whether spending one more UTXO (which makes the change large enough to
// keep) costs less, and does that if so.
//
// Errors: ErrInsufficientFunds (also ErrNoFunds when there is no spendable
// UTXO) with the amounts, and a *PolicyError (ErrBreaksPolicy) listing
// every rule the payment would break, such as an amount below the dust
// threshold.
func (f *Funds) Send(ctx context.Context, to address.Address, amt amount.Sompi, rate txbuild.FeeRate, policy txbuild.Policy) (*txbuild.Transaction, []txbuild.UTXOEntry, error) {
	switch {
	case to.IsZero():
		return nil, nil, errors.New("send: no recipient address")
	case to.Network() != f.w.Network():
		return nil, nil, fmt.Errorf("send: recipient %s is a %v address; the wallet is on %v", to, to.Network(), f.w.Network())
	case amt == 0:
		return nil, nil, fmt.Errorf("send: %w", txbuild.ErrZeroOutput)
	case amt > amount.MaxSompi:
		return nil, nil, fmt.Errorf("send: %w: %d sompi", amount.ErrAboveMaxSompi, amt)
	}
	s, err := f.scan(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(s.utxos) == 0 {
		return nil, nil, fmt.Errorf("%w: paying %s: %w (in %d addresses)%s", ErrInsufficientFunds, amt, ErrNoFunds, s.addresses, s.note())
	}
	f.mu.Lock()
	// Change scripts of the wallet all have one length, so change index 0
	// stands in for the fresh change address in the mass and fee, and a
	// change index is reserved only for a payment that has change.
	var placeholder address.ScriptPublicKey
	for _, a := range f.addrs[ChangeChain] {
		if !a.IsZero() {
			placeholder = a.ScriptPublicKey()
			break
		}
	}
	f.mu.Unlock()
	p := payment{to: to.ScriptPublicKey(), amt: amt, change: placeholder, rate: rate, policy: policy}

	n := min(len(s.utxos), maxSendInputs)
	var (
		chosen   *candidate
		total    amount.Sompi
		problems []txbuild.Problem
		feeShort bool // the last attempt failed only for want of the fee
	)
	for k := 1; k <= n && chosen == nil; k++ {
		total += s.utxos[k-1].Entry.Amount // within MaxSompi: scan summed them all
		if total <= amt {
			continue
		}
		withChange, burn, probs, short := p.build(s.utxos[:k])
		switch {
		case withChange != nil:
			chosen = withChange
		case burn != nil:
			chosen = burn
			// One more UTXO may make the change large enough to keep, for
			// less fee than giving it up.
			if k < n {
				if next, _, _, _ := p.build(s.utxos[:k+1]); next != nil && next.fee < burn.fee {
					chosen = next
				}
			}
		default:
			problems, feeShort = probs, short
		}
	}
	if chosen == nil {
		if problems == nil || feeShort {
			more := ""
			if len(s.utxos) > maxSendInputs {
				more = fmt.Sprintf(" (the %d largest of %d UTXOs: a payment spends at most %d; send less or consolidate first)",
					maxSendInputs, len(s.utxos), maxSendInputs)
			}
			return nil, nil, fmt.Errorf("%w: paying %s plus its fee needs more than the %s of %d UTXOs%s; the wallet holds %s spendable%s",
				ErrInsufficientFunds, amt, total, n, more, s.total, s.note())
		}
		return nil, nil, fmt.Errorf("send %s to %s: %w", amt, to, &PolicyError{Problems: problems})
	}

	tx, utxos := chosen.tx, chosen.utxos
	if chosen.hasChange {
		change, err := f.ChangeAddress(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("change address: %w", err)
		}
		tx.Outputs[1].ScriptPublicKey = change.ScriptPublicKey()
		if rand.IntN(2) == 1 {
			tx.Outputs[0], tx.Outputs[1] = tx.Outputs[1], tx.Outputs[0]
		}
	}
	sh, err := txbuild.NewSigHasher(tx, utxos)
	if err != nil {
		return nil, nil, err
	}
	for i := range tx.Inputs {
		tx.Inputs[i].SignatureScript = nil
		if err := f.signWith(sh, i, utxos[i].ScriptPublicKey); err != nil {
			return nil, nil, err
		}
	}
	if probs := policy.Check(tx, utxos, rate); len(probs) > 0 {
		return nil, nil, fmt.Errorf("send %s to %s: %w", amt, to, &PolicyError{Problems: probs})
	}
	return tx, utxos, nil
}

// payment is what Send pays, before the inputs are chosen.
type payment struct {
	to, change address.ScriptPublicKey
	amt        amount.Sompi
	rate       txbuild.FeeRate
	policy     txbuild.Policy
}

// candidate is a payment built from a set of inputs, signed with
// placeholder signatures of the real size (so its masses are final).
type candidate struct {
	tx        *txbuild.Transaction
	utxos     []txbuild.UTXOEntry
	fee       amount.Sompi
	hasChange bool
}

// maxFeeRounds bounds the fee iteration. The fee only grows from round to
// round and settles within a few rounds unless the change shrinks toward
// nothing, which makes it a change too small to keep.
const maxFeeRounds = 32

// build builds the payment from inputs: with a change output if the change
// can be kept (withChange), else without one, the change given up to the
// fee, if that change is small (burn). With neither, problems says why,
// and feeShort whether the inputs merely fall short of the fee.
func (p payment) build(inputs []txbuild.UTXO) (withChange, burn *candidate, problems []txbuild.Problem, feeShort bool) {
	var total amount.Sompi
	utxos := make([]txbuild.UTXOEntry, len(inputs))
	tx := &txbuild.Transaction{Inputs: make([]txbuild.Input, len(inputs))}
	for i, u := range inputs {
		utxos[i] = u.Entry
		total += u.Entry.Amount
		tx.Inputs[i] = txbuild.Input{
			PreviousOutpoint: u.Outpoint,
			SigOpCount:       1,
			// The size of a real signature script (OP_DATA_65, 64-byte
			// Schnorr signature, sighash type), so the masses and fee
			// computed now hold once the inputs are signed.
			SignatureScript: make([]byte, 66),
		}
	}
	pay := txbuild.Output{Amount: p.amt, ScriptPublicKey: p.to}

	// With change: raise the fee until it covers itself.
	var (
		fee         amount.Sompi
		noRoom      bool // the fee leaves no change: giving up what is left costs less than a change output
		changeProbs []txbuild.Problem
		settled     bool
	)
	for range maxFeeRounds {
		if total <= p.amt+fee {
			noRoom = true
			break
		}
		change := total - p.amt - fee
		tx.Outputs = []txbuild.Output{pay, {Amount: change, ScriptPublicKey: p.change}}
		m, err := txbuild.CalcMasses(tx, utxos)
		if err != nil {
			changeProbs = []txbuild.Problem{{Rule: txbuild.RuleStorageMass, Message: fmt.Sprintf("change of %s: %v", change, err)}}
			settled = true
			break
		}
		need := amount.Sompi(p.policy.RequiredFee(tx, m, p.rate))
		if need <= fee {
			if changeProbs = p.checkUnsigned(tx, utxos); len(changeProbs) == 0 {
				return &candidate{tx: tx, utxos: utxos, fee: fee, hasChange: true}, nil, nil, false
			}
			settled = true
			break
		}
		fee = need
	}
	if !noRoom && !settled {
		changeProbs = []txbuild.Problem{{Rule: RuleChange, Message: fmt.Sprintf(
			"the fee did not settle in %d rounds (last %s): the change is too small to keep", maxFeeRounds, fee)}}
	}

	// Without change.
	tx.Outputs = []txbuild.Output{pay}
	fee = total - p.amt
	if problems = p.checkUnsigned(tx, utxos); len(problems) > 0 {
		feeShort = true
		for _, pr := range problems {
			feeShort = feeShort && (pr.Rule == txbuild.RuleFeeFloor || pr.Rule == txbuild.RuleFeeRate)
		}
		return nil, nil, problems, feeShort
	}
	m, err := txbuild.CalcMasses(tx, utxos)
	if err != nil {
		return nil, nil, []txbuild.Problem{{Rule: txbuild.RuleStorageMass, Message: err.Error()}}, false
	}
	if extra := fee - amount.Sompi(p.policy.RequiredFee(tx, m, p.rate)); !noRoom && extra > p.maxBurn() {
		// The change is worth keeping; more inputs may make that possible.
		return nil, nil, append(changeProbs, txbuild.Problem{Rule: RuleChange, Message: fmt.Sprintf(
			"a change output of about %s breaks the rules above, and giving it up to the fee would cost more than %s: send a different amount",
			extra, p.maxBurn())}), false
	}
	return nil, &candidate{tx: tx, utxos: utxos, fee: fee}, nil, false
}

// maxBurn is the most change Send gives up to the fee: change below it
// costs more storage mass than the budget holds (KIP-9: 10^12 / amount
// grams for one output), so it could not be kept anyway.
func (p payment) maxBurn() amount.Sompi {
	budget := p.policy.MassBudget
	if budget == 0 {
		budget = txbuild.MaximumStandardMass
	}
	return amount.Sompi(txbuild.StorageMassParameter / budget)
}

// checkUnsigned is policy.Check for a transaction with placeholder
// signatures: every rule but the signatures'.
func (p payment) checkUnsigned(tx *txbuild.Transaction, utxos []txbuild.UTXOEntry) []txbuild.Problem {
	var out []txbuild.Problem
	for _, pr := range p.policy.Check(tx, utxos, p.rate) {
		if pr.Rule != txbuild.RuleBadSignature && pr.Rule != txbuild.RuleUnsigned {
			out = append(out, pr)
		}
	}
	return out
}
