package kpp_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// The attacks of a dishonest wallet on an honest one, on a real devnet
// kaspad through a real kloak relay. Each ends in a typed refusal by the
// honest wallet and no loss, shown on the node (noLoss); where the honest
// party did sign, what it signed pays it in full (paysInFull). The relay's
// own misbehaviour is in mitm_test.go.

// TestAttackReceiverAltersProposal: a receiver that returns anything but
// the sender's proposal with a valid SIGHASH_ALL signature on its own input
// (here: the sender's change output swapped for one of its own) is refused
// with txbuild.ErrProposalChanged and the like before the sender signs; the
// sender's coins stay where they are.
func TestAttackReceiverAltersProposal(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "sender")
	recvW, sendW := ws[0], ws[1]
	snaps := []snapshot{e.snapshot("sender", sendW)}

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, r *evilReceiver, sd kpp.SenderData, msg kpp.TransactionMessage) *txbuild.Transaction
		want   error
	}{
		{"swaps the sender's change output", func(t *testing.T, r *evilReceiver, sd kpp.SenderData, msg kpp.TransactionMessage) *txbuild.Transaction {
			mine, err := r.funds.FreshAddresses(e.ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			tx := msg.Tx.Clone()
			n := 0
			for i, out := range tx.Outputs {
				if out.ScriptPublicKey.Equal(sd.ChangeAddress.ScriptPublicKey()) {
					tx.Outputs[i].ScriptPublicKey = mine[0].ScriptPublicKey()
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d change outputs", n)
			}
			r.sign(tx, sd, msg, txbuild.SigHashAll)
			return tx
		}, txbuild.ErrProposalChanged},
		{"takes a sompi more", func(t *testing.T, r *evilReceiver, sd kpp.SenderData, msg kpp.TransactionMessage) *txbuild.Transaction {
			tx := msg.Tx.Clone()
			for i, out := range tx.Outputs {
				if out.ScriptPublicKey.Equal(r.offer.Address1.ScriptPublicKey()) {
					tx.Outputs[i].Amount++
				}
				if out.ScriptPublicKey.Equal(sd.ChangeAddress.ScriptPublicKey()) {
					tx.Outputs[i].Amount--
				}
			}
			r.sign(tx, sd, msg, txbuild.SigHashAll)
			return tx
		}, txbuild.ErrProposalChanged},
		{"signs with SIGHASH_NONE", func(t *testing.T, r *evilReceiver, sd kpp.SenderData, msg kpp.TransactionMessage) *txbuild.Transaction {
			tx := msg.Tx.Clone()
			r.sign(tx, sd, msg, txbuild.SigHashNone)
			return tx
		}, txbuild.ErrBadSigHashType},
		{"forges its signature", func(t *testing.T, r *evilReceiver, sd kpp.SenderData, msg kpp.TransactionMessage) *txbuild.Transaction {
			tx := msg.Tx.Clone()
			sig := make([]byte, 66)
			_, _ = rand.Read(sig)
			sig[0], sig[65] = 0x41, byte(txbuild.SigHashAll)
			tx.Inputs[msg.YourInputIndex].SignatureScript = sig
			return tx
		}, txbuild.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.noLeaks(t)
			r := e.evilReceiver(t, recvW, nil)
			e.waitPending(t, 1)
			s := e.honestSender(t, sendW, r.uri, kpp.SenderConfig{})
			sd, msg := r.proposal()
			r.sendSignature(tc.tamper(t, r, sd, msg))
			err := s.refused(t)
			t.Logf("the sender told the attacker: %s", r.expectBroadcastError())
			e.refusedUnharmed(t, "sender", err, tc.want, s.wallet, sd.UTXO, snaps)
		})
	}
}

