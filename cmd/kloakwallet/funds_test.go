package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/internal/cli/clitest"
)

// createWallet runs create and returns the mnemonic it printed.
func createWallet(t *testing.T, pw *string, path, network string) string {
	t.Helper()
	res := run(t, pw, "create", "--wallet-file", path, "--network", network, "--words", "24")
	if res.err != nil {
		t.Fatalf("create: %v\n%s", res.err, res.stderr)
	}
	words := clitest.PrintedWords(res.stdout)
	if len(words) != 24 {
		t.Fatalf("found %d mnemonic words in:\n%s", len(words), res.stdout)
	}
	return strings.Join(words, " ")
}

// TestRestoreMatchesCreate: a wallet restored from the words create
// printed has the same addresses, in text and JSON output.
func TestRestoreMatchesCreate(t *testing.T) {
	dir := t.TempDir()
	pw := ptr("restore password")
	orig := filepath.Join(dir, "orig.kloak")
	words := createWallet(t, pw, orig, "testnet")
	// Extra spaces and line breaks in the file are fine.
	wf := writeFile(t, "words.txt", "  "+strings.Replace(words, " ", "\n", 3)+"  \n")

	restored := filepath.Join(dir, "restored.kloak")
	res := run(t, pw, "restore", "--wallet-file", restored, "--network", "testnet", "--words-file", wf, "--json")
	if res.err != nil {
		t.Fatalf("restore: %v\n%s", res.err, res.stderr)
	}
	ev := clitest.Events(t, res.stdout)
	if len(ev) != 1 || ev["restored"]["network"] != "testnet" || ev["restored"]["walletFile"] != restored {
		t.Fatalf("restore --json without --kaspad: %s", res.stdout)
	}
	if strings.Contains(res.stdout+res.stderr, strings.Fields(words)[5]+" "+strings.Fields(words)[6]) {
		t.Error("restore printed the mnemonic")
	}
	if fi, err := os.Stat(restored); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored file: %v %v", fi, err)
	}
	a := run(t, pw, "addresses", "--wallet-file", orig, "--receive", "3", "--change", "2", "--json")
	b := run(t, pw, "addresses", "--wallet-file", restored, "--receive", "3", "--change", "2", "--json")
	if a.err != nil || b.err != nil || a.stdout != b.stdout {
		t.Fatalf("addresses differ:\n%s%s\n%s%s", a.stdout, a.stderr, b.stdout, b.stderr)
	}
	var listed struct{ Receive []string }
	if err := json.Unmarshal([]byte(a.stdout), &listed); err != nil || ev["restored"]["firstReceiveAddress"] != listed.Receive[0] {
		t.Fatalf("restore says first address %v, addresses %v", ev["restored"]["firstReceiveAddress"], listed.Receive)
	}

	// Text output.
	text := filepath.Join(dir, "text.kloak")
	res = run(t, pw, "restore", "--wallet-file", text, "--network", "testnet", "--words-file", wf)
	if res.err != nil || !strings.Contains(res.stdout, "Restored wallet "+text+" (testnet, account 0).") ||
		!strings.Contains(res.stdout, "First receive address: "+listed.Receive[0]) {
		t.Fatalf("restore: %v\n%s%s", res.err, res.stdout, res.stderr)
	}
}

