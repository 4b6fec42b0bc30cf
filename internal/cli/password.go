package cli

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// PasswordEnv names the environment variable that holds the wallet
// password for non-interactive use (scripts, services, tests). Anything
// that can read the process environment can read it.
const PasswordEnv = "KLOAK_WALLET_PASSWORD"

// ErrNotTerminal is what a *NotTerminalError is: standard input is not a
// terminal to ask on.
var ErrNotTerminal = errors.New("standard input is not a terminal")

// NotTerminalError says that something had to be asked on the terminal,
// standard input is not one, and what to do instead. It matches
// ErrNotTerminal with errors.Is.
type NotTerminalError struct {
	// Purpose completes "standard input is not a terminal to ...", such
	// as "ask for the wallet password".
	Purpose string
	// Remedy is what to do instead, such as "set KLOAK_WALLET_PASSWORD".
	Remedy string
}

func (e *NotTerminalError) Error() string {
	return ErrNotTerminal.Error() + " to " + e.Purpose + ": " + e.Remedy
}

// Is reports whether target is ErrNotTerminal.
func (e *NotTerminalError) Is(target error) bool { return target == ErrNotTerminal }

// StdinIsTerminal reports whether standard input is a terminal.
func StdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// ErrPasswordMismatch is the error of a Prompt with New when the password
// typed again differs.
var ErrPasswordMismatch = errors.New("the passwords do not match")

// ErrEmptyPassword is the error of a Prompt with New for an empty
// password: a new wallet file must have one.
var ErrEmptyPassword = errors.New("the wallet password must not be empty")

// Prompt says where a secret comes from: an environment variable if it
// is set, else the terminal, without echo.
type Prompt struct {
	// Env names the environment variable that holds the secret. Empty:
	// the secret is only ever typed.
	Env string
	// Text is written before the terminal is read, such as
	// "Wallet password: ".
	Text string
	// Purpose and Remedy make the *NotTerminalError when the secret is
	// not in Env and standard input is not a terminal. Remedy defaults to
	// "set " + Env.
	Purpose, Remedy string
	// New is for the password of a new wallet file: typed twice (the
	// second time after "Repeat password: ") and never empty.
	New bool
}

// Read returns the secret: $Env if it is set, else one line typed on the
// terminal without echo after p.Text is written to prompts. The caller
// clears it after use.
//
// It works in any terminal golang.org/x/term supports, the Windows console
// included. When ctx ends while it waits (Ctrl+C under
// signal.NotifyContext), it puts the terminal back as it was, with echo on,
// and returns an error that wraps the cause of ctx: "password prompt:
// interrupt".
func (p Prompt) Read(ctx context.Context, prompts io.Writer) ([]byte, error) {
	return p.read(ctx, int(os.Stdin.Fd()), prompts)
}

func (p Prompt) read(ctx context.Context, fd int, prompts io.Writer) ([]byte, error) {
	secret, err := p.ask(ctx, fd, prompts)
	if err != nil {
		return nil, err
	}
	if p.New && len(secret) == 0 {
		return nil, ErrEmptyPassword
	}
	return secret, nil
}

func (p Prompt) ask(ctx context.Context, fd int, prompts io.Writer) ([]byte, error) {
	if p.Env != "" {
		if v, ok := os.LookupEnv(p.Env); ok {
			return []byte(v), nil
		}
	}
	if !term.IsTerminal(fd) {
		remedy := p.Remedy
		if remedy == "" {
			remedy = "set " + p.Env
		}
		return nil, &NotTerminalError{Purpose: p.Purpose, Remedy: remedy}
	}
	secret, err := readHidden(ctx, fd, prompts, p.Text)
	if err != nil || !p.New {
		return secret, err
	}
	again, err := readHidden(ctx, fd, prompts, "Repeat password: ")
	if err != nil {
		clear(secret)
		return nil, err
	}
	same := subtle.ConstantTimeCompare(secret, again) == 1
	clear(again)
	if !same {
		clear(secret)
		return nil, ErrPasswordMismatch
	}
	return secret, nil
}

// readHidden reads one line without echo from the terminal fd.
func readHidden(ctx context.Context, fd int, prompts io.Writer, text string) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	type result struct {
		p   []byte
		err error
	}
	done := make(chan result, 1)
	fmt.Fprint(prompts, text)
	// term.ReadPassword cannot be cancelled; when ctx ends it is left
	// blocked on the terminal, and the process exits soon after.
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
