package main

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// passwordEnv names the environment variable that holds the wallet
// password for non-interactive use (scripts, tests). Anything that can read
// the process environment can read it.
const passwordEnv = "KLOAK_WALLET_PASSWORD"

// readPassword returns the wallet password: $KLOAK_WALLET_PASSWORD if it
// is set, else typed on the terminal without echo, twice if confirm.
func readPassword(prompts io.Writer, confirm bool) ([]byte, error) {
	if p, ok := os.LookupEnv(passwordEnv); ok {
		return []byte(p), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, fmt.Errorf("standard input is not a terminal to ask for the wallet password: set %s", passwordEnv)
	}
	fmt.Fprint(prompts, "Wallet password: ")
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(prompts)
	if err != nil {
		return nil, err
	}
	if confirm {
		fmt.Fprint(prompts, "Repeat password: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(prompts)
		if err != nil {
			return nil, err
		}
		same := subtle.ConstantTimeCompare(p, again) == 1
		clear(again)
		if !same {
			clear(p)
			return nil, errors.New("the passwords do not match")
		}
	}
	return p, nil
}
