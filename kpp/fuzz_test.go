package kpp

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// Fuzz targets for every parser of kpp that meets bytes from outside: the
// relay's view (handshake), the wire (envelopes), the peer's sealed
// messages, the relay's dust_address message, and the payment request a
// QR code carries. Each must never panic, must bound what it allocates by
// a size cap checked first (or by the caller's read limit, named below),
// and must give back what it accepted when its encoder exists. Their seed
// corpora are in testdata/fuzz/FuzzX; `go test` runs only those.

// fuzzKey seals the envelopes of FuzzOpen's corpus: bytes 00..1f, the key
// of TestEnvelopeVector.
func fuzzKey() Key {
	var k Key
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

// fuzzOffer is a well-formed mainnet offer; the fuzz targets' code seeds
// derive from it.
func fuzzOffer(tb testing.TB) ReceiverOffer {
	tb.Helper()
	a1, err1 := address.Decode("kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", address.Mainnet)
	a2, err2 := address.Decode("kaspa:qzs92alq9nmnl3sqa4h9kthq8sq85jhf5jd03cq6aguy7hczdhekc9tq02vc7", address.Mainnet)
	if err1 != nil || err2 != nil {
		tb.Fatal(err1, err2)
	}
	id, _ := txbuild.ParseHash(strings.Repeat("11", 32))
	return ReceiverOffer{
		UTXO: txbuild.UTXO{Address: a1, Outpoint: txbuild.Outpoint{TransactionID: id, Index: 3},
			Entry: txbuild.UTXOEntry{Amount: 123_456_789, ScriptPublicKey: a1.ScriptPublicKey(), BlockDAAScore: 99}},
		Address1: a1, Address2: a2, Amount: 1_050_000_000,
	}
}

func fuzzTx(tb testing.TB) *txbuild.Transaction {
	tb.Helper()
	o := fuzzOffer(tb)
	id2, _ := txbuild.ParseHash(strings.Repeat("22", 32))
	return &txbuild.Transaction{
		Inputs: []txbuild.Input{
			{PreviousOutpoint: o.UTXO.Outpoint, SigOpCount: 1},
			{PreviousOutpoint: txbuild.Outpoint{TransactionID: id2, Index: 1}, SigOpCount: 1, SignatureScript: bytes.Repeat([]byte{0x41}, 66)},
		},
		Outputs: []txbuild.Output{
			{Amount: 600_000_000, ScriptPublicKey: o.Address1.ScriptPublicKey()},
			{Amount: 573_456_789, ScriptPublicKey: o.Address2.ScriptPublicKey()},
		},
	}
}

// checkPeerText is what every text a wallet takes from a peer or a relay
// and shows in an error must be: bounded, valid UTF-8, and free of control
// characters (a terminal escape in a peer's broadcast_error must not reach
// the user's terminal).
func checkPeerText(t *testing.T, what, s string, max int) {
	t.Helper()
	if len(s) > max {
		t.Errorf("%s is %d bytes, over %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8: %q", what, s)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		t.Errorf("%s holds a control character: %q", what, s)
	}
}

// FuzzParseHandshake: the relay's parser of a wallet's first message (the
// relay caps the message, 64 KiB by default). Any failure is a
// *RelayError; an accepted handshake has a valid role and a normalized
// session id, and its JSON parses to itself.
func FuzzParseHandshake(f *testing.F) {
	id := strings.Repeat("ab", 32)
	f.Add([]byte(`{"role":"receiver","session_id":"` + id + `"}`))
	f.Add([]byte(`{"role":"sender","session_id":"` + strings.ToUpper(id) + `"}`))
	f.Add([]byte(`{"session_id":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHandshake(b)
		if err != nil {
			var re *RelayError
			if !errors.As(err, &re) || re.Code == "" {
				t.Fatalf("error %v is not a *RelayError", err)
			}
			return
		}
		if h.Role != RoleReceiver && h.Role != RoleSender {
			t.Fatalf("role %q accepted", h.Role)
		}
		if n, err := NormalizeSessionID(h.SessionID); err != nil || n != h.SessionID {
			t.Fatalf("session id %q accepted, not normalized", h.SessionID)
		}
		enc, _ := json.Marshal(h)
		back, err := ParseHandshake(enc)
		if err != nil || back != h {
			t.Fatalf("%s parsed as %+v, its encoding as %+v, %v", b, h, back, err)
		}
	})
}

// FuzzOpen: Open of arbitrary wire text under a fixed key refuses
// anything over MaxEnvelope before decoding it, fails only with
// ErrEnvelope, and what opens seals and opens again to the same plaintext.
func FuzzOpen(f *testing.F) {
	k := fuzzKey()
	sealed, err := Seal(k, []byte(`{"type":"broadcast_success","transaction_id":"`+strings.Repeat("ab", 32)+`"}`), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add("")
	f.Fuzz(func(t *testing.T, wire string) {
		pt, err := Open(k, wire)
		if err != nil {
			if !errors.Is(err, ErrEnvelope) {
				t.Fatalf("error %v is not ErrEnvelope", err)
			}
			return
		}
		if len(wire) > MaxEnvelope {
			t.Fatalf("%d bytes opened, over MaxEnvelope", len(wire))
		}
		again, err := Seal(k, pt, nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Open(k, again)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("resealed %q opened as %q, %v", pt, back, err)
		}
	})
}

// FuzzDecodeReceiverOffer: the sender's parser of the receiver's blob
// (bounded by Open's MaxEnvelope). Failures wrap ErrUnexpectedMessage; an
// accepted offer marshals to JSON that decodes to the same offer.
func FuzzDecodeReceiverOffer(f *testing.F) {
	f.Add(fuzzOffer(f).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeReceiverOffer(b, address.Mainnet)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedMessage) {
				t.Fatalf("error %v does not wrap ErrUnexpectedMessage", err)
			}
			return
		}
		if o.UTXO.Entry.Amount == 0 || o.UTXO.Entry.Amount > amount.MaxSompi || o.Amount > amount.MaxSompi {
			t.Fatalf("amounts out of range accepted: %+v", o)
		}
		enc := o.Marshal()
		back, err := DecodeReceiverOffer(enc, address.Mainnet)
		if err != nil {
			t.Fatalf("%s accepted, its encoding %s refused: %v", b, enc, err)
		}
		if !reflect.DeepEqual(back, o) || !bytes.Equal(back.Marshal(), enc) {
			t.Fatalf("round trip changed %+v into %+v", o, back)
		}
	})
}

// FuzzDecodeSenderData: the receiver's parser of the sender's first
// message, as FuzzDecodeReceiverOffer.
func FuzzDecodeSenderData(f *testing.F) {
	o := fuzzOffer(f)
	f.Add(SenderData{UTXO: o.UTXO, ChangeAddress: o.Address2, Amount: o.Amount}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeSenderData(b, address.Mainnet)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedMessage) {
				t.Fatalf("error %v does not wrap ErrUnexpectedMessage", err)
			}
			return
		}
		enc := d.Marshal()
		back, err := DecodeSenderData(enc, address.Mainnet)
		if err != nil {
			t.Fatalf("%s accepted, its encoding %s refused: %v", b, enc, err)
		}
		if !reflect.DeepEqual(back, d) || !bytes.Equal(back.Marshal(), enc) {
			t.Fatalf("round trip changed %+v into %+v", d, back)
		}
	})
}

// sameTx reports whether two transactions are the same, field for field
// as their JSON shows them.
func sameTx(a, b *txbuild.Transaction) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb) && a.ID() == b.ID() && a.Hash() == b.Hash()
}

// checkTypedError: a typed message that is not the one expected is
// ErrUnexpectedMessage or the peer's *PeerError, whose text is bounded and
// printable.
func checkTypedError(t *testing.T, err error) {
	t.Helper()
	var pe *PeerError
	if errors.As(err, &pe) {
		checkPeerText(t, "the peer's error", pe.Message, maxPeerText)
		return
	}
	if !errors.Is(err, ErrUnexpectedMessage) {
		t.Fatalf("error %v is neither ErrUnexpectedMessage nor a *PeerError", err)
	}
}

// FuzzDecodeTransactionMessage: the receiver's parser of the proposal.
func FuzzDecodeTransactionMessage(f *testing.F) {
	f.Add(TransactionMessage{Tx: fuzzTx(f), YourInputIndex: 0, SenderInputIndex: 1}.Marshal())
	f.Add([]byte(`{"type":"broadcast_error","error":"no"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeTransactionMessage(b)
		if err != nil {
			checkTypedError(t, err)
			return
		}
		if m.Tx == nil {
			t.Fatal("accepted without a transaction")
		}
		back, err := DecodeTransactionMessage(m.Marshal())
		if err != nil {
			t.Fatalf("%s accepted, its encoding refused: %v", b, err)
		}
		if !sameTx(back.Tx, m.Tx) || back.YourInputIndex != m.YourInputIndex || back.SenderInputIndex != m.SenderInputIndex {
			t.Fatalf("round trip changed %+v into %+v", m, back)
		}
	})
}

// FuzzDecodeReceiverSignature: the sender's parser of the receiver's
// signed transaction.
func FuzzDecodeReceiverSignature(f *testing.F) {
	f.Add(receiverSignatureMessage(fuzzTx(f)))
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := decodeReceiverSignature(b)
		if err != nil {
			checkTypedError(t, err)
			return
		}
		back, err := decodeReceiverSignature(receiverSignatureMessage(tx))
		if err != nil || !sameTx(back, tx) {
			t.Fatalf("%s: round trip gave %v, %v", b, back, err)
		}
	})
}