// TestAttackSenderRedirectsReceiverUTXO: a sender that proposes anything
// but R + P to the receiver's addresses (here: R to itself) is refused with
// txbuild.ErrNotPaidInFull and the like; the receiver signs nothing and
// tells the sender why with a sealed broadcast_error.
func TestAttackSenderRedirectsReceiverUTXO(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "thief")
	recvW, thiefW := ws[0], ws[1]
	snaps := []snapshot{e.snapshot("receiver", recvW)}

	for _, tc := range []struct {
		name    string
		propose func(t *testing.T, s *evilSender, sd kpp.SenderData, pj *txbuild.Payjoin) (kpp.SenderData, *txbuild.Transaction, int, int)
		want    error
	}{
		{"pays R to the sender", func(t *testing.T, s *evilSender, sd kpp.SenderData, pj *txbuild.Payjoin) (kpp.SenderData, *txbuild.Transaction, int, int) {
			return sd, steal(t, pj, sd, s.offer), pj.ReceiverInput, pj.SenderInput
		}, txbuild.ErrNotPaidInFull},
		{"pays a sompi short", func(t *testing.T, s *evilSender, sd kpp.SenderData, pj *txbuild.Payjoin) (kpp.SenderData, *txbuild.Transaction, int, int) {
			tx := pj.Tx.Clone()
			for i, out := range tx.Outputs {
				if out.ScriptPublicKey.Equal(s.offer.Address2.ScriptPublicKey()) {
					tx.Outputs[i].Amount--
				}
				if out.ScriptPublicKey.Equal(sd.ChangeAddress.ScriptPublicKey()) {
					tx.Outputs[i].Amount++
				}
			}
			return sd, tx, pj.ReceiverInput, pj.SenderInput
		}, txbuild.ErrNotPaidInFull},
		{"pays in full but no network fee", func(t *testing.T, s *evilSender, sd kpp.SenderData, pj *txbuild.Payjoin) (kpp.SenderData, *txbuild.Transaction, int, int) {
			tx := pj.Tx.Clone()
			for i, out := range tx.Outputs {
				if out.ScriptPublicKey.Equal(sd.ChangeAddress.ScriptPublicKey()) {
					tx.Outputs[i].Amount += pj.NetworkFee
				}
			}
			return sd, tx, pj.ReceiverInput, pj.SenderInput
		}, txbuild.ErrBreaksRules},
		{"names the wrong input as the receiver's", func(t *testing.T, s *evilSender, sd kpp.SenderData, pj *txbuild.Payjoin) (kpp.SenderData, *txbuild.Transaction, int, int) {
			return sd, pj.Tx, pj.SenderInput, pj.ReceiverInput
		}, kpp.ErrUnexpectedMessage},
		{"spends the receiver's UTXO twice", func(t *testing.T, s *evilSender, sd kpp.SenderData, pj *txbuild.Payjoin) (kpp.SenderData, *txbuild.Transaction, int, int) {
			tx := pj.Tx.Clone()
			tx.Inputs[pj.SenderInput].PreviousOutpoint = s.offer.UTXO.Outpoint
			sd.UTXO = s.offer.UTXO // announced as its own, too
			return sd, tx, pj.ReceiverInput, pj.SenderInput
		}, txbuild.ErrNotAgreedShape},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.noLeaks(t)
			r := e.honestReceiver(t, recvW, e.relayURL)
			s := e.evilSender(t, r.URI(), thiefW)
			sd, pj := s.build()
			sd, tx, yours, senders := tc.propose(t, s, sd, pj)
			s.propose(sd, tx, yours, senders)
			reason := s.expectBroadcastError()
			err := r.refused(t)
			t.Logf("the attacker got a sealed broadcast_error: %s", reason)
			e.refusedUnharmed(t, "receiver", err, tc.want, r.wallet, s.offer.UTXO, snaps)
		})
	}
}

// refusedUnharmed checks what an honest wallet (who) must show once it
// refused an attacker: the error err is want, it signed nothing, its UTXO
// u is still unspent on the node, and no coin of snaps moved.
func (e *env) refusedUnharmed(t *testing.T, who string, err, want error, w *countingWallet, u txbuild.UTXO, snaps []snapshot) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", who, err, want)
	}
	w.signedNothing(t, who)
	if _, err := e.client.LookupUTXO(e.ctx, u.Address, u.Outpoint); err != nil {
		t.Errorf("the %s's UTXO %s: %v", who, u.Outpoint, err)
	}
	e.noLoss(t, snaps)
}

