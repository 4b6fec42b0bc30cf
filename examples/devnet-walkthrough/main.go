// Command devnet-walkthrough shows a whole KPP payjoin on a private Kaspa
// devnet: it builds and starts a real kaspad (Go kaspad v0.12.23 with
// Crescendo's payload rule, see internal/devnet), starts a kloak relay on a
// loopback port, creates three wallet files (receiver, sender, relay node),
// funds the two wallets by mining, runs the payjoin step by step, mines it,
// and prints the transaction id and every balance change.
//
//	go run ./examples/devnet-walkthrough
//
// The first run builds kaspad from the Go module proxy (about a minute);
// later runs start in a second. Everything lives in a temporary directory
// and is removed at the end.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/wallet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devnet-walkthrough:", err)
		os.Exit(1)
	}
}

type party struct {
	name  string
	w     *wallet.Wallet
	funds *wallet.Funds
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	dir, err := os.MkdirTemp("", "kloak-walkthrough-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	step("Starting a private Kaspa devnet (kaspad v0.12.23 on 127.0.0.1; the first run builds it, about a minute)")
	dev, err := devnet.StartNode(ctx, devnet.Options{Dir: filepath.Join(dir, "kaspad")})
	if err != nil {
		return err
	}
	defer dev.Close()
	client, err := node.Dial(ctx, dev.RPCAddress(), node.Options{})
	if err != nil {
		return err
	}
	defer client.Close()
	info, err := client.ServerInfo(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("   kaspad %s on %s, network %s, utxoindex %v\n", info.Version, dev.RPCAddress(), info.Network, info.UTXOIndex)

	newParty := func(name string) (*party, error) {
		m, err := wallet.NewMnemonic(12)
		if err != nil {
			return nil, err
		}
		w, err := wallet.Create(filepath.Join(dir, name+".kloak"), []byte("walkthrough"), m,
			wallet.CreateOptions{Network: address.Devnet, Scrypt: wallet.ScryptParams{LogN: 12, R: 8, P: 1}})
		if err != nil {
			return nil, err
		}
		return &party{name, w, w.Funds(client, wallet.FundsOptions{CoinbaseMaturity: dev.SpendMaturity()})}, nil
	}
	step("Creating three wallet files: receiver, sender, relay node")
	recv, err := newParty("receiver")
	if err != nil {
		return err
	}
	send, err := newParty("sender")
	if err != nil {
		return err
	}
	relayW, err := newParty("relay-node")
	if err != nil {
		return err
	}
	miner, err := newParty("miner")
	if err != nil {
		return err
	}
	for _, p := range []*party{recv, send, relayW, miner} {
		defer p.w.Close()
	}

	step("Starting a kloak relay on a loopback port")
	srv, err := relay.New(relay.Config{FeeAddresses: relay.NewWalletFeeAddresses(relayW.w, 16)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		srv.Shutdown(sctx)
	}()
	relayURL := "ws://" + ln.Addr().String() + "/kpp"
	fmt.Println("   relay at", relayURL)

	minerAddr, err := miner.funds.FreshAddresses(ctx, 1)
	if err != nil {
		return err
	}
	step("Mining coins to the receiver and the sender")
	for _, p := range []*party{recv, send} {
		a, err := p.funds.FreshAddresses(ctx, 1)
		if err != nil {
			return err
		}
		if _, err := dev.MineUntilSpendable(ctx, a[0].String(), 100*amount.SompiPerKAS); err != nil {
			return err
		}
	}
	balances := func() (map[string]amount.Sompi, error) {
		// Mine elsewhere until every coin has matured and stopped changing.
		var last map[string]amount.Sompi
		for i := 0; i < 60; i++ {
			if err := dev.MineBlocks(ctx, minerAddr[0].String(), 1); err != nil {
				return nil, err
			}
			now := map[string]amount.Sompi{}
			settled := true
			for _, p := range []*party{recv, send, relayW} {
				b, err := p.funds.Balances(ctx)
				if err != nil {
					return nil, err
				}
				now[p.name] = b.Spendable
				settled = settled && b.Maturing == 0 && last != nil && last[p.name] == b.Spendable
			}
			if settled {
				return now, nil
			}
			last = now
		}
		return nil, fmt.Errorf("balances still changing")
	}
	before, err := balances()
	if err != nil {
		return err
	}
	for _, p := range []*party{recv, send, relayW} {
		fmt.Printf("   %-10s %s\n", p.name, before[p.name])
	}

	const payment = 12*amount.SompiPerKAS + 34_567_891
	show := func(who string) func(kpp.Event) {
		return func(ev kpp.Event) { fmt.Printf("   [%s] %s\n", who, ev.Step) }
	}
	step(fmt.Sprintf("Receiver asks for %s: it contributes a coin and two fresh addresses, and shows a payment request", amount.Sompi(payment)))
	r, err := kpp.ReceiverInitiate(ctx, kpp.ReceiverConfig{
		Network: address.Devnet, RelayURL: relayURL, Amount: payment,
		Wallet: recv.funds, Chain: client, OnEvent: show("receiver"),
	})
	if err != nil {
		return err
	}
	fmt.Println("   " + r.URI())
	type result struct {
		res *kpp.ReceiverResult
		err error
	}
	done := make(chan result, 1)
	go func() { res, err := r.Wait(ctx); done <- result{res, err} }()

	step("Sender scans the request, pairs at the relay, checks the receiver's coin on its node, builds the payjoin")
	prop, err := kpp.SenderPrepare(ctx, r.URI(), kpp.SenderConfig{Network: address.Devnet, Wallet: send.funds, Chain: client, OnEvent: show("sender")})
	if err != nil {
		return err
	}
	fmt.Printf("   sender pays %s + node fee %s + network fee %s\n", prop.Payment(), prop.NodeFee(), prop.NetworkFee())
	step("Sender signs its own input and broadcasts")
	sres, err := prop.SignAndFinalize(ctx)
	if err != nil {
		return err
	}
	rres := <-done
	if rres.err != nil {
		return rres.err
	}
	step("Mining the payjoin")
	if err := dev.MineBlocks(ctx, minerAddr[0].String(), 2); err != nil {
		return err
	}
	after, err := balances()
	if err != nil {
		return err
	}
	fmt.Printf("   transaction %s: %d inputs, %d outputs\n", sres.TransactionID, len(sres.Transaction.Inputs), len(sres.Transaction.Outputs))
	for _, p := range []*party{recv, send, relayW} {
		d := int64(after[p.name]) - int64(before[p.name])
		fmt.Printf("   %-10s %s -> %s (%+d sompi)\n", p.name, before[p.name], after[p.name], d)
	}
	if after[recv.name]-before[recv.name] != payment ||
		before[send.name]-after[send.name] != sres.Debit ||
		after[relayW.name]-before[relayW.name] != prop.NodeFee() {
		return fmt.Errorf("balances do not add up")
	}
	step(fmt.Sprintf("Done: receiver +%s, sender -%s (payment + node fee + network fee), relay node +%s", amount.Sompi(payment), sres.Debit, prop.NodeFee()))
	return nil
}

var stepNo int

func step(s string) {
	stepNo++
	fmt.Printf("%d. %s\n", stepNo, s)
}
