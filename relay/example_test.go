package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/wallet"
)

// Example runs a relay and pairs a receiver with a sender through it, as
// two wallets do: the sender first gets the node's fee address and fee
// policy, then the receiver's encrypted blob, verbatim.
func Example() {
	fee, _ := address.Parse("kaspa:qptuunqxj5vlq9j4sdyfq0a7r3wgp697ymvym7cky3aaz7mfwtx47sraf8r5g")
	srv, err := relay.New(relay.Config{
		// A real node uses relay.NewWalletFeeAddresses(nodeWallet, 0).
		FeeAddresses: relay.FeeAddressFunc(func(context.Context) (address.Address, error) { return fee, nil }),
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	url := "ws://" + ln.Addr().String() + relay.Path

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sessionID := "5e0a3e3d5b3c1c0e9a0e0b8f1b0d6a5f4e3c2b1a09f8e7d6c5b4a39281706f5e" // hex(sha256(e2ee key))

	receiver, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		panic(err)
	}
	defer receiver.CloseNow()
	receiver.Write(ctx, websocket.MessageText, []byte(`{"role":"receiver","session_id":"`+sessionID+`"}`))
	receiver.Write(ctx, websocket.MessageText, []byte("<base64 of the encrypted blob>"))
	for srv.Stats().Pending == 0 {
		time.Sleep(time.Millisecond)
	}

	sender, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		panic(err)
	}
	defer sender.CloseNow()
	sender.Write(ctx, websocket.MessageText, []byte(`{"role":"sender","session_id":"`+sessionID+`"}`))
	for range 2 {
		_, msg, err := sender.Read(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s\n", msg)
	}
	fmt.Printf("%+v\n", srv.Stats())

	// Shutdown closes both wallets (status 1001); they must be reading
	// to answer the close quickly.
	go receiver.Read(ctx)
	go sender.Read(ctx)
	if err := srv.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// {"type":"dust_address","address":"kaspa:qptuunqxj5vlq9j4sdyfq0a7r3wgp697ymvym7cky3aaz7mfwtx47sraf8r5g","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}
	// <base64 of the encrypted blob>
	// {Connections:2 Pending:0 Waiting:0 Bridged:1 Served:1}
}

// ExampleNewWalletFeeAddresses hands out a node wallet's receive addresses
// as fee addresses, 256 indexes reserved per wallet save.
func ExampleNewWalletFeeAddresses() {
	// w is the node's open wallet file (wallet.Open).
	w, cleanup := exampleWallet()
	defer cleanup()
	fees := relay.NewWalletFeeAddresses(w, 0)
	a, _ := fees.NextFeeAddress(context.Background())
	b, _ := fees.NextFeeAddress(context.Background())
	fmt.Println(a)
	fmt.Println(b)
	fmt.Println("reserved up to index", w.NextReceiveIndex())
	// Output:
	// kaspadev:qpu92skxut9ltmj2pugjfnac6zs4npmjzqura2e4dfu29clqltu95d0wwcska
	// kaspadev:qrc2959g0pqda53glnfd238cdnmk24zxzkj8n5x83rkktx4h73dkcc90y8dqq
	// reserved up to index 256
}

// exampleWallet creates a throw-away devnet wallet file.
func exampleWallet() (*wallet.Wallet, func()) {
	dir, err := os.MkdirTemp("", "relay-example")
	if err != nil {
		panic(err)
	}
	w, err := wallet.Create(filepath.Join(dir, "node.kloak"), testPassword, testMnemonic,
		wallet.CreateOptions{Network: address.Devnet, Scrypt: cheapScrypt})
	if err != nil {
		panic(err)
	}
	return w, func() { w.Close(); os.RemoveAll(dir) }
}