// TestAttackSenderLiesAboutBroadcast: a sender that claims a broadcast it
// did not make gets a *kpp.SignedError from the receiver's Wait (ErrNotSeen
// within Timeouts.Seen, or ErrUnexpectedMessage for a wrong id). The
// receiver did sign, so what it signed must pay it in full: broadcast later
// by anyone, it credits the receiver exactly P (R + P for its UTXO R).
func TestAttackSenderLiesAboutBroadcast(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "liar")
	recvW, liarW := ws[0], ws[1]
	snaps := []snapshot{e.snapshot("receiver", recvW)}

	// signedByReceiver runs the payjoin honestly up to the receiver's
	// signature and then sends the claim.
	signedByReceiver := func(t *testing.T, claim func(signed *txbuild.Transaction) txbuild.Hash) (*evilSender, *txbuild.Payjoin, *txbuild.Transaction, *kpp.SignedError, time.Duration) {
		e.noLeaks(t)
		r := e.honestReceiver(t, recvW, e.relayURL)
		s := e.evilSender(t, r.URI(), liarW)
		sd, pj := s.build()
		s.propose(sd, pj.Tx, pj.ReceiverInput, pj.SenderInput)
		signed := s.receiverSignature()
		if err := txbuild.VerifyAsSender(pj, signed); err != nil {
			t.Fatal(err)
		}
		id := claim(signed)
		start := time.Now()
		s.sendSealed([]byte(fmt.Sprintf(`{"type":"broadcast_success","transaction_id":"%s"}`, id)))
		err := r.refused(t)
		var se *kpp.SignedError
		if !errors.As(err, &se) {
			t.Fatalf("receiver: %v, want a *kpp.SignedError", err)
		}
		paysInFull(t, signed, s.offer, testPayment, se.TransactionID)
		if se.Contributed != s.offer.UTXO.Outpoint {
			t.Errorf("SignedError names %s, the receiver contributed %s", se.Contributed, s.offer.UTXO.Outpoint)
		}
		return s, pj, signed, se, time.Since(start)
	}

	t.Run("wrong transaction id", func(t *testing.T) {
		_, _, _, se, _ := signedByReceiver(t, func(signed *txbuild.Transaction) txbuild.Hash {
			id := signed.ID()
			id[0] ^= 0xff
			return id
		})
		if !errors.Is(se, kpp.ErrUnexpectedMessage) {
			t.Errorf("receiver: %v, want kpp.ErrUnexpectedMessage", se)
		}
		e.noLoss(t, snaps, se.TransactionID)
	})

	t.Run("right id, never broadcast", func(t *testing.T) {
		s, pj, signed, se, took := signedByReceiver(t, func(signed *txbuild.Transaction) txbuild.Hash { return signed.ID() })
		if !errors.Is(se, kpp.ErrNotSeen) {
			t.Errorf("receiver: %v, want kpp.ErrNotSeen", se)
		}
		if took < attackTimeouts.Seen {
			t.Errorf("the receiver gave up after %v, before Timeouts.Seen (%v)", took, attackTimeouts.Seen)
		}
		e.noLoss(t, snaps, se.TransactionID)

		// Later, the liar broadcasts after all: the receiver is paid in
		// full.
		before := e.total(recvW)
		if err := s.funds.SignInput(e.ctx, signed, pj.UTXOs, pj.SenderInput); err != nil {
			t.Fatal(err)
		}
		id, err := e.client.SubmitTransaction(e.ctx, signed)
		if err != nil {
			t.Fatal(err)
		}
		if id != se.TransactionID {
			t.Errorf("broadcast %s, the receiver signed %s", id, se.TransactionID)
		}
		if err := e.dev.MineBlocks(e.ctx, e.miner.String(), 2); err != nil {
			t.Fatal(err)
		}
		after := e.settle(recvW)[0]
		if got := after - before; got != testPayment {
			t.Errorf("broadcast late, the payjoin credited the receiver %d sompi, want P = %d", got, testPayment)
		} else {
			t.Logf("broadcast late, the payjoin credited the receiver exactly P = %s", amount.Sompi(testPayment))
		}
	})
}