func TestRestoreErrors(t *testing.T) {
	dir := t.TempDir()
	pw := ptr("pw")
	good := writeFile(t, "m", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about")
	existing := filepath.Join(dir, "existing.kloak")
	if err := os.WriteFile(existing, []byte("not mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		pw   *string
		args []string
		want string
	}{
		{"existing file", pw, []string{"--wallet-file", existing, "--words-file", good}, "already exists"},
		{"bad checksum", pw, []string{"--wallet-file", filepath.Join(dir, "a"), "--words-file", writeFile(t, "m", strings.Repeat("abandon ", 12))}, "checksum"},
		{"unknown word", pw, []string{"--wallet-file", filepath.Join(dir, "b"), "--words-file", writeFile(t, "m", strings.Repeat("abandon ", 11)+"bitcoin")}, "word 12 of 12"},
		{"missing words file", pw, []string{"--wallet-file", filepath.Join(dir, "c"), "--words-file", filepath.Join(dir, "none")}, "no such file"},
		{"no terminal for the words", pw, []string{"--wallet-file", filepath.Join(dir, "d")}, "--words-file"},
		{"no password", nil, []string{"--wallet-file", filepath.Join(dir, "e"), "--words-file", good}, passwordEnv},
		{"empty password", ptr(""), []string{"--wallet-file", filepath.Join(dir, "f"), "--words-file", good}, "must not be empty"},
		{"network", pw, []string{"--wallet-file", filepath.Join(dir, "g"), "--words-file", good, "--network", "moon"}, "unknown Kaspa network"},
		{"no wallet file", pw, []string{"--words-file", good}, `"wallet-file" not set`},
	} {
		res := run(t, tt.pw, append([]string{"restore"}, tt.args...)...)
		if clitest.ExitCode(res.err) != 1 || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q, want it to mention %q", tt.name, clitest.ExitCode(res.err), res.stderr, tt.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed restores left %d files", len(entries)-1)
	}
	if b, _ := os.ReadFile(existing); string(b) != "not mine" {
		t.Error("restore changed an existing file")
	}
}

// TestSendChecksBeforePassword: send refuses bad arguments, and refuses to
// run unattended without --yes, before it asks for the password or talks
// to a node (none runs here).
func TestSendChecksBeforePassword(t *testing.T) {
	wf := filepath.Join(t.TempDir(), "none.kloak") // never opened
	to := "kaspadev:qqd6e65yefepe9wk0m9vuxdufxd80sphy67gwwd0vdaumzdt4tc9sa7wfdavm"
	base := []string{"send", "--wallet-file", wf, "--kaspad", "127.0.0.1:1"}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no --yes without a terminal", []string{"--to", to, "--amount", "1"}, "not a terminal to confirm the payment: use --yes"},
		{"amount", []string{"--to", to, "--amount", "1.123456789", "--yes"}, "--amount"},
		{"negative amount", []string{"--to", to, "--amount", "-1", "--yes"}, "--amount"},
		{"malformed address", []string{"--to", "kaspadev:qqd6e65yefepe9wk0m9vuxdufxd80sphy67gwwd0vdaumzdt4tc9sa7wfdavn", "--amount", "1", "--yes"}, "checksum"},
		{"unknown address prefix", []string{"--to", "bitcoin:qqd6e65yefepe9wk0m9vuxdufxd80sphy67gwwd0vdaumzdt4tc9sa7wfdavm", "--amount", "1", "--yes"}, "--to"},
		{"fee rate", []string{"--to", to, "--amount", "1", "--feerate", "fast", "--yes"}, "--feerate"},
		{"no recipient", []string{"--amount", "1", "--yes"}, `"to" not set`},
	} {
		res := run(t, nil, append(base, tt.args...)...)
		if clitest.ExitCode(res.err) != 1 || !strings.Contains(res.stderr, tt.want) || strings.Contains(res.stderr, passwordEnv) {
			t.Errorf("%s: exit %d, stderr %q, want it to mention %q (and not the password)", tt.name, clitest.ExitCode(res.err), res.stderr, tt.want)
		}
	}
}

// TestPayChecksBeforePairing: pay without --yes and without a terminal
// stops before it opens the wallet, dials the node or pairs at the relay
// (none runs here), instead of after the receiver has signed.
func TestPayChecksBeforePairing(t *testing.T) {
	wf := filepath.Join(t.TempDir(), "none.kloak") // never opened
	uri := "kaspadev:qqd6e65yefepe9wk0m9vuxdufxd80sphy67gwwd0vdaumzdt4tc9sa7wfdavm?amount=1&payload=kpp&ws_url=ws://127.0.0.1:1/kpp&e2ee_key=7pb2L9CTBRzlHa2eyhF1L6bd1GPyB9jfLpZIF3mocPQ"
	res := run(t, nil, "pay", uri, "--wallet-file", wf, "--kaspad", "127.0.0.1:1")
	if clitest.ExitCode(res.err) != 1 || !strings.Contains(res.stderr, "not a terminal to confirm the payment: use --yes") || strings.Contains(res.stderr, passwordEnv) {
		t.Errorf("exit %d, stderr %q, want it to ask for --yes first", clitest.ExitCode(res.err), res.stderr)
	}
}

// TestWrongPasswordBeforeNode: balance and send open the wallet before they
// dial the node, so a wrong password is reported as such (no node runs).
func TestWrongPasswordBeforeNode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.kloak")
	createWallet(t, ptr("right"), path, "devnet")
	for _, args := range [][]string{
		{"balance", "--wallet-file", path, "--kaspad", "127.0.0.1:1"},
		{"balance", "--wallet-file", path, "--kaspad", "127.0.0.1:1", "--json"},
		{"send", "--wallet-file", path, "--kaspad", "127.0.0.1:1", "--to", "kaspadev:qqd6e65yefepe9wk0m9vuxdufxd80sphy67gwwd0vdaumzdt4tc9sa7wfdavm", "--amount", "1", "--yes"},
	} {
		res := run(t, ptr("wrong"), args...)
		if clitest.ExitCode(res.err) != 1 || !strings.Contains(res.stderr, "wrong password") || res.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, clitest.ExitCode(res.err), res.stdout, res.stderr)
		}
	}
}
