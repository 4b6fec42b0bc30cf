// Command receiver is the smallest complete KPP receiver a wallet developer
// can copy: it opens a wallet file, asks for a payment through a relay,
// prints the payment request, and waits until its own Kaspa node shows the
// payjoin.
//
//	KLOAK_WALLET_PASSWORD=… go run ./examples/receiver -wallet me.kloak -kaspad 127.0.0.1:16110 \
//		-relay wss://relay.example/kpp -amount 10.5
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/wallet"
)

func main() {
	walletFile := flag.String("wallet", "", "wallet file (password in $KLOAK_WALLET_PASSWORD)")
	kaspad := flag.String("kaspad", "127.0.0.1:16110", "your Kaspa node, started with --utxoindex")
	relayURL := flag.String("relay", "", "relay URL, e.g. wss://relay.example/kpp")
	amt := flag.String("amount", "", "amount in KAS")
	maturity := flag.Uint64("coinbase-maturity", 1000, "DAA scores before mined coins are spendable")
	flag.Parse()
	if err := receive(*walletFile, *kaspad, *relayURL, *amt, *maturity); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

func receive(walletFile, kaspad, relayURL, amt string, maturity uint64) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p, err := amount.ParseKAS(amt)
	if err != nil {
		return err
	}
	w, err := wallet.Open(walletFile, []byte(os.Getenv("KLOAK_WALLET_PASSWORD")))
	if err != nil {
		return err
	}
	defer w.Close()
	client, err := node.Dial(ctx, kaspad, node.Options{})
	if err != nil {
		return err
	}
	defer client.Close()

	r, err := kpp.ReceiverInitiate(ctx, kpp.ReceiverConfig{
		Network:  w.Network(),
		RelayURL: relayURL,
		Amount:   p,
		Wallet:   w.Funds(client, wallet.FundsOptions{CoinbaseMaturity: maturity}), // contributes a coin, gives fresh addresses, signs
		Chain:    client,                                                           // looks up the sender's coin, watches for the broadcast
		OnEvent:  func(e kpp.Event) { fmt.Fprintln(os.Stderr, "…", e.Step) },
	})
	if err != nil {
		return err
	}
	fmt.Println(r.URI()) // show it as a QR code
	res, err := r.Wait(ctx)
	if err != nil {
		return err // a typed error: errors.Is(err, txbuild.ErrNotPaidInFull), *kpp.SignedError, …
	}
	fmt.Fprintf(os.Stderr, "received %s in %s\n", res.Received, res.TransactionID)
	return nil
}
