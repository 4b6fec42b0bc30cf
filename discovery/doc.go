// Package discovery is how KPP wallets find relay nodes: a node announces
// its relay on chain in a "pulse", and a wallet scans the recent DAG for
// pulses and picks the relay that answers fastest.
//
// # The pulse
//
// A pulse is an ordinary transaction of the node's wallet to itself, one
// input and one output, whose payload is JSON (the Python original's v1,
// byte for byte as its json.dumps writes it):
//
//	{"protocol": "kloak", "version": "1.0.0", "ws_url": "wss://relay.example/kpp", "timestamp": 1700000000, "fee_min": 20000000, "fee_unit": 10000000, "fee_max": 30000000}
//
// fee_min, fee_unit and fee_max (integer sompi, the node's kpp.FeePolicy)
// are kloak's; a Python node omits them, and fee_max is there only when the
// node lets senders pay any fee from fee_min to it (PRIVACY.md). Payloads ride on native transactions
// since Crescendo (KIP-14); a node whose kaspad predates it cannot pulse,
// and says so once (Pulser).
//
// Node side:
//
//	p, err := discovery.NewPulser(discovery.PulserConfig{
//		Chain: nodeClient, Wallet: funds, Network: address.Mainnet,
//		PublicURL: "wss://relay.example.com/kpp", FeePolicy: &policy,
//	})
//	go p.Run(ctx) // at start, every 10 minutes, and on p.Trigger()
//
// Wallet side:
//
//	pulses, err := discovery.Scan(ctx, nodeClient, discovery.ScanOptions{})
//	best, err := discovery.Select(ctx, pulses, discovery.SelectOptions{CacheFile: path})
//	// best.URL is the relay to use
//
// # What it fixes in the original
//
// The original's wallet read one block (it followed a header field that
// does not exist), ranked pulses by the timestamp each node claims for
// itself (a far-future claim always won), and tested a candidate with a
// TCP connect, which any open port passes. Its node looked its own IP
// address up at three third-party web services on every pulse and
// announced ws://localhost:8765/kpp when they failed. Here: Scan reads
// every block of a time window (in batches where the node sends them),
// chain and merged alike, ranks by the block header's time, drops
// future-dated, malformed and unaccepted pulses and local addresses;
// Select probes with a real KPP handshake; the node announces only the
// URL its operator configures.
//
// # Threat model
//
// Pulses are not authenticated: anyone who pays a transaction fee (about
// 0.0017 KAS on mainnet) can announce any URL, and enough pulses can push
// honest relays out of a wallet's top candidates. What a wallet gets is a
// relay that speaks KPP and was announced, in a transaction the DAG
// accepted, within the window. A relay is blind (it sees only ciphertext;
// package kpp makes each side check the transaction before signing), so
// a hostile relay can refuse service or observe who talks to whom and
// when, but cannot take coins. A wallet that wants a particular relay
// should be configured with it instead.
//
// Select connects only to the relays it is given; Scan never contacts
// them. By default Scan drops URLs on loopback, private and link-local
// addresses, so that a stranger's pulse cannot make a wallet probe its own
// network.
//
// # What it does not do
//
// It does not keep a list of relays over time, rate relays by anything
// but a handshake's latency, or check that a relay is the node that
// pulsed it.
package discovery
