// Command kloakwallet creates kloak wallet files and derives Kaspa
// addresses from a mnemonic, the same addresses Kaspa-NG and kaspawallet
// show for the same words (BIP44 m/44'/111111'/account'/chain/index), and,
// with the user's own Kaspa node, shows balances and pays.
//
//	kloakwallet create --wallet-file wallet.kloak [--network mainnet] [--words 24]
//	kloakwallet restore --wallet-file wallet.kloak [--network mainnet] [--words-file words.txt] [--kaspad HOST:PORT]
//	kloakwallet addresses --wallet-file wallet.kloak [--receive N] [--change M] [--json]
//	kloakwallet derive --mnemonic-file words.txt [--passphrase-file P] --network testnet --receive 5 --json
//	kloakwallet balance --wallet-file wallet.kloak --kaspad HOST:PORT [--json]
//	kloakwallet send --wallet-file wallet.kloak --kaspad HOST:PORT --to ADDRESS --amount KAS [--feerate X] [--yes] [--json]
//	kloakwallet receive --wallet-file wallet.kloak --amount KAS --relay URL
//	kloakwallet pay URI --wallet-file wallet.kloak
//	kloakwallet tx ...
//
// The wallet password is read from the environment variable
// KLOAK_WALLET_PASSWORD if it is set, otherwise asked on the terminal
// without echo. create prints the new mnemonic once: write it down.
// restore reads an existing mnemonic from a file or, without echo, from
// the terminal.
//
// The commands that talk to a node (balance, send, restore with --kaspad,
// receive, pay) print readable text, or with --json one JSON object per
// line with an "event" field; amounts are decimal KAS strings. send and pay
// ask before they broadcast, and refuse without a terminal unless --yes.
package main
