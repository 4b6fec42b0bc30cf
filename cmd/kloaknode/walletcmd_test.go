package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/cli/clitest"
	"github.com/kloakprotocol/kloak/wallet"
)

// The Python node's wallet fixture (wallet/testdata/README.md): the
// mnemonic and the legacy addresses of its three keys, from
// wallet/testdata/kloak_legacy.json.
const (
	pythonFixture         = "../../wallet/testdata/python_wallet.enc"
	pythonFixturePassword = "kloak-v1-fixture-password"
	pythonFixtureMnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)

var pythonFixtureAddresses = []string{
	"kaspa:qptuunqxj5vlq9j4sdyfq0a7r3wgp697ymvym7cky3aaz7mfwtx47sraf8r5g",
	"kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea",
	"kaspa:qzs92alq9nmnl3sqa4h9kthq8sq85jhf5jd03cq6aguy7hczdhekc9tq02vc7",
}

// runCLI runs kloaknode to the end and returns what it printed; it fails
// the test unless the exit status is want.
func runCLI(t *testing.T, want int, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	p := start(t, env, args...)
	if code := p.wait(); code != want {
		t.Fatalf("kloaknode %s: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, p.stdout.String(), p.errors())
	}
	return p.stdout.String(), p.errors()
}

func TestWalletCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "node.kloak")
	env := []string{"KLOAK_WALLET_PASSWORD=" + testPassword}
	out, _ := runCLI(t, 0, env, "wallet", "create", "--wallet-file", path, "--network", "devnet")
	words := clitest.PrintedWords(out)
	if !strings.Contains(out, "WRITE DOWN THESE 24 WORDS") || len(words) != 24 {
		t.Fatalf("no 24-word mnemonic printed:\n%s", out)
	}
	w, err := wallet.Open(path, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	m, err := w.Mnemonic()
	w.Close()
	if err != nil || m != strings.Join(words, " ") || w.Network() != address.Devnet {
		t.Fatalf("wallet file: mnemonic %v (%v), network %v; want the printed words on devnet", m == strings.Join(words, " "), err, w.Network())
	}

	_, msg := runCLI(t, 1, env, "wallet", "create", "--wallet-file", path)
	if !strings.Contains(msg, "wallet file already exists; not replacing it") {
		t.Errorf("second create: %s", msg)
	}
	// The default file, as run's.
	dir := t.TempDir()
	runCLI(t, 0, append(env, "KLOAK_NODE_CACHE_DIR="+dir), "wallet", "create")
	if _, err := wallet.Open(filepath.Join(dir, walletFileName), []byte(testPassword)); err != nil {
		t.Fatalf("no wallet at the default path: %v", err)
	}
	_, msg = runCLI(t, 1, nil, "wallet", "create", "--wallet-file", filepath.Join(dir, "other"))
	if !strings.Contains(msg, "standard input is not a terminal to ask for the password: set KLOAK_WALLET_PASSWORD") {
		t.Errorf("create without a password: %s", msg)
	}
}

func TestWalletImportPython(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.kloak")
	env := []string{"KLOAK_WALLET_PASSWORD=" + testPassword, "KLOAK_PYTHON_WALLET_PASSWORD=" + pythonFixturePassword}

	_, msg := runCLI(t, 1, []string{"KLOAK_WALLET_PASSWORD=" + testPassword, "KLOAK_PYTHON_WALLET_PASSWORD=wrong"},
		"wallet", "import-python", "--python-wallet", pythonFixture, "--wallet-file", path)
	if !strings.Contains(msg, "python_wallet.enc: ") {
		t.Errorf("wrong Python password: %s", msg)
	}
	_, msg = runCLI(t, 1, []string{"KLOAK_WALLET_PASSWORD=" + testPassword},
		"wallet", "import-python", "--python-wallet", pythonFixture, "--wallet-file", path)
	if !strings.Contains(msg, "set KLOAK_PYTHON_WALLET_PASSWORD") {
		t.Errorf("no Python password: %s", msg)
	}

	out, _ := runCLI(t, 0, env, "wallet", "import-python", "--python-wallet", pythonFixture, "--wallet-file", path, "--network", "mainnet")
	seed, err := wallet.SeedFromMnemonic(pythonFixtureMnemonic, "")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := wallet.NewAccount(seed, 0, address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	first, err := acct.Receive(0)
	if err != nil {
		t.Fatal(err)
	}
	first.Zero()
	for _, want := range append([]string{
		"from the Python wallet's 12-word mnemonic",
		"with standard derivation m/44'/111111'/0' (first receive address " + first.Address.String() + ")",
		"Imported 3 legacy keys",
		"legacy  0    m/44'/111111'/0'/0/0     " + pythonFixtureAddresses[0] + " (node_primary, used)\n",
		"Their funds must be swept to a standard\n",
		"type  sweep --legacy ADDRESS  in its console.\n",
	}, pythonFixtureAddresses...) {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "abandon") {
		t.Error("import-python printed the mnemonic")
	}

	w, err := wallet.Open(path, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if m, _ := w.Mnemonic(); m != pythonFixtureMnemonic || w.Network() != address.Mainnet {
		t.Fatalf("new wallet: mnemonic %q, network %v", m, w.Network())
	}
	legacy, err := w.LegacyKeys()
	if err != nil || len(legacy) != 3 {
		t.Fatalf("%d legacy keys (%v), want 3", len(legacy), err)
	}
	for i, k := range legacy {
		if k.Address.String() != pythonFixtureAddresses[i] {
			t.Errorf("legacy key %d: %s, want %s", i, k.Address, pythonFixtureAddresses[i])
		}
	}

	// addresses lists the standard and the legacy addresses.
	out, _ = runCLI(t, 0, env, "wallet", "addresses", "--wallet-file", path, "--json")
	var list addressesJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if list.Network != "mainnet" || len(list.Receive) != 1 || list.Receive[0].Address != first.Address.String() ||
		len(list.Change) != 0 || len(list.Legacy) != 3 || list.Legacy[2].Address != pythonFixtureAddresses[2] || !list.Legacy[0].Used || list.Legacy[0].Purpose != "node_primary" {
		t.Fatalf("addresses --json:\n%s", out)
	}
	out, _ = runCLI(t, 0, env, "wallet", "addresses", "--wallet-file", path, "--receive", "2", "--change", "1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "receive 0    m/44'/111111'/0'/0/0 ") || !strings.HasPrefix(lines[2], "change  0    m/44'/111111'/0'/1/0 ") ||
		!strings.HasPrefix(lines[3], "legacy  0 ") {
		t.Fatalf("addresses:\n%s", out)
	}

	_, msg = runCLI(t, 1, env, "wallet", "import-python", "--python-wallet", pythonFixture, "--wallet-file", path)
	if !strings.Contains(msg, "already exists") {
		t.Errorf("import over an existing wallet: %s", msg)
	}
}
