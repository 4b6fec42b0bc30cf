package kpp

import (
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// realProposal returns the plaintext of a proposal message carrying a
// real-size 2-input, 4-output transaction.
func realProposal(b *testing.B) []byte {
	spk := func(seed byte) address.ScriptPublicKey {
		a, _ := address.New(address.Mainnet, address.PubKey, []byte(strings.Repeat(string(rune('a'+seed)), 32)))
		return a.ScriptPublicKey()
	}
	tx := &txbuild.Transaction{}
	for i := range 2 {
		tx.Inputs = append(tx.Inputs, txbuild.Input{PreviousOutpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{byte(i + 1)}}, SigOpCount: 1})
	}
	for i := range 4 {
		tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: amount.Sompi(1_234_567_890 + i), ScriptPublicKey: spk(byte(i))})
	}
	return TransactionMessage{Tx: tx, YourInputIndex: 1, SenderInputIndex: 0}.Marshal()
}

func BenchmarkSealProposal(b *testing.B) {
	pt := realProposal(b)
	key := Key{1}
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(key, pt, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenProposal(b *testing.B) {
	pt := realProposal(b)
	key := Key{1}
	wire, _ := Seal(key, pt, nil)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := Open(key, wire)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeTransactionMessage(got); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePaymentRequest(b *testing.B) {
	const uri = "kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea?amount=10.5&payload=kpp&ws_url=ws://1.2.3.4:8765/kpp&e2ee_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePaymentRequest(uri, address.Mainnet); err != nil {
			b.Fatal(err)
		}
	}
}
