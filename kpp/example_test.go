package kpp_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/wallet"
)

// A payment request as the Python original's wallets show it (its QR
// code): the receiver's first address, the amount, the relay and the
// one-time E2EE key.
func ExampleParsePaymentRequest() {
	uri := "kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea?amount=10.5&payload=kpp" +
		"&ws_url=ws://1.2.3.4:8765/kpp&e2ee_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	req, err := kpp.ParsePaymentRequest(uri, address.Mainnet)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Amount, "to", req.Address)
	fmt.Println("relay", req.RelayURL)
	fmt.Println("session", req.Key.SessionID()[:16]+"…")
	// Output:
	// 10.5 KAS to kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea
	// relay ws://1.2.3.4:8765/kpp
	// session 630dcd2966c43366…
}

// A receiver asks for 10.5 KAS: it shows the URI at once, then waits for
// a sender; Wait returns once the payjoin is on its own node.
func ExampleReceiverInitiate() {
	ctx := context.Background()
	client, err := node.Dial(ctx, "127.0.0.1:16110", node.Options{}) // your node, with --utxoindex
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	w, err := wallet.Open("alice.kloak", []byte("password"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()

	r, err := kpp.ReceiverInitiate(ctx, kpp.ReceiverConfig{
		Network: address.Mainnet, RelayURL: "wss://relay.example.org/kpp", Amount: 1_050_000_000,
		Wallet: w.Funds(client, wallet.FundsOptions{}), Chain: client,
	})
	if err != nil {
		fmt.Println(err) // a *kpp.BusyError if the relay is full: try another
		return
	}
	defer r.Close()
	fmt.Println("show as a QR code:", r.URI())
	res, err := r.Wait(ctx)
	var signed *kpp.SignedError
	switch {
	case errors.As(err, &signed):
		fmt.Println("signed but not completed; spend", signed.Contributed, "to cancel")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println("received", res.Received, "in", res.TransactionID)
	}
}

// A sender pays a request: SenderPrepare pairs, checks the receiver's coin
// on the sender's node and builds the payjoin; the wallet shows the fees
// before it signs its own input.
func ExampleSenderPrepare() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	client, err := node.Dial(ctx, "127.0.0.1:16110", node.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	w, err := wallet.Open("bob.kloak", []byte("password"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()

	uri := "kaspa:qq…?amount=10.5&payload=kpp&ws_url=wss://relay.example.org/kpp&e2ee_key=…" // scanned
	p, err := kpp.SenderPrepare(ctx, uri, kpp.SenderConfig{
		Network: address.Mainnet, Wallet: w.Funds(client, wallet.FundsOptions{}), Chain: client,
	})
	var busy *kpp.BusyError
	switch {
	case errors.As(err, &busy):
		fmt.Println("relay busy; try again in", busy.RetryAfter)
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	fmt.Println("pay", p.Payment(), "+ node fee", p.NodeFee(), "+ network fee", p.NetworkFee())
	paid, err := p.SignAndFinalize(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("paid", paid.Debit, "in", paid.TransactionID)
}
