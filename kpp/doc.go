// Package kpp is the Kloak Payment Protocol: a payjoin for Kaspa in which
// two wallets that have never met build one transaction through a blind
// relay.
//
// The receiver shows a payment request (a kaspa: URI with the relay's URL
// and a one-time 32-byte key). Both wallets meet at the relay, which pairs
// them by sha256(key) and forwards messages sealed with the key
// (ChaCha20-Poly1305) that it cannot read. The receiver contributes one UTXO
// (R) and two fresh addresses; the sender builds a 2-input, 4-output
// transaction in which the receiver's addresses get exactly R + P, the
// relay node gets its fee F, and the sender keeps its change. Each side
// checks the transaction and signs only its own input; the sender
// broadcasts.
//
// Receiving:
//
//	r, err := kpp.ReceiverInitiate(ctx, kpp.ReceiverConfig{
//		Network: address.Mainnet, RelayURL: "wss://relay.example/kpp",
//		Amount: 10 * amount.SompiPerKAS, Wallet: funds, Chain: nodeClient,
//	})
//	show(r.URI())              // as a QR code
//	res, err := r.Wait(ctx)    // sender arrived, proposal checked and signed, broadcast seen
//
// Sending:
//
//	p, err := kpp.SenderPrepare(ctx, uri, kpp.SenderConfig{Network: address.Mainnet, Wallet: funds, Chain: nodeClient})
//	res, err := p.SignAndFinalize(ctx) // or sign p.Transaction() yourself and call p.Finalize
//
// The wallet side is two small interfaces each (ReceiverWallet,
// ReceiverChain; SenderWallet, SenderChain): wallet.Funds and node.Client
// satisfy them, and so can any wallet.
//
// The wire is the Python original's v1, byte for byte where a peer can see
// it (see PROTOCOL.md). What the original got wrong is fixed inside that
// wire: nobody signs what it did not check (txbuild.VerifyAsReceiver,
// txbuild.VerifyAsSender), nothing is taken on trust (the sender looks the
// receiver's UTXO up on its own node; the receiver waits until its node
// shows the broadcast), the receiver is paid in full, and fees follow real
// mass so that every transaction meets KIP-9 and the relay floor.
//
// Privacy: the sender chooses the split of R + P, its coin among up to five
// (SenderWallet.SelectUTXOs) and, where the relay announces fee_max, the
// node fee within [fee_min, fee_max], so that an observer who knows KPP
// finds several readings of the transaction with payments as round and as
// likely as P (txbuild.Build2In4Out); the receiver contributes a coin like a
// sender's (ReceiverWallet.ContributeUTXO, txbuild.ReceiverCoin). PRIVACY.md
// has what such an observer learns, measured, and what the relay learns.
//
// Threat model in brief: the relay sees the session id, both wallets' IP
// addresses, timing and sizes, and the fee address it chose; it cannot read
// or forge the sealed messages. Because the same key seals both directions
// without sequence numbers, a relay can replay or reflect a message; each
// party accepts only the one message its state expects next and decodes it
// strictly, so that ends in a refusal. Whoever sees the QR code can act as
// the sender, but the receiver signs only a transaction that pays it R + P,
// so a thief can only pay the receiver in full. The plaintext dust_address
// message is not authenticated: an on-path attacker can redirect the node's
// fee, which the sender caps (SenderConfig.MaxNodeFee). SECURITY.md has the
// whole model, each claim with the test that shows it.
package kpp