// TestAttackReceiverLiesAboutUTXO: a receiver whose offer does not match
// its payment request or the sender's node (a UTXO larger than the node
// holds, one that does not exist, more than it asked) is refused with
// kpp.ErrOfferMismatch or node.ErrUTXONotFound before the sender builds
// anything: the attacker never sees the sender's UTXO.
func TestAttackReceiverLiesAboutUTXO(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "sender")
	recvW, sendW := ws[0], ws[1]
	snaps := []snapshot{e.snapshot("sender", sendW)}

	for _, tc := range []struct {
		name string
		lie  func(o *kpp.ReceiverOffer)
		want error
	}{
		{"claims more than the node holds", func(o *kpp.ReceiverOffer) { o.UTXO.Entry.Amount += 5 * amount.SompiPerKAS }, kpp.ErrOfferMismatch},
		{"claims less than the node holds", func(o *kpp.ReceiverOffer) { o.UTXO.Entry.Amount-- }, kpp.ErrOfferMismatch},
		{"claims a UTXO that does not exist", func(o *kpp.ReceiverOffer) { o.UTXO.Outpoint.Index += 1000 }, node.ErrUTXONotFound},
		{"asks more than its payment request", func(o *kpp.ReceiverOffer) { o.Amount *= 2 }, kpp.ErrOfferMismatch},
		{"names another first address", func(o *kpp.ReceiverOffer) { o.Address1, o.Address2 = o.Address2, o.Address1 }, kpp.ErrOfferMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.noLeaks(t)
			r := e.evilReceiver(t, recvW, func(k kpp.Key, o kpp.ReceiverOffer) frame {
				tc.lie(&o)
				return sealedFrame(k, o.Marshal())
			})
			e.waitPending(t, 1)
			s := e.honestSender(t, sendW, r.uri, kpp.SenderConfig{})
			err := s.refused(t)
			if !errors.Is(err, tc.want) {
				t.Errorf("sender: %v, want %v", err, tc.want)
			}
			// The sender refused before building: the attacker gets no
			// sender data, only a broadcast_error with a fixed text (no
			// amounts, coins or hosts), then the end of the session.
			if b, err := r.read(); err == nil {
				pt, err := kpp.Open(r.key, string(b))
				if err != nil || string(pt) != `{"error":"refused: the offer does not match the payment request","type":"broadcast_error"}` &&
					string(pt) != `{"error":"payjoin cancelled","type":"broadcast_error"}` {
					t.Errorf("the sender sent the liar %q (%v)", pt, err)
				}
				if b, err := r.read(); err == nil {
					t.Errorf("the sender sent the liar a second message: %.100s", b)
				}
			}
			s.wallet.signedNothing(t, "sender")
			e.noLoss(t, snaps)
		})
	}
}

// TestAttackStolenURI: whoever reads the payment request first can pair as
// the sender. A thief that tries to steal is refused like any dishonest
// sender, and the legitimate sender then finds no receiver
// (*kpp.RelayError "No matching receiver waiting"); a thief that pays
// honestly pays the receiver exactly P.
func TestAttackStolenURI(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "sender", "thief")
	recvW, sendW, thiefW := ws[0], ws[1], ws[2]

	noReceiver := func(t *testing.T, uri string) {
		t.Helper()
		legit := e.honestSender(t, sendW, uri, kpp.SenderConfig{})
		err := legit.refused(t)
		var re *kpp.RelayError
		if !errors.As(err, &re) || re.Code != kpp.ErrTextNoReceiver {
			t.Errorf("legitimate sender: %v, want *kpp.RelayError %q", err, kpp.ErrTextNoReceiver)
		}
		legit.wallet.signedNothing(t, "legitimate sender")
	}

	t.Run("thief steals", func(t *testing.T) {
		e.noLeaks(t)
		snaps := []snapshot{e.snapshot("receiver", recvW), e.snapshot("legitimate sender", sendW)}
		r := e.honestReceiver(t, recvW, e.relayURL)
		thief := e.evilSender(t, r.URI(), thiefW)
		sd, pj := thief.build()
		thief.propose(sd, steal(t, pj, sd, thief.offer), pj.ReceiverInput, pj.SenderInput)
		t.Logf("the thief got a sealed broadcast_error: %s", thief.expectBroadcastError())
		err := r.refused(t)
		if !errors.Is(err, txbuild.ErrNotPaidInFull) {
			t.Errorf("receiver: %v, want txbuild.ErrNotPaidInFull", err)
		}
		r.wallet.signedNothing(t, "receiver")
		noReceiver(t, r.URI())
		e.noLoss(t, snaps)
	})

	t.Run("thief pays honestly", func(t *testing.T) {
		e.noLeaks(t)
		legitSnap := []snapshot{e.snapshot("legitimate sender", sendW)}
		recvSnap := e.snapshot("receiver", recvW)
		before := recvSnap.total
		r := e.honestReceiver(t, recvW, e.relayURL)
		thief := e.honestSender(t, thiefW, r.URI(), kpp.SenderConfig{})
		<-thief.done
		if thief.err != nil {
			t.Fatal(thief.err)
		}
		sres, err := thief.p.SignAndFinalize(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.outcome(t)
		if err != nil {
			t.Fatal(err)
		}
		if res.Received != testPayment || res.TransactionID != sres.TransactionID {
			t.Errorf("receiver result %+v, thief's %s", res, sres.TransactionID)
		}
		paysInFull(t, res.Transaction, honestOffer(t, recvW, r, res.Transaction, recvSnap.utxos), testPayment, res.TransactionID)
		noReceiver(t, r.URI())
		if err := e.dev.MineBlocks(e.ctx, e.miner.String(), 2); err != nil {
			t.Fatal(err)
		}
		if got := e.settle(recvW)[0] - before; got != testPayment {
			t.Errorf("the receiver gained %d sompi, want P = %d", got, testPayment)
		} else {
			t.Logf("the thief could only pay: the receiver gained exactly P = %s", amount.Sompi(testPayment))
		}
		e.noLoss(t, legitSnap) // the payjoin is mined: the mempool is empty again
	})
}

