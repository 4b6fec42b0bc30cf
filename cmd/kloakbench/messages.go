//go:build linux

package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/txbuild"
)

// plaintexts are the E2EE plaintexts of one KPP payjoin, built with the
// kpp and txbuild types a real wallet uses, so that every sealed message
// has its real size. They are built once; each session seals them under
// its own key.
type plaintexts struct {
	offer      []byte // the receiver's blob: kpp.ReceiverOffer
	senderData []byte // kpp.SenderData
	proposal   []byte // kpp.TransactionMessage: a 2-input, 4-output payjoin
	signature  []byte // {"type":"receiver_signature","tx":..}: the proposal signed by the receiver
	success    []byte // {"type":"broadcast_success","transaction_id":..}
}

// benchFeeAddress is the fixed devnet fee address the bench relay hands
// every sender.
var benchFeeAddress = devnetAddress(0xfe)

func devnetAddress(tag byte) address.Address {
	payload := bytes.Repeat([]byte{tag}, 32)
	payload[0] = 0x02
	a, err := address.New(address.Devnet, address.PubKey, payload)
	if err != nil {
		panic(err)
	}
	return a
}

func benchUTXO(tag byte, amt amount.Sompi) txbuild.UTXO {
	a := devnetAddress(tag)
	var id txbuild.Hash
	if _, err := rand.Read(id[:]); err != nil {
		panic(err)
	}
	return txbuild.UTXO{
		Address:  a,
		Outpoint: txbuild.Outpoint{TransactionID: id, Index: uint32(tag) % 4},
		Entry:    txbuild.UTXOEntry{Amount: amt, ScriptPublicKey: a.ScriptPublicKey(), BlockDAAScore: 104_857_600 + uint64(tag)},
	}
}

// newPlaintexts builds the messages of a payment of 12.5 KAS from a
// 100 KAS sender UTXO, with a 37 KAS receiver UTXO, on devnet.
func newPlaintexts() (*plaintexts, error) {
	const payment = 1_250_000_000
	receiverUTXO := benchUTXO(0x11, 3_700_000_000)
	senderUTXO := benchUTXO(0x22, 10_000_000_000)
	offer := kpp.ReceiverOffer{UTXO: receiverUTXO, Address1: devnetAddress(0x31), Address2: devnetAddress(0x32), Amount: payment}
	data := kpp.SenderData{UTXO: senderUTXO, ChangeAddress: devnetAddress(0x41), Amount: payment}
	fee, err := kpp.DefaultFeePolicy.Fee(payment)
	if err != nil {
		return nil, err
	}
	pj, err := txbuild.Build2In4Out(txbuild.PayjoinParams{
		Sender:            senderUTXO,
		SenderChange:      data.ChangeAddress,
		Receiver:          receiverUTXO,
		ReceiverAddresses: [2]address.Address{offer.Address1, offer.Address2},
		Payment:           payment,
		NodeFee:           fee,
		NodeFeeAddress:    benchFeeAddress,
		Policy:            txbuild.PolicyFor(address.Devnet),
		FeeRate:           txbuild.SompiPerGram(1),
	})
	if err != nil {
		return nil, fmt.Errorf("building the bench payjoin: %w", err)
	}
	proposal := kpp.TransactionMessage{Tx: pj.Tx, YourInputIndex: pj.ReceiverInput, SenderInputIndex: pj.SenderInput}
	// The receiver's signature script: OP_DATA_65, a 64-byte Schnorr
	// signature and SIGHASH_ALL, as txbuild.SignInput writes it. Its bytes
	// do not matter to the relay, only its size.
	signed := pj.Tx.Clone()
	script := make([]byte, 66)
	script[0] = 0x41
	if _, err := rand.Read(script[1:65]); err != nil {
		return nil, err
	}
	script[65] = byte(txbuild.SigHashAll)
	signed.Inputs[pj.ReceiverInput].SignatureScript = script
	signedJSON, err := json.Marshal(signed)
	if err != nil {
		return nil, err
	}
	return &plaintexts{
		offer:      offer.Marshal(),
		senderData: data.Marshal(),
		proposal:   proposal.Marshal(),
		signature:  marshalJSON(map[string]any{"type": kpp.MsgReceiverSignature, "tx": json.RawMessage(signedJSON)}),
		success:    marshalJSON(map[string]any{"type": kpp.MsgBroadcastSuccess, "transaction_id": signed.ID().String()}),
	}, nil
}

// marshalJSON encodes v as kpp does: no HTML escaping, no trailing newline.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// sealedSizes returns the wire size of each message, for the report.
func (p *plaintexts) sealedSizes() []int {
	var k kpp.Key
	binary.BigEndian.PutUint64(k[:], 1)
	var sizes []int
	for _, m := range [][]byte{p.offer, p.senderData, p.proposal, p.signature, p.success} {
		w, err := kpp.Seal(k, m, nil)
		if err != nil {
			panic(err)
		}
		sizes = append(sizes, len(w))
	}
	return sizes
}
