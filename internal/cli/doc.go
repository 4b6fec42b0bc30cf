// Package cli is the plumbing that kloak's commands, kloakwallet and
// kloaknode, share around a wallet file: asking for a password (from an
// environment variable, else the terminal without echo), reading small
// files of secrets with a size limit, refusing to replace a wallet file,
// creating and opening one, printing a new mnemonic and an account's
// addresses, and the defaults of the flags both commands take.
//
// A command uses it like this:
//
//	prompt := cli.Prompt{Env: cli.PasswordEnv, Text: "Wallet password: ", Purpose: "ask for the wallet password"}
//	w, err := cli.OpenWallet(ctx, cmd.ErrOrStderr(), path, prompt)
//	if err != nil {
//		return err
//	}
//	defer w.Close()
//
// The error texts are the commands' own, word for word: scripts and tests
// match them. Each command keeps its flags, its help and its output; what
// differs between the two commands (a prompt's words, an error's prefix)
// is a parameter here, not a choice made here.
//
// It is internal: no wallet should import it. It does not talk to a Kaspa
// node or a relay, and it keeps no state of its own.
package cli
