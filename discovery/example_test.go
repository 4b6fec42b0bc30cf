package discovery_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/discovery"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/relay"
)

// ExampleParsePayload reads the payload of a Python node's pulse, as a
// node's RPC shows it (hex).
func ExampleParsePayload() {
	payloadHex := "7b2270726f746f636f6c223a20226b6c6f616b222c202276657273696f6e223a2022312e302e30222c202277735f75726c223a202277733a2f2f312e322e332e343a383736352f6b7070222c202274696d657374616d70223a20313730303030303030307d"
	b, _ := hex.DecodeString(payloadHex)
	p, err := discovery.ParsePayload(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.WSURL, p.Timestamp)
	fmt.Printf("%+v\n", p.FeePolicy()) // absent fields: the defaults

	_, err = discovery.ParsePayload([]byte(`{"protocol": "kloak", "version": "1.0.0", "ws_url": "ws://::1:8765/kpp", "timestamp": 1700000000}`))
	fmt.Println(err)
	// Output:
	// ws://1.2.3.4:8765/kpp 1700000000
	// {Min:0.2 KAS Unit:0.1 KAS Max:0 KAS}
	// invalid pulse payload: ws_url: invalid relay URL: "ws://::1:8765/kpp": an IPv6 address must be in brackets, e.g. ws://[2001:db8::1]:8765/kpp
}

// ExampleNewPayload writes the payload a kloak node pulses: the original's
// four keys as its json.dumps writes them, then the fee policy.
func ExampleNewPayload() {
	policy := kpp.FeePolicy{Min: 20_000_000, Unit: 10_000_000}
	p, err := discovery.NewPayload("wss://relay.example.com/kpp", time.Unix(1_750_000_000, 0), &policy)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", p.Encode())
	// Output:
	// {"protocol": "kloak", "version": "1.0.0", "ws_url": "wss://relay.example.com/kpp", "timestamp": 1750000000, "fee_min": 20000000, "fee_unit": 10000000}
}

// ExampleSelect probes a relay found in a pulse with a KPP handshake and
// remembers it in the cache file.
func ExampleSelect() {
	fee, _ := address.Parse("kaspa:qptuunqxj5vlq9j4sdyfq0a7r3wgp697ymvym7cky3aaz7mfwtx47sraf8r5g")
	srv, _ := relay.New(relay.Config{
		FeeAddresses: relay.FeeAddressFunc(func(context.Context) (address.Address, error) { return fee, nil }),
		Logger:       slog.New(slog.DiscardHandler),
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	url := "ws://" + ln.Addr().String() + "/kpp"

	dir, _ := os.MkdirTemp("", "discovery-example")
	defer os.RemoveAll(dir)
	// In a wallet, pulses come from discovery.Scan.
	pulses := []discovery.Pulse{{Payload: discovery.Payload{WSURL: url}}}
	sel, err := discovery.Select(context.Background(), pulses, discovery.SelectOptions{CacheFile: filepath.Join(dir, discovery.CacheFileName)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sel.URL == url, sel.FromCache)
	// Output:
	// true false
}

// ExampleScan finds the relays that pulsed in the last 20 minutes, as
// kloakwallet's "nodes" command does.
func ExampleScan() {
	ctx := context.Background()
	c, err := node.Dial(ctx, "127.0.0.1:16110", node.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	pulses, err := discovery.Scan(ctx, c, discovery.ScanOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pulses {
		fmt.Println(p.BlockTime.Format(time.RFC3339), p.WSURL, p.FeePolicy())
	}
	best, err := discovery.Select(ctx, pulses, discovery.SelectOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("using", best.URL, best.Latency)
}

// ExampleNewPulser runs a node's pulses beside its relay (kloaknode run
// --public-url=... --pulse-interval=...).
func ExampleNewPulser() {
	ctx := context.Background()
	var (
		c     *node.Client          // node.Dial(...)
		funds discovery.PulseWallet // nodeWallet.Funds(c, wallet.FundsOptions{})
	)
	p, err := discovery.NewPulser(discovery.PulserConfig{
		Chain: c, Wallet: funds, Network: address.Mainnet,
		PublicURL: "wss://relay.example.com/kpp",
		FeePolicy: &kpp.DefaultFeePolicy,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	go p.Run(ctx)
	// The operator's "pulse" command:
	id, err := p.PulseNow(ctx)
	fmt.Println(id, err)
}
