// Command kloaknode runs a kloak node: the blind WebSocket relay (package
// relay) that pairs the receiver and the sender of a Kloak Payment Protocol
// payjoin by session id and relays their end-to-end encrypted messages,
// handing each sender a fresh fee address from the node's own wallet.
//
//	kloaknode run [--ws-port 8765] [--ws-bind 0.0.0.0] [--wallet-file FILE]
//	              [--kaspad 127.0.0.1:16110] [--network mainnet]
//	              [--fee-min 0.2] [--fee-unit 0.1] [--fee-max 0.3] [--coinbase-maturity N]
//	              [--log-level info] [--log-format text]
//	kloaknode wallet create [--wallet-file FILE] [--network mainnet]
//	kloaknode wallet import-python --python-wallet OLD.enc [--wallet-file FILE] [--network mainnet]
//	kloaknode wallet addresses [--wallet-file FILE] [--receive N] [--change N] [--json]
//	kloaknode --version
//
// The flags --ws-port, --ws-bind and --wallet-file and the environment
// variables KLOAK_WS_PORT (used only if all digits), KLOAK_WS_BIND and
// KLOAK_WALLET_FILE are the Python node's; a flag given on the command line
// wins over the environment. The wallet file defaults to
// kloak_wallet.kloak in $KLOAK_NODE_CACHE_DIR, else $KLOAK_CACHE_DIR, else
// os.UserConfigDir()/kloaknode (on Linux ~/.config/kloaknode). The wallet
// password is read from KLOAK_WALLET_PASSWORD if it is set, otherwise asked
// on the terminal without echo (twice when the wallet is created); Ctrl+C
// at the prompt puts the terminal back as it was.
//
// # run
//
// run, in order: connects to kaspad (--kaspad) and checks that it runs
// --network (its network name, such as "kaspa-devnet"); opens the wallet,
// or creates it on --network with a new 24-word mnemonic printed once to
// standard output (and, on a terminal, waits for Enter); listens and prints
//
//	kloaknode: relay listening on ws://HOST:PORT/kpp
//
// on standard error (with --log-format json, the record
// {"msg":"kloaknode: relay listening","url":"ws://HOST:PORT/kpp"}); and
// serves until SIGINT (Ctrl+C) or SIGTERM, which shut the relay down
// gracefully (every wallet is told, bounded by 10 s) and exit with status
// 0. Any failure before the listening line (kaspad unreachable or on
// another network, a wrong password, the port taken) exits with status 1
// and a message that says which.
//
// --fee-min, --fee-unit and --fee-max (KAS) are the node's fee policy,
// announced to every sender in the dust_address message and in the
// pulses: a kloak sender pays a fee drawn from --fee-min to --fee-max,
// whatever the payment (0.2–0.3 KAS by default). --fee-max 0 announces
// the Python node's rule instead, which ties the fee to the payment
// (ceil((P + fee_min) / fee_unit) × fee_unit − P) and lets an observer
// read more of each payjoin (PRIVACY.md). --coinbase-maturity is how
// many DAA scores a mined coin waits before the wallet spends it (default
// 1000 on mainnet and testnet, 100 on devnet and simnet).
//
// Fee addresses come from the wallet's receive chain, reserved 256 at a
// time with one save of the wallet file (relay.WalletFeeAddresses): an
// address is never handed out twice, also across restarts, and a restart
// skips the rest of its batch. To recover the fees from the mnemonic, scan
// the receive chain up to the wallet file's next receive index.
//
// # Logs
//
// Logs go to standard error through log/slog, as key=value text or, with
// --log-format json, one JSON object per line (then a fatal error is a
// JSON record too). They never hold the mnemonic, a key, the password, a
// session key or a blob, and name a session by the first 8 hex digits of
// its id; remote IP addresses appear only at --log-level debug.
//
// # Operator console
//
// When standard input is a terminal, run offers the Python node's operator
// console on it: a "> " prompt, answers on standard output, commands in
// any case, words split as a shell splits them.
//
//	help, ?                        the commands
//	status                         version, relay URL, network, kaspad and its sync state,
//	                               pulses, sessions, balance
//	balance                        spendable and maturing KAS, addresses with funds
//	fundaddr                       a fresh change address of the node wallet, with a QR code:
//	                               pulses spend only coins sent there, never relay fees
//	pulse                          send a discovery pulse now
//	sessions                       connections, receivers and senders waiting, sessions bridged and served
//	sweep ADDRESS [--reserve KAS]  send all but the reserve (default 2 KAS) to ADDRESS
//	sweep --legacy ADDRESS         send every coin of the keys imported from a Python node
//
// sweep builds the transaction first (wallet.Funds.Send: the amount is
// the spendable balance less the reserve and the fee), shows what it
// spends, keeps and pays, and asks "Sweep X KAS to ADDR? [y/N]" before it
// submits. One transaction spends at most 80 coins (the standard mass
// budget); with more, it moves the 80 largest and says to sweep again once
// that transaction is in a block. The console reads lines as the terminal
// gives them (no raw mode), so Ctrl+C always reaches the node and there is
// no terminal state to restore; the end of input closes the console, not
// the node. Without a terminal (a service), or in the background of one,
// the console is off and run logs that once. The terminal QR code draws
// light modules as blocks, for the usual dark terminal background.
//
// Discovery pulses are not sent yet: pulse and status say "not
// configured" until package discovery is wired in (see pulse.go).
//
// # wallet
//
// wallet create makes a node wallet file with a new 24-word mnemonic and
// prints the words once. wallet import-python turns a Python node's
// kloak_wallet.enc (its password from $KLOAK_PYTHON_WALLET_PASSWORD or the
// terminal) into a node wallet with the same mnemonic and standard BIP44
// derivation, and imports the Python node's non-standard keys into it as
// legacy keys, listing their addresses: coins on them must be swept to a
// standard address, with the console's sweep --legacy (which signs with
// those keys; the wallet's own spending never uses them). wallet addresses lists the receive, change and legacy
// addresses, as text or JSON.
package main
