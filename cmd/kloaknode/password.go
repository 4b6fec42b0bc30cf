package main

import "github.com/kloakprotocol/kloak/internal/cli"

// passwordEnv names the environment variable that holds the wallet
// password for non-interactive use (services, tests).
const passwordEnv = cli.PasswordEnv

// pythonPasswordEnv holds the password of a Python node's wallet file for
// `wallet import-python`.
const pythonPasswordEnv = "KLOAK_PYTHON_WALLET_PASSWORD"

// The passwords kloaknode asks for: from their environment variable if it
// is set, else typed on the terminal without echo (twice, and not empty,
// for a new wallet file).
var (
	walletPassword    = cli.Prompt{Env: passwordEnv, Text: "Wallet password: ", Purpose: "ask for the password"}
	newWalletPassword = cli.Prompt{Env: passwordEnv, Text: "New wallet password: ", Purpose: "ask for the password", New: true}
	pythonPassword    = cli.Prompt{Env: pythonPasswordEnv, Text: "Python wallet password: ", Purpose: "ask for the password"}
)
