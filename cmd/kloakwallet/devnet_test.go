package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli/clitest"
	"github.com/kloakprotocol/kloak/internal/devnet"
)

var (
	pureGoOnce   sync.Once
	pureGoBinary string
	pureGoErr    error
)

// pureGoKloakwallet builds kloakwallet with CGO_ENABLED=0, which signs
// with internal/secp's pure Go secp256k1 instead of libsecp256k1.
func pureGoKloakwallet(t *testing.T) string {
	t.Helper()
	pureGoOnce.Do(func() {
		pureGoBinary = filepath.Join(filepath.Dir(kloakwallet), "kloakwallet-purego")
		pureGoErr = clitest.Build(".", pureGoBinary, "CGO_ENABLED=0")
	})
	if pureGoErr != nil {
		t.Fatalf("building kloakwallet with CGO_ENABLED=0: %v", pureGoErr)
	}
	return pureGoBinary
}

// walletState is what `balance --json` says.
type walletState struct {
	spendable, maturing amount.Sompi
	spending            amount.Sompi
	utxos               int
	nextReceive         int
	nextChange          int
}

func stateOf(t *testing.T, ev map[string]any) walletState {
	t.Helper()
	if ev == nil {
		t.Fatal("no balance event")
	}
	s := walletState{spendable: clitest.KAS(t, ev["spendable"]), maturing: clitest.KAS(t, ev["maturing"]),
		spending:    clitest.KAS(t, ev["spending"]),
		utxos:       int(ev["utxos"].(float64)),
		nextReceive: int(ev["nextReceiveIndex"].(float64)), nextChange: int(ev["nextChangeIndex"].(float64))}
	if uint64(s.spendable) != uint64(ev["spendableSompi"].(float64)) || uint64(s.maturing) != uint64(ev["maturingSompi"].(float64)) ||
		uint64(s.spending) != uint64(ev["spendingSompi"].(float64)) {
		t.Fatalf("KAS and sompi disagree: %v", ev)
	}
	return s
}

