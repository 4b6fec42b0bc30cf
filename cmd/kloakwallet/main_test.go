package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/internal/cli/clitest"
)

// kloakwallet is the binary under test, built once by TestMain.
var kloakwallet string

func TestMain(m *testing.M) {
	clitest.Main(m, clitest.Binary{Package: ".", Path: &kloakwallet})
}

type result struct {
	stdout, stderr string
	err            error
}

// run runs the binary with args; password, if not nil, goes in
// KLOAK_WALLET_PASSWORD. Standard input is empty (not a terminal).
func run(t *testing.T, password *string, args ...string) result {
	t.Helper()
	cmd := exec.Command(kloakwallet, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	if password != nil {
		cmd.Env = append(cmd.Env, passwordEnv+"="+*password)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return result{out.String(), errOut.String(), err}
}

func ptr(s string) *string { return &s }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// derivationVectors is the part of wallet/testdata/derivation.json the
// CLI test uses: mnemonic -> address vectors from rusty-kaspa (Kaspa-NG's
// wallet core) and Go kaspawallet, each naming its source there.
type derivationVectors struct {
	Wallets []struct {
		Name       string
		Derivation string
		Mnemonic   *string
		Passphrase *string
		Network    string
		Account    uint32
		Receive    []struct {
			Index   int
			Address string
		}
	}
}

func TestDeriveMatchesKaspaWallets(t *testing.T) {
	b, err := os.ReadFile("../../wallet/testdata/derivation.json")
	if err != nil {
		t.Fatal(err)
	}
	var f derivationVectors
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, v := range f.Wallets {
		if v.Derivation != "bip44-standard" || v.Mnemonic == nil || len(v.Receive) == 0 || (v.Passphrase != nil && *v.Passphrase != "") {
			continue
		}
		n := 0
		for _, r := range v.Receive {
			n = max(n, r.Index+1)
		}
		mf := writeFile(t, "mnemonic.txt", *v.Mnemonic+"\n")
		res := run(t, nil, "derive", "--mnemonic-file", mf, "--network", v.Network,
			"--account", fmt.Sprint(v.Account), "--receive", fmt.Sprint(n), "--change", "2", "--json")
		if res.err != nil {
			t.Fatalf("%s: %v\n%s", v.Name, res.err, res.stderr)
		}
		var got struct{ Receive, Change []string }
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatalf("%s: output %q: %v", v.Name, res.stdout, err)
		}
		if len(got.Receive) != n || len(got.Change) != 2 {
			t.Fatalf("%s: %d receive, %d change addresses", v.Name, len(got.Receive), len(got.Change))
		}
		for _, r := range v.Receive {
			if got.Receive[r.Index] != r.Address {
				t.Errorf("%s: receive %d = %s, want %s", v.Name, r.Index, got.Receive[r.Index], r.Address)
			}
		}
		checked++
	}
	if checked < 2 {
		t.Fatalf("only %d mnemonic vectors checked", checked)
	}
}

func TestDeriveText(t *testing.T) {
	// rusty-kaspa address_test_by_ktrv: testnet receive address 1.
	mf := writeFile(t, "m", "hunt bitter praise lift buyer topic crane leopard uniform network inquiry over grain pass match crush marine strike doll relax fortune trumpet sunny silk")
	res := run(t, nil, "derive", "--mnemonic-file", mf, "--network", "testnet", "--receive", "2")
	if res.err != nil {
		t.Fatalf("%v\n%s", res.err, res.stderr)
	}
	want := "receive 1    m/44'/111111'/0'/0/1     kaspatest:qrc2959g0pqda53glnfd238cdnmk24zxzkj8n5x83rkktx4h73dkc4ave6wyg"
	if !strings.Contains(res.stdout, want) {
		t.Fatalf("output:\n%s\nwant a line %q", res.stdout, want)
	}
}

func TestDeriveErrors(t *testing.T) {
	good := writeFile(t, "m", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bad checksum", []string{"--mnemonic-file", writeFile(t, "m", strings.Repeat("abandon ", 12))}, "checksum"},
		{"unknown word", []string{"--mnemonic-file", writeFile(t, "m", strings.Repeat("abandon ", 11)+"bitcoin")}, "word 12 of 12"},
		{"word count", []string{"--mnemonic-file", writeFile(t, "m", "abandon about")}, "wrong number of words"},
		{"network", []string{"--mnemonic-file", good, "--network", "moon"}, "unknown Kaspa network"},
		{"missing file", []string{"--mnemonic-file", filepath.Join(t.TempDir(), "none")}, "no such file"},
		{"no flag", nil, `"mnemonic-file" not set`},
	} {
		res := run(t, nil, append([]string{"derive"}, tt.args...)...)
		if res.err == nil || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%s: err %v, stderr %q, want it to mention %q", tt.name, res.err, res.stderr, tt.want)
		}
	}
}