// honestOffer rebuilds the offer an honest receiver made from its wallet:
// the UTXO the payjoin spends and the two receive addresses ReceiverInitiate
// reserved last.
func honestOffer(t *testing.T, w *wallet.Wallet, r *honestReceiver, tx *txbuild.Transaction, us []txbuild.UTXO) kpp.ReceiverOffer {
	t.Helper()
	acct, err := w.Account()
	if err != nil {
		t.Fatal(err)
	}
	next := w.NextReceiveIndex()
	k1, err1 := acct.Receive(next - 2)
	k2, err2 := acct.Receive(next - 1)
	if err1 != nil || err2 != nil || !k1.Address.Equal(r.PaymentRequest().Address) {
		t.Fatalf("the receiver's last two addresses are not its offer's (%v, %v)", err1, err2)
	}
	k1.Zero()
	k2.Zero()
	o := kpp.ReceiverOffer{Address1: k1.Address, Address2: k2.Address, Amount: testPayment}
	for _, in := range tx.Inputs {
		for _, u := range us {
			if u.Outpoint == in.PreviousOutpoint {
				o.UTXO = u
				return o
			}
		}
	}
	t.Fatal("the payjoin spends no UTXO of the receiver")
	return o
}

// Malformed and oversized messages at every step, in both directions.

// expect is what an honest wallet's error must match.
type expect struct {
	desc string
	ok   func(error) bool
}

func is(target error) expect {
	return expect{target.Error(), func(err error) bool { return errors.Is(err, target) }}
}

func isRelayError(code string) expect {
	return expect{"*kpp.RelayError " + code, func(err error) bool {
		var re *kpp.RelayError
		return errors.As(err, &re) && re.Code == code
	}}
}

var isPeerError = expect{"*kpp.PeerError", func(err error) bool {
	var pe *kpp.PeerError
	return errors.As(err, &pe)
}}

// attack holds what an attacker knows when it sends its bad frame.
type attack struct {
	key   kpp.Key
	offer kpp.ReceiverOffer
	sd    kpp.SenderData
	pj    *txbuild.Payjoin           // the evil sender's honest proposal
	msg   kpp.TransactionMessage     // the honest sender's proposal, to an evil receiver
	tx    *txbuild.Transaction       // the proposal the bad frame is about
	sig   func(*txbuild.Transaction) // signs the evil receiver's input
}

// badCase is one bad frame and the refusal it must meet.
type badCase struct {
	name  string
	frame func(a *attack) frame
	want  expect
}

