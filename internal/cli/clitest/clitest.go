// Package clitest is what the tests of kloak's commands (cmd/kloakwallet,
// cmd/kloaknode) and the end-to-end tests (e2e) share: building the
// binaries once for a test binary, waiting for a process to exit, a devnet
// kaspad with a client, and reading the commands' output and wallet files.
//
// It is for tests only; nothing outside a _test.go file imports it.
package clitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/wallet"
)

// Binary is a command for Main to build: the package (a directory, such
// as "." or "../cmd/kloaknode") and where to store the binary's path.
type Binary struct {
	Package string
	Path    *string
}

// Main builds bins into a temporary directory, runs the tests and exits
// with their status, removing the directory. Call it from TestMain.
func Main(m *testing.M, bins ...Binary) {
	dir, err := os.MkdirTemp("", "kloak-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, b := range bins {
		*b.Path = filepath.Join(dir, filepath.Base(filepath.Clean(b.Package)))
		if b.Package == "." {
			wd, _ := os.Getwd()
			*b.Path = filepath.Join(dir, filepath.Base(wd))
		}
		if err := Build(b.Package, *b.Path); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", b.Package, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Build runs go build -o out pkg with env added to the environment; what
// the compiler says goes to standard error.
func Build(pkg, out string, env ...string) error {
	b := exec.Command("go", "build", "-o", out, pkg)
	b.Env = append(os.Environ(), env...)
	b.Stdout, b.Stderr = os.Stderr, os.Stderr
	return b.Run()
}

// ExitCode is the exit status in err, an error of exec.Cmd.Wait or Run:
// 0 for nil, -1 if the process did not exit normally.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return -1
}

// WaitExit waits up to timeout for a process's exec.Cmd.Wait result on
// exited, puts it back for the next caller and returns the exit status.
// It fails the test on a timeout or an error that is not an exit status.
func WaitExit(t testing.TB, exited chan error, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-exited:
		exited <- err
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return ExitCode(err)
	case <-time.After(timeout):
		t.Fatalf("the process did not exit within %v", timeout)
	}
	return -1
}

// Devnet starts a devnet kaspad for the test (devnet.Start) and returns
// it with a context that ends after timeout and a client connected to it;
// both end with the test.
func Devnet(t testing.TB, opts devnet.Options, timeout time.Duration) (*devnet.Node, context.Context, *node.Client) {
	t.Helper()
	dev := devnet.Start(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	client, err := node.Dial(ctx, dev.RPCAddress(), node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return dev, ctx, client
}

// KAS parses v, a decimal KAS string from --json output.
func KAS(t testing.TB, v any) amount.Sompi {
	t.Helper()
	s, _ := v.(string)
	a, err := amount.ParseKAS(s)
	if err != nil {
		t.Fatalf("amount %v: %v", v, err)
	}
	return a
}

// Address parses s, an address of any network.
func Address(t testing.TB, s string) address.Address {
	t.Helper()
	a, err := address.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// EventList parses --json output, one JSON object per line, each with an
// "event"; it fails the test on any other line.
func EventList(t testing.TB, out string) []map[string]any {
	t.Helper()
	var list []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q (%v)\n%s", line, err, out)
		}
		if ev, _ := m["event"].(string); ev == "" {
			t.Fatalf("no event in %q", line)
		}
		list = append(list, m)
	}
	return list
}

// EventsAmong returns the lines of out that are JSON objects with an
// "event", passing over the others: --json output mixed with what the
// command logs on standard error (exec.Cmd.CombinedOutput).
func EventsAmong(out string) []map[string]any {
	var list []map[string]any
	for _, line := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			if ev, _ := m["event"].(string); ev != "" {
				list = append(list, m)
			}
		}
	}
	return list
}

// ByEvent keys list by "event"; of events that repeat, the last.
func ByEvent(list []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, ev := range list {
		m[ev["event"].(string)] = ev
	}
	return m
}

// Events is EventList keyed by "event" (ByEvent).
func Events(t testing.TB, out string) map[string]map[string]any {
	t.Helper()
	return ByEvent(EventList(t, out))
}

var numberedWord = regexp.MustCompile(`(?m)^ *\d+\. .*$`)
var word = regexp.MustCompile(`\d+\.\s+([a-z]+)`)

// PrintedWords returns the words of a mnemonic printed by cli.PrintWords
// in out, in order.
func PrintedWords(out string) []string {
	var words []string
	for _, line := range numberedWord.FindAllString(out, -1) {
		for _, m := range word.FindAllStringSubmatch(line, -1) {
			words = append(words, m[1])
		}
	}
	return words
}

// HandedOut opens the wallet file at path, closing it again, and returns
// the addresses it has handed out: receive and change addresses 0 up to
// its next index of each chain.
func HandedOut(t testing.TB, path, password string) cli.AddressList {
	t.Helper()
	w, err := wallet.Open(path, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	acct, err := w.Account()
	if err != nil {
		t.Fatal(err)
	}
	l, err := cli.ListAddresses(acct, w.NextReceiveIndex(), w.NextChangeIndex())
	if err != nil {
		t.Fatal(err)
	}
	return l
}