// FuzzDecodeBroadcastResult: the receiver's parser of the sender's last
// message, broadcast_success or broadcast_error.
func FuzzDecodeBroadcastResult(f *testing.F) {
	id, _ := txbuild.ParseHash(strings.Repeat("ab", 32))
	f.Add(broadcastSuccessMessage(id))
	f.Add(broadcastErrorMessage("broadcast failed: node said no"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeBroadcastSuccess(b)
		if err != nil {
			checkTypedError(t, err)
			var pe *PeerError
			if errors.As(err, &pe) {
				// What we took from the peer, sent on, reads the same.
				_, err := decodeBroadcastSuccess(broadcastErrorMessage(pe.Message))
				var again *PeerError
				if !errors.As(err, &again) || again.Message != pe.Message {
					t.Fatalf("peer error %q re-decoded as %v", pe.Message, err)
				}
			}
			return
		}
		back, err := decodeBroadcastSuccess(broadcastSuccessMessage(got))
		if err != nil || back != got {
			t.Fatalf("%s: round trip gave %s, %v", b, back, err)
		}
	})
}

// FuzzDecodeFeeAddress: the sender's parser of the relay's plaintext
// dust_address message (bounded by the wallet's read limit, maxFrame).
// What it accepts marshals to a message it accepts again with the same
// address and policy.
func FuzzDecodeFeeAddress(f *testing.F) {
	f.Add(NewFeeAddress("kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", DefaultFeePolicy).Marshal())
	f.Add([]byte(`{"type": "dust_address", "address": "kaspa:x"}`))
	f.Add([]byte(`{"error":"Node busy","message":"\u001b[2Jtry again"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The same frame may be a relay's error notice instead.
		if re := asRelayError(b); re != nil {
			checkPeerText(t, "the relay's error code", re.Code, maxPeerText)
			checkPeerText(t, "the relay's error message", re.Message, maxPeerText)
		}
		fa, err := decodeFeeAddress(b)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedMessage) {
				t.Fatalf("error %v does not wrap ErrUnexpectedMessage", err)
			}
			return
		}
		if fa.Type != MsgFeeAddress || fa.Address == "" {
			t.Fatalf("accepted %+v", fa)
		}
		back, err := decodeFeeAddress(fa.Marshal())
		if err != nil || back.Address != fa.Address || back.Policy() != fa.Policy() ||
			(back.FeeMin == nil) != (fa.FeeMin == nil) || (back.FeeUnit == nil) != (fa.FeeUnit == nil) {
			t.Fatalf("%s: round trip gave %+v, %v", b, back, err)
		}
		// The policy's arithmetic never panics, whatever the relay asks.
		_, _ = fa.Policy().Fee(amount.MaxSompi)
		_, _ = fa.Policy().Fee(1)
	})
}

// FuzzParsePaymentRequest: the parser of what a QR code holds, for
// mainnet and devnet. Failures wrap ErrPaymentRequest; an accepted
// request has a nonzero amount and a ws(s) relay URL, and (kaspa: URI
// form) its URI parses to the same request.
func FuzzParsePaymentRequest(f *testing.F) {
	f.Add("kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea?amount=10.5&payload=kpp&ws_url=ws://1.2.3.4:8765/kpp&e2ee_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	f.Add(`{"protocol":"kpp","ws_url":"ws://h:8765","e2ee_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","amount":1e-05}`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, net := range []address.Network{address.Mainnet, address.Devnet} {
			r, err := ParsePaymentRequest(s, net)
			if err != nil {
				if !errors.Is(err, ErrPaymentRequest) {
					t.Fatalf("error %v does not wrap ErrPaymentRequest", err)
				}
				continue
			}
			if n := len(strings.TrimSpace(s)); n > MaxPaymentRequest {
				t.Fatalf("%d bytes accepted, over MaxPaymentRequest", n)
			}
			if r.Amount == 0 || r.Amount > amount.MaxSompi {
				t.Fatalf("amount %d accepted", r.Amount)
			}
			if err := checkRelayURL(r.RelayURL); err != nil {
				t.Fatalf("relay URL %q accepted: %v", r.RelayURL, err)
			}
			if r.Format != FormatURI {
				continue // the legacy JSON form has no encoder
			}
			if r.Address.Network() != net {
				t.Fatalf("address %s accepted for %v", r.Address, net)
			}
			uri := r.URI()
			if len(uri) > MaxPaymentRequest {
				continue // percent-encoding grew it past the cap
			}
			back, err := ParsePaymentRequest(uri, net)
			if err != nil {
				t.Fatalf("%q accepted, its URI %q refused: %v", s, uri, err)
			}
			if !back.Address.Equal(r.Address) || back.Amount != r.Amount || back.Payload != r.Payload || back.RelayURL != r.RelayURL || back.Key != r.Key {
				t.Fatalf("round trip changed %+v into %+v", r, back)
			}
		}
	})
}