// jsonEdit returns the JSON object b with fields set (a nil value deletes
// the field).
func jsonEdit(b []byte, set map[string]any) []byte {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		panic(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return out
}

func sealedJSON(a *attack, b []byte) frame { return sealedFrame(a.key, b) }

// commonBad are the frames that every step must refuse the same way.
func commonBad() []badCase {
	return []badCase{
		{"garbage text", func(a *attack) frame { return textFrame(`{"this is": not an envelope`) }, is(kpp.ErrEnvelope)},
		{"binary frame", func(a *attack) frame { return binaryFrame() }, is(kpp.ErrEnvelope)},
		{"empty frame", func(a *attack) frame { return textFrame("") }, is(kpp.ErrEnvelope)},
		{"sealed non-JSON", func(a *attack) frame { return sealedFrame(a.key, []byte("\x00\xffnot json")) }, is(kpp.ErrUnexpectedMessage)},
		{"sealed JSON array", func(a *attack) frame { return sealedFrame(a.key, []byte(`[1,2,3]`)) }, is(kpp.ErrUnexpectedMessage)},
		{"sealed null", func(a *attack) frame { return sealedFrame(a.key, []byte(`null`)) }, is(kpp.ErrUnexpectedMessage)},
	}
}

// TestMalformedMessages: garbage, wrong, missing and extra fields, sealed
// non-JSON, binary and oversized frames at every step of both parties end
// in typed errors, no panic, no goroutine or connection left behind, and no
// loss. An oversized frame (over the relay's 64 KiB) closes the attacker
// with 1009; its peer sees the session end.
func TestMalformedMessages(t *testing.T) {
	e, ws := newFundedEnv(t, "receiver", "sender", "attacker")
	recvW, sendW, evilW := ws[0], ws[1], ws[2]
	snaps := []snapshot{e.snapshot("receiver", recvW), e.snapshot("sender", sendW)}
	oversized := badCase{"oversized frame", func(a *attack) frame { return oversizedFrame() }, is(kpp.ErrRelay)}

	// To an honest receiver, from a sender that pairs and then sends the
	// bad frame as its step-th message: 0 sender data, 1 proposal, 2 the
	// broadcast result.
	toReceiver := func(step int, cases []badCase) func(t *testing.T) {
		return func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e.noLeaks(t)
					r := e.honestReceiver(t, recvW, e.relayURL)
					s := e.evilSender(t, r.URI(), evilW)
					sd, pj := s.build()
					a := &attack{key: r.PaymentRequest().Key, offer: s.offer, sd: sd, pj: pj, tx: pj.Tx}
					var signed *txbuild.Transaction
					switch step {
					case 1:
						s.sendSealed(sd.Marshal())
					case 2:
						s.propose(sd, pj.Tx, pj.ReceiverInput, pj.SenderInput)
						signed = s.receiverSignature()
					}
					s.send(tc.frame(a))
					if tc.name == oversized.name {
						if st := s.closedWith(); st != websocket.StatusMessageTooBig {
							t.Errorf("the relay closed the attacker with %d, want 1009", st)
						}
					}
					err := r.refused(t)
					if !tc.want.ok(err) {
						t.Errorf("receiver: %v, want %s", err, tc.want.desc)
					}
					if step < 2 {
						r.wallet.signedNothing(t, "receiver")
						e.noLoss(t, snaps)
						return
					}
					var se *kpp.SignedError
					if !errors.As(err, &se) {
						t.Fatalf("receiver: %v, want a *kpp.SignedError", err)
					}
					paysInFull(t, signed, s.offer, testPayment, se.TransactionID)
					e.noLoss(t, snaps, se.TransactionID)
				})
			}
		}
	}

	// To an honest sender, from a receiver that offers and then sends the
	// bad frame as its step-th message: 0 the offer, 1 receiver_signature.
	toSender := func(step int, cases []badCase) func(t *testing.T) {
		return func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e.noLeaks(t)
					var a attack
					r := e.evilReceiver(t, evilW, func(k kpp.Key, o kpp.ReceiverOffer) frame {
						a.key, a.offer = k, o
						if step == 0 {
							return tc.frame(&a)
						}
						return sealedFrame(k, o.Marshal())
					})
					if tc.name == oversized.name && step == 0 {
						// The relay refuses the offer: there is no
						// session to find.
						if st := r.closedWith(); st != websocket.StatusMessageTooBig {
							t.Errorf("the relay closed the attacker with %d, want 1009", st)
						}
					} else {
						e.waitPending(t, 1)
					}
					s := e.honestSender(t, sendW, r.uri, kpp.SenderConfig{})
					if step == 1 {
						sd, msg := r.proposal()
						a.sd, a.msg, a.tx = sd, msg, msg.Tx
						a.sig = func(tx *txbuild.Transaction) { r.sign(tx, sd, msg, txbuild.SigHashAll) }
						r.send(tc.frame(&a))
						if tc.name == oversized.name {
							if st := r.closedWith(); st != websocket.StatusMessageTooBig {
								t.Errorf("the relay closed the attacker with %d, want 1009", st)
							}
						}
					}
					err := s.refused(t)
					if !tc.want.ok(err) {
						t.Errorf("sender: %v, want %s", err, tc.want.desc)
					}
					s.wallet.signedNothing(t, "sender")
					e.noLoss(t, snaps)
				})
			}
		}
	}

	senderData := append(commonBad(),
		badCase{"missing amount", func(a *attack) frame { return sealedJSON(a, jsonEdit(a.sd.Marshal(), map[string]any{"amount": nil})) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"extra field", func(a *attack) frame { return sealedJSON(a, jsonEdit(a.sd.Marshal(), map[string]any{"memo": "hi"})) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"amount not a number", func(a *attack) frame { return sealedJSON(a, jsonEdit(a.sd.Marshal(), map[string]any{"amount": "ten"})) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"negative amount", func(a *attack) frame { return sealedJSON(a, jsonEdit(a.sd.Marshal(), map[string]any{"amount": -10})) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"utxo not an object", func(a *attack) frame { return sealedJSON(a, jsonEdit(a.sd.Marshal(), map[string]any{"utxo": "x"})) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"change_address not an address", func(a *attack) frame {
			return sealedJSON(a, jsonEdit(a.sd.Marshal(), map[string]any{"change_address": "kaspadev:nope"}))
		}, is(kpp.ErrUnexpectedMessage)},
		badCase{"pays another amount", func(a *attack) frame { return sealedJSON(a, jsonEdit(a.sd.Marshal(), map[string]any{"amount": 9})) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"a UTXO the node does not hold", func(a *attack) frame {
			sd := a.sd
			sd.UTXO.Outpoint.Index += 1000
			return sealedJSON(a, sd.Marshal())
		}, is(node.ErrUTXONotFound)},
		badCase{"the proposal first", func(a *attack) frame {
			return sealedJSON(a, kpp.TransactionMessage{Tx: a.tx, YourInputIndex: a.pj.ReceiverInput, SenderInputIndex: a.pj.SenderInput}.Marshal())
		}, is(kpp.ErrUnexpectedMessage)},
		oversized,
	)

	proposal := func(a *attack, set map[string]any) frame {
		b := kpp.TransactionMessage{Tx: a.tx, YourInputIndex: a.pj.ReceiverInput, SenderInputIndex: a.pj.SenderInput}.Marshal()
		return sealedJSON(a, jsonEdit(b, set))
	}
	proposals := append(commonBad(),
		badCase{"missing sender_input_index", func(a *attack) frame { return proposal(a, map[string]any{"sender_input_index": nil}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"extra field", func(a *attack) frame { return proposal(a, map[string]any{"fee": 1}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"your_input_index 7", func(a *attack) frame { return proposal(a, map[string]any{"your_input_index": 7}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"your_input_index 7, sender_input_index -6", func(a *attack) frame {
			return proposal(a, map[string]any{"your_input_index": 7, "sender_input_index": -6})
		}, is(txbuild.ErrNotAgreedShape)},
		badCase{"index 1e30", func(a *attack) frame { return proposal(a, map[string]any{"your_input_index": 1e30}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"index as a string", func(a *attack) frame { return proposal(a, map[string]any{"your_input_index": "0"}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"tx null", func(a *attack) frame { return proposal(a, map[string]any{"tx": json.RawMessage("null")}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"tx with an unknown field", func(a *attack) frame {
			b, _ := json.Marshal(a.tx)
			return proposal(a, map[string]any{"tx": json.RawMessage(jsonEdit(b, map[string]any{"evil": true}))})
		}, is(kpp.ErrUnexpectedMessage)},
		badCase{"transaction with 3 inputs", func(a *attack) frame {
			tx := a.tx.Clone()
			tx.Inputs = append(tx.Inputs, txbuild.Input{PreviousOutpoint: txbuild.Outpoint{TransactionID: a.sd.UTXO.Outpoint.TransactionID, Index: 77}, SigOpCount: 1})
			return proposal(a, map[string]any{"tx": tx})
		}, is(txbuild.ErrNotAgreedShape)},
		badCase{"transaction with 1 input", func(a *attack) frame {
			tx := a.tx.Clone()
			tx.Inputs = tx.Inputs[a.pj.ReceiverInput : a.pj.ReceiverInput+1]
			return proposal(a, map[string]any{"tx": tx, "your_input_index": 0, "sender_input_index": 1})
		}, is(txbuild.ErrNotAgreedShape)},
		badCase{"type receiver_signature", func(a *attack) frame {
			b, _ := json.Marshal(map[string]any{"type": kpp.MsgReceiverSignature, "tx": a.tx})
			return sealedJSON(a, b)
		}, is(kpp.ErrUnexpectedMessage)},
		badCase{"the sender data again", func(a *attack) frame { return sealedJSON(a, a.sd.Marshal()) }, is(kpp.ErrUnexpectedMessage)},
		oversized,
	)

	result := func(set map[string]any) func(a *attack) frame {
		return func(a *attack) frame {
			b, _ := json.Marshal(map[string]any{"type": kpp.MsgBroadcastSuccess, "transaction_id": a.tx.ID().String()})
			return sealedJSON(a, jsonEdit(b, set))
		}
	}
	results := append(commonBad(),
		badCase{"missing transaction_id", result(map[string]any{"transaction_id": nil}), is(kpp.ErrUnexpectedMessage)},
		badCase{"transaction_id not hex", result(map[string]any{"transaction_id": "zz"}), is(kpp.ErrUnexpectedMessage)},
		badCase{"transaction_id a number", result(map[string]any{"transaction_id": 12}), is(kpp.ErrUnexpectedMessage)},
		badCase{"extra field", result(map[string]any{"block": "x"}), is(kpp.ErrUnexpectedMessage)},
		badCase{"type transaction", func(a *attack) frame {
			return sealedJSON(a, kpp.TransactionMessage{Tx: a.tx, YourInputIndex: a.pj.ReceiverInput, SenderInputIndex: a.pj.SenderInput}.Marshal())
		}, is(kpp.ErrUnexpectedMessage)},
		badCase{"broadcast_error", func(a *attack) frame {
			return sealedJSON(a, []byte(`{"type":"broadcast_error","error":"node said no"}`))
		}, isPeerError},
		oversized,
	)

	offer := func(a *attack, set map[string]any) frame { return sealedJSON(a, jsonEdit(a.offer.Marshal(), set)) }
	offers := append(commonBad(),
		badCase{"missing address_2", func(a *attack) frame { return offer(a, map[string]any{"address_2": nil}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"extra field", func(a *attack) frame { return offer(a, map[string]any{"address_3": a.offer.Address2.String()}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"amount not a number", func(a *attack) frame { return offer(a, map[string]any{"amount": "ten"}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"amount with 9 decimals", func(a *attack) frame { return offer(a, map[string]any{"amount": json.Number("10.000000001")}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"address_1 not an address", func(a *attack) frame { return offer(a, map[string]any{"address_1": "kaspa:nope"}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"utxo amount not a number", func(a *attack) frame {
			var u map[string]any
			_ = json.Unmarshal(a.offer.Marshal(), &u)
			utxo := u["utxo"].(map[string]any)
			utxo["utxoEntry"].(map[string]any)["amount"] = "abc"
			return offer(a, map[string]any{"utxo": utxo})
		}, is(kpp.ErrUnexpectedMessage)},
		badCase{"the same address twice", func(a *attack) frame { return offer(a, map[string]any{"address_2": a.offer.Address1.String()}) }, is(kpp.ErrOfferMismatch)},
		badCase{"amount 0", func(a *attack) frame { return offer(a, map[string]any{"amount": 0}) }, is(kpp.ErrOfferMismatch)},
		badCase{oversized.name, oversized.frame, isRelayError(kpp.ErrTextNoReceiver)},
	)

	signature := func(a *attack, tx *txbuild.Transaction, set map[string]any) frame {
		b, _ := json.Marshal(map[string]any{"type": kpp.MsgReceiverSignature, "tx": tx})
		return sealedJSON(a, jsonEdit(b, set))
	}
	signed := func(a *attack) *txbuild.Transaction {
		tx := a.tx.Clone()
		a.sig(tx)
		return tx
	}
	signatures := append(commonBad(),
		badCase{"missing tx", func(a *attack) frame { return signature(a, signed(a), map[string]any{"tx": nil}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"extra field", func(a *attack) frame { return signature(a, signed(a), map[string]any{"note": "x"}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"tx null", func(a *attack) frame { return signature(a, signed(a), map[string]any{"tx": json.RawMessage("null")}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"tx a string", func(a *attack) frame { return signature(a, signed(a), map[string]any{"tx": "deadbeef"}) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"transaction with 3 inputs", func(a *attack) frame {
			tx := signed(a)
			tx.Inputs = append(tx.Inputs, txbuild.Input{PreviousOutpoint: a.offer.UTXO.Outpoint, SigOpCount: 1})
			return signature(a, tx, nil)
		}, is(txbuild.ErrProposalChanged)},
		badCase{"the sender's input carries a script", func(a *attack) frame {
			tx := signed(a)
			tx.Inputs[a.msg.SenderInputIndex].SignatureScript = tx.Inputs[a.msg.YourInputIndex].SignatureScript
			return signature(a, tx, nil)
		}, is(txbuild.ErrProposalChanged)},
		badCase{"unsigned", func(a *attack) frame { return signature(a, a.tx, nil) }, is(txbuild.ErrBadSignatureScript)},
		badCase{"type transaction (the proposal reflected)", func(a *attack) frame { return sealedJSON(a, a.msg.Marshal()) }, is(kpp.ErrUnexpectedMessage)},
		badCase{"type broadcast_success", func(a *attack) frame {
			return sealedJSON(a, []byte(fmt.Sprintf(`{"type":"broadcast_success","transaction_id":"%s"}`, a.tx.ID())))
		}, is(kpp.ErrUnexpectedMessage)},
		oversized,
	)

	t.Run("to the receiver/sender data", toReceiver(0, senderData))
	t.Run("to the receiver/proposal", toReceiver(1, proposals))
	t.Run("to the receiver/broadcast result", toReceiver(2, results))
	t.Run("to the sender/offer", toSender(0, offers))
	t.Run("to the sender/receiver_signature", toSender(1, signatures))
}
