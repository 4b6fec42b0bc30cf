package main

import "github.com/kloakprotocol/kloak/internal/cli"

// passwordEnv names the environment variable that holds the wallet
// password for non-interactive use (scripts, tests).
const passwordEnv = cli.PasswordEnv

// The wallet password: $KLOAK_WALLET_PASSWORD if it is set, else typed on
// the terminal without echo (twice, and not empty, for a new file).
var (
	walletPassword    = cli.Prompt{Env: passwordEnv, Text: "Wallet password: ", Purpose: "ask for the wallet password"}
	newWalletPassword = cli.Prompt{Env: passwordEnv, Text: "Wallet password: ", Purpose: "ask for the wallet password", New: true}
)
