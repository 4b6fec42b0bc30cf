// Command kloaknode runs a kloak node: the blind WebSocket relay (package
// relay) that pairs the receiver and the sender of a Kloak Payment Protocol
// payjoin by session id and relays their end-to-end encrypted messages,
// handing each sender a fresh fee address from the node's own wallet.
//
//	kloaknode run [--ws-port 8765] [--ws-bind 0.0.0.0] [--wallet-file FILE]
//	              [--kaspad 127.0.0.1:16110] [--network mainnet]
//	              [--fee-min 0.2] [--fee-unit 0.1] [--log-level info]
//	kloaknode --version
//
// The flags --ws-port, --ws-bind and --wallet-file and the environment
// variables KLOAK_WS_PORT (used only if all digits), KLOAK_WS_BIND and
// KLOAK_WALLET_FILE are the Python node's; a flag given on the command line
// wins over the environment. The wallet file defaults to
// kloak_wallet.kloak in $KLOAK_NODE_CACHE_DIR, else $KLOAK_CACHE_DIR, else
// os.UserConfigDir()/kloaknode (on Linux ~/.config/kloaknode). The wallet
// password is read from KLOAK_WALLET_PASSWORD if it is set, otherwise asked
// on the terminal without echo (twice when the wallet is created).
//
// run, in order: connects to kaspad (--kaspad) and checks that it runs
// --network (its network name, such as "kaspa-devnet"); opens the wallet,
// or creates it on --network with a new 24-word mnemonic printed once to
// standard output; listens and prints
//
//	kloaknode: relay listening on ws://HOST:PORT/kpp
//
// on standard error; and serves until SIGINT or SIGTERM, which shut the
// relay down gracefully (every wallet is told, bounded by 10 s) and exit
// with status 0. Any failure before the listening line (kaspad unreachable
// or on another network, a wrong password, the port taken) exits with
// status 1 and a message that says which.
//
// --fee-min and --fee-unit (KAS) are the node's fee policy, announced to
// every sender in the dust_address message; the defaults, 0.2 and 0.1 KAS,
// are what a Python node charges implicitly.
//
// Fee addresses come from the wallet's receive chain, reserved 256 at a
// time with one save of the wallet file (relay.WalletFeeAddresses): an
// address is never handed out twice, also across restarts, and a restart
// skips the rest of its batch. To recover the fees from the mnemonic, scan
// the receive chain up to the wallet file's next receive index.
//
// It does not yet send discovery pulses or offer the operator console of
// the Python node.
package main
