// Command kloakwallet creates kloak wallet files and derives Kaspa
// addresses from a mnemonic, the same addresses Kaspa-NG and kaspawallet
// show for the same words (BIP44 m/44'/111111'/account'/chain/index).
//
//	kloakwallet create --wallet-file wallet.kloak [--network mainnet] [--words 24]
//	kloakwallet addresses --wallet-file wallet.kloak [--receive N] [--change M] [--json]
//	kloakwallet derive --mnemonic-file words.txt [--passphrase-file P] --network testnet --receive 5 --json
//	kloakwallet tx ...
//
// The wallet password is read from the environment variable
// KLOAK_WALLET_PASSWORD if it is set, otherwise asked on the terminal
// without echo. create prints the new mnemonic once: write it down.
//
// The command is a thin layer over package wallet; it does not talk to a
// node.
package main
