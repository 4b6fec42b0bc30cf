package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// passwordEnv names the environment variable that holds the wallet
// password for non-interactive use (services, tests). Anything that can
// read the process environment can read it.
const passwordEnv = "KLOAK_WALLET_PASSWORD"

// pythonPasswordEnv holds the password of a Python node's wallet file for
// `wallet import-python`.
const pythonPasswordEnv = "KLOAK_PYTHON_WALLET_PASSWORD"

// secretPrompt says where a password comes from and how it is asked.
type secretPrompt struct {
	env     string // environment variable that holds it, if set
	prompt  string // e.g. "Wallet password: "
	confirm bool   // ask twice on the terminal
}

var (
	walletPassword    = secretPrompt{env: passwordEnv, prompt: "Wallet password: "}
	newWalletPassword = secretPrompt{env: passwordEnv, prompt: "New wallet password: ", confirm: true}
	pythonPassword    = secretPrompt{env: pythonPasswordEnv, prompt: "Python wallet password: "}
)

// readPassword returns the password of s: its environment variable if it
// is set, else typed on the terminal without echo (twice if s.confirm).
//
// It works in any terminal golang.org/x/term supports, the Windows console
// included. When ctx ends while it waits (Ctrl+C), it puts the terminal
// back as it was, with echo on, and returns ctx's error.
func readPassword(ctx context.Context, prompts io.Writer, s secretPrompt) ([]byte, error) {
	if p, ok := os.LookupEnv(s.env); ok {
		return []byte(p), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, fmt.Errorf("standard input is not a terminal to ask for the password: set %s", s.env)
	}
	p, err := readSecret(ctx, fd, prompts, s.prompt)
	if err != nil || !s.confirm {
		return p, err
	}
	again, err := readSecret(ctx, fd, prompts, "Repeat password: ")
	if err != nil {
		clear(p)
		return nil, err
	}
	same := subtle.ConstantTimeCompare(p, again) == 1
	clear(again)
	if !same {
		clear(p)
		return nil, errors.New("the passwords do not match")
	}
	return p, nil
}

// readSecret reads one line without echo from the terminal fd.
func readSecret(ctx context.Context, fd int, prompts io.Writer, prompt string) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	type result struct {
		p   []byte
		err error
	}
	done := make(chan result, 1)
	fmt.Fprint(prompts, prompt)
	// term.ReadPassword cannot be cancelled; on Ctrl+C it is left blocked
	// on the terminal, and the process exits soon after.
	go func() {
		p, err := term.ReadPassword(fd)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(prompts)
		return r.p, r.err
	case <-ctx.Done():
		term.Restore(fd, state)
		fmt.Fprintln(prompts)
		return nil, fmt.Errorf("password prompt: %w", context.Cause(ctx))
	}
}