// TestCreateAddressesRoundTrip: create prints a mnemonic once; the wallet
// file lists the addresses derive gives for that mnemonic.
func TestCreateAddressesRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.kloak")
	pw := ptr("a good long password")
	res := run(t, pw, "create", "--wallet-file", path, "--network", "testnet", "--words", "12")
	if res.err != nil {
		t.Fatalf("create: %v\n%s", res.err, res.stderr)
	}
	created := res.stdout
	if !strings.Contains(res.stdout, "WRITE DOWN THESE 12 WORDS") {
		t.Errorf("create output lacks the warning:\n%s", res.stdout)
	}
	words := clitest.PrintedWords(res.stdout)
	if len(words) != 12 {
		t.Fatalf("found %d mnemonic words in:\n%s", len(words), res.stdout)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("wallet file mode %v", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte(words[0]+" "+words[1])) {
		t.Error("mnemonic in the wallet file in plaintext")
	}

	res = run(t, pw, "addresses", "--wallet-file", path, "--receive", "3", "--change", "2", "--json")
	if res.err != nil {
		t.Fatalf("addresses: %v\n%s", res.err, res.stderr)
	}
	mf := writeFile(t, "m", strings.Join(words, " "))
	want := run(t, nil, "derive", "--mnemonic-file", mf, "--network", "testnet", "--receive", "3", "--change", "2", "--json")
	if want.err != nil {
		t.Fatal(want.err, want.stderr)
	}
	if res.stdout != want.stdout {
		t.Fatalf("addresses:\n%s\nderive from the printed mnemonic:\n%s", res.stdout, want.stdout)
	}
	var listed struct{ Receive, Change []string }
	if err := json.Unmarshal([]byte(res.stdout), &listed); err != nil || len(listed.Receive) != 3 || len(listed.Change) != 2 {
		t.Fatalf("addresses output %q: %v", res.stdout, err)
	}
	if !strings.HasPrefix(listed.Receive[0], "kaspatest:") || !strings.Contains(created, "First receive address: "+listed.Receive[0]+"\n") {
		t.Fatalf("create said:\n%s\nbut receive 0 is %s", created, listed.Receive[0])
	}
	// Default listing: the first receive address.
	def := run(t, pw, "addresses", "--wallet-file", path)
	if def.err != nil || strings.Count(def.stdout, "\n") != 1 || !strings.HasPrefix(def.stdout, "receive 0") {
		t.Fatalf("default addresses: %v %q", def.err, def.stdout)
	}

	// Wrong password: a clear error, exit status 1.
	bad := run(t, ptr("a good long passworD"), "addresses", "--wallet-file", path)
	if code := clitest.ExitCode(bad.err); code != 1 || !strings.Contains(bad.stderr, "wrong password") {
		t.Fatalf("wrong password: exit %d, stderr %q", code, bad.stderr)
	}

	// No password source at all.
	none := run(t, nil, "addresses", "--wallet-file", path)
	if none.err == nil || !strings.Contains(none.stderr, passwordEnv) {
		t.Fatalf("no password: %v %q", none.err, none.stderr)
	}
}

func TestCreateRefusesExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.kloak")
	pw := ptr("pw")
	if res := run(t, pw, "create", "--wallet-file", path); res.err != nil {
		t.Fatalf("create: %v\n%s", res.err, res.stderr)
	}
	before, _ := os.ReadFile(path)
	res := run(t, pw, "create", "--wallet-file", path)
	if res.err == nil || !strings.Contains(res.stderr, "already exists") {
		t.Fatalf("second create: %v %q", res.err, res.stderr)
	}
	if strings.Contains(res.stdout, "WRITE DOWN") {
		t.Fatal("second create printed a mnemonic")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("existing wallet file changed")
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		pw   *string
		args []string
		want string
	}{
		{"empty password", ptr(""), []string{"--wallet-file", filepath.Join(dir, "a")}, "must not be empty"},
		{"no terminal", nil, []string{"--wallet-file", filepath.Join(dir, "b")}, passwordEnv},
		{"words", ptr("pw"), []string{"--wallet-file", filepath.Join(dir, "c"), "--words", "18"}, "12 or 24"},
		{"network", ptr("pw"), []string{"--wallet-file", filepath.Join(dir, "d"), "--network", "main"}, "unknown Kaspa network"},
	} {
		res := run(t, tt.pw, append([]string{"create"}, tt.args...)...)
		if res.err == nil || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%s: %v %q, want %q", tt.name, res.err, res.stderr, tt.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed creates left %d files", len(entries))
	}
}

func TestTxCommandWired(t *testing.T) {
	res := run(t, nil, "tx", "--help")
	if res.err != nil || !strings.Contains(res.stdout, "tx") {
		t.Fatalf("tx --help: %v %q", res.err, res.stdout)
	}
}