// TestWalletOnDevnet runs the binary against a real kaspad: create two
// wallets, mine to the first, its balance (maturing, then spendable), send
// to the second (JSON and text, the text one from the CGO_ENABLED=0 build
// so kaspad judges pure Go signatures too), a double spend the node
// refuses with its reason, exact balances after mining, restore from the
// first wallet's mnemonic finding the same balance, and the error paths
// that need a node.
func TestWalletOnDevnet(t *testing.T) {
	dev, ctx, client := clitest.Devnet(t, devnet.Options{}, 5*time.Minute)
	pw := ptr("devnet wallet password")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.kloak"), filepath.Join(dir, "b.kloak")
	words := createWallet(t, pw, a, "devnet")
	createWallet(t, pw, b, "devnet")
	nodeArgs := []string{"--kaspad", dev.RPCAddress(), "--coinbase-maturity", strconv.FormatUint(dev.SpendMaturity(), 10)}
	miner, _ := address.New(address.Devnet, address.PubKey, make([]byte, 32))

	bin := kloakwallet
	call := func(args ...string) result {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), passwordEnv + "=" + *pw}
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return result{out.String(), errOut.String(), err}
	}
	ok := func(args ...string) string {
		t.Helper()
		res := call(args...)
		if res.err != nil {
			t.Fatalf("kloakwallet %s: %v\n%s%s", strings.Join(args, " "), res.err, res.stdout, res.stderr)
		}
		return res.stdout
	}
	balance := func(file string) walletState {
		t.Helper()
		return stateOf(t, clitest.Events(t, ok(append([]string{"balance", "--wallet-file", file, "--json"}, nodeArgs...)...))["balance"])
	}
	firstAddress := func(file string) string {
		t.Helper()
		var l struct{ Receive []string }
		if err := json.Unmarshal([]byte(ok("addresses", "--wallet-file", file, "--json")), &l); err != nil {
			t.Fatal(err)
		}
		return l.Receive[0]
	}
	aAddr, bAddr := firstAddress(a), firstAddress(b)

	if s := balance(a); s != (walletState{}) {
		t.Fatalf("new wallet: %+v", s)
	}

	// Mine to a: its coins are maturing, then spendable.
	spendable, err := dev.MineUntilSpendable(ctx, aAddr, 300*amount.SompiPerKAS)
	if err != nil {
		t.Fatal(err)
	}
	total, err := client.Balance(ctx, clitest.Address(t, aAddr))
	if err != nil {
		t.Fatal(err)
	}
	s := balance(a)
	if uint64(s.spendable) != spendable || s.spendable+s.maturing != total || s.utxos == 0 {
		t.Fatalf("after mining: %+v; node: spendable %d of %d", s, spendable, total)
	}
	t.Logf("after mining: %+v", s)
	// Mining on elsewhere pays a's last blocks and then lets everything mature.
	for i := 0; ; i++ {
		if err := dev.MineBlocks(ctx, miner.String(), 4); err != nil {
			t.Fatal(err)
		}
		if s = balance(a); s.maturing == 0 && i > 3 {
			break
		}
		if i == 20 {
			t.Fatalf("still maturing: %+v", s)
		}
	}
	if total, _ = client.Balance(ctx, clitest.Address(t, aAddr)); s.spendable != total {
		t.Fatalf("mature: %+v, node %d", s, total)
	}
	text := ok(append([]string{"balance", "--wallet-file", a}, nodeArgs...)...)
	if !strings.Contains(text, "Spendable: "+s.spendable.String()+" in ") || !strings.Contains(text, "Maturing:  0 KAS") {
		t.Fatalf("balance text:\n%s", text)
	}
	before := s

	// Send from a to b (JSON).
	const pay1 amount.Sompi = 12*amount.SompiPerKAS + 34_567_891
	out := ok(append([]string{"send", "--wallet-file", a, "--to", bAddr, "--amount", pay1.KAS(), "--yes", "--json"}, nodeArgs...)...)
	ev := clitest.Events(t, out)
	quote, done := ev["quote"], ev["done"]
	if quote == nil || done == nil || quote["transactionId"] != done["transactionId"] || clitest.KAS(t, quote["amount"]) != pay1 || quote["to"] != bAddr {
		t.Fatalf("send --json:\n%s", out)
	}
	t.Logf("send --json:\n%s", out)
	fee1, change1 := clitest.KAS(t, quote["fee"]), clitest.KAS(t, quote["change"])
	if fee1 == 0 || clitest.KAS(t, quote["total"]) != pay1+fee1 || change1 == 0 {
		t.Fatalf("quote %v", quote)
	}

	// Before a block: balance shows the coins the payment spends as
	// spending, and the same payment again picks other coins, which the
	// node accepts (the UTXO index still lists the first one's).
	pending := balance(a)
	if pending.spending == 0 || pending.spendable+pending.spending != before.spendable {
		t.Fatalf("a with the payment in the mempool: %+v, was %+v", pending, before)
	}
	text = ok(append([]string{"balance", "--wallet-file", a}, nodeArgs...)...)
	if !strings.Contains(text, "Spending:  "+pending.spending.String()+" (coins of payments not yet in a block") {
		t.Fatalf("balance text with a payment in the mempool:\n%s", text)
	}
	out = ok(append([]string{"send", "--wallet-file", a, "--to", bAddr, "--amount", pay1.KAS(), "--yes", "--json"}, nodeArgs...)...)
	quote2 := clitest.Events(t, out)["quote"]
	if quote2 == nil || quote2["transactionId"] == quote["transactionId"] {
		t.Fatalf("second send before a block:\n%s", out)
	}
	fee1b := clitest.KAS(t, quote2["fee"])

	if err := dev.MineBlocks(ctx, miner.String(), 1); err != nil {
		t.Fatal(err)
	}
	if got := balance(b); got.spendable != 2*pay1 || got.maturing != 0 || got.utxos != 2 {
		t.Fatalf("b after the two payments: %+v, want %d", got, 2*pay1)
	}
	after := balance(a)
	// Change index 0 for the first payment, 1 for the second.
	if after.spendable != before.spendable-2*pay1-fee1-fee1b || after.nextChange != 2 || after.spending != 0 {
		t.Fatalf("a after paying %d twice with fees %d and %d: %+v, was %+v", pay1, fee1, fee1b, after, before)
	}

	// Send again, text, from the pure Go build, at a given fee rate.
	bin = pureGoKloakwallet(t)
	const pay2 amount.Sompi = 7 * amount.SompiPerKAS
	out = ok(append([]string{"send", "--wallet-file", a, "--to", bAddr, "--amount", pay2.KAS(), "--feerate", "2", "--yes"}, nodeArgs...)...)
	m := regexp.MustCompile(`(?m)^fee +(\S+) KAS \(2 sompi/gram\)$`).FindStringSubmatch(out)
	id := regexp.MustCompile(`Sent 7 KAS to ` + regexp.QuoteMeta(bAddr) + ` in transaction ([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil || id == nil || !strings.Contains(out, "Pay      7 KAS\n") || !strings.Contains(out, "change   ") {
		t.Fatalf("send text:\n%s", out)
	}
	t.Logf("send (CGO_ENABLED=0 build):\n%s", out)
	fee2 := clitest.KAS(t, m[1])
	bin = kloakwallet
	if err := dev.MineBlocks(ctx, miner.String(), 1); err != nil {
		t.Fatal(err)
	}
	if got := balance(b); got.spendable != 2*pay1+pay2 || got.utxos != 3 {
		t.Fatalf("b after three payments: %+v, want %d", got, 2*pay1+pay2)
	}
	final := balance(a)
	if final.spendable != after.spendable-pay2-fee2 || final.nextChange != 3 {
		t.Fatalf("a after paying %d with fee %d: %+v, was %+v", pay2, fee2, final, after)
	}

	// Restore a's mnemonic into new files: the same balance; receive 0 and
	// change 2 (the last payment's change) hold coins, so they and every
	// address before them are marked used.
	wf := writeFile(t, "words", words+"\n")
	restored := filepath.Join(dir, "restored.kloak")
	ev = clitest.Events(t, ok(append([]string{"restore", "--wallet-file", restored, "--network", "devnet", "--words-file", wf, "--json"}, nodeArgs...)...))
	if ev["restored"]["firstReceiveAddress"] != aAddr {
		t.Fatalf("restored %v, want first address %s", ev["restored"], aAddr)
	}
	if got := stateOf(t, ev["balance"]); got.spendable != final.spendable || got.maturing != 0 || got.utxos != final.utxos ||
		got.nextReceive != 1 || got.nextChange != 3 {
		t.Fatalf("restored: %+v, original %+v", got, final)
	}
	if got := balance(restored); got.spendable != final.spendable {
		t.Fatalf("balance of the restored file: %+v", got)
	}
	textRestore := ok(append([]string{"restore", "--wallet-file", filepath.Join(dir, "text.kloak"), "--network", "devnet", "--words-file", wf}, nodeArgs...)...)
	t.Logf("restore:\n%s", textRestore)
	if !strings.Contains(textRestore, "Spendable: "+final.spendable.String()) || !strings.Contains(textRestore, "First receive address: "+aAddr) {
		t.Fatalf("restore text:\n%s", textRestore)
	}

	// Error paths with a node.
	mainnetAddr := "kaspa:qqd6e65yefepe9wk0m9vuxdufxd80sphy67gwwd0vdaumzdt4tc9s3qt0lqeh"
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"address of another network", []string{"send", "--wallet-file", a, "--to", mainnetAddr, "--amount", "1", "--yes"}, "is a mainnet address, want devnet"},
		{"amount above the balance", []string{"send", "--wallet-file", a, "--to", bAddr, "--amount", (final.spendable + 1).KAS(), "--yes"}, "insufficient funds"},
		{"amount above the balance, JSON", []string{"send", "--wallet-file", a, "--to", bAddr, "--amount", "100000", "--yes", "--json"}, "insufficient funds"},
		{"dust", []string{"send", "--wallet-file", a, "--to", bAddr, "--amount", "0.00000001", "--yes"}, "breaks the network's rules"},
		{"no --yes without a terminal", []string{"send", "--wallet-file", a, "--to", bAddr, "--amount", "1"}, "use --yes"},
	} {
		res := call(append(tt.args, nodeArgs...)...)
		if clitest.ExitCode(res.err) != 1 || !strings.Contains(res.stderr, tt.want) || strings.Contains(res.stdout, `"done"`) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q, want %q", tt.name, clitest.ExitCode(res.err), res.stdout, res.stderr, tt.want)
		}
	}
	if res := call("balance", "--wallet-file", b, "--kaspad", "127.0.0.1:1"); clitest.ExitCode(res.err) != 1 {
		t.Errorf("no node: exit %d %q", clitest.ExitCode(res.err), res.stderr)
	}
	if got := balance(a); got != final {
		t.Fatalf("a changed after refused sends: %+v, was %+v", got, final)
	}
}
