// Command sender is the smallest complete KPP sender a wallet developer can
// copy: it opens a wallet file, pays a payment request by payjoin, and
// prints the transaction id.
//
//	KLOAK_WALLET_PASSWORD=… go run ./examples/sender -wallet me.kloak -kaspad 127.0.0.1:16110 'kaspa:…?amount=…'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/wallet"
)

func main() {
	walletFile := flag.String("wallet", "", "wallet file (password in $KLOAK_WALLET_PASSWORD)")
	kaspad := flag.String("kaspad", "127.0.0.1:16110", "your Kaspa node, started with --utxoindex")
	maturity := flag.Uint64("coinbase-maturity", 1000, "DAA scores before mined coins are spendable")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: sender -wallet FILE [-kaspad ADDR] URI")
		os.Exit(2)
	}
	if err := pay(*walletFile, *kaspad, flag.Arg(0), *maturity); err != nil {
		fmt.Fprintln(os.Stderr, "sender:", err)
		os.Exit(1)
	}
}

func pay(walletFile, kaspad, uri string, maturity uint64) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
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

	p, err := kpp.SenderPrepare(ctx, uri, kpp.SenderConfig{
		Network: w.Network(),
		Wallet:  w.Funds(client, wallet.FundsOptions{CoinbaseMaturity: maturity}), // picks a coin, a change address, signs
		Chain:   client,                                                           // checks the receiver's coin, fee rate, broadcast
	})
	if err != nil {
		return err // e.g. kpp.ErrOfferMismatch, txbuild.ErrProposalChanged: nothing was signed
	}
	fmt.Fprintf(os.Stderr, "paying %s + node fee %s + network fee %s\n", p.Payment(), p.NodeFee(), p.NetworkFee())
	res, err := p.SignAndFinalize(ctx) // or sign p.Transaction() yourself and call p.Finalize
	if err != nil {
		return err
	}
	fmt.Println(res.TransactionID)
	return nil
}
