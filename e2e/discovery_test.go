package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/discovery"
	"github.com/kloakprotocol/kloak/internal/cli/clitest"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// relayNode is a kloaknode run process.
type relayNode struct {
	url    string
	mu     sync.Mutex
	stderr strings.Builder
	stop   func()
}

func (r *relayNode) log() string { r.mu.Lock(); defer r.mu.Unlock(); return r.stderr.String() }

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPulsingNode runs kloaknode with walletFile (created if there is
// none, funded by nothing here), advertising its own loopback URL in
// pulses.
func startPulsingNode(t *testing.T, dev *devnet.Node, walletFile string) *relayNode {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	r := startRelayNode(t, dev, walletFile, "--ws-port", port, "--public-url", "ws://127.0.0.1:"+port+"/kpp",
		"--coinbase-maturity", strconv.FormatUint(dev.SpendMaturity(), 10))
	if want := "ws://127.0.0.1:" + port + "/kpp"; r.url != want {
		t.Fatalf("kloaknode listens on %s, want %s", r.url, want)
	}
	return r
}

// startRelayNode runs kloaknode run on devnet with walletFile and args
// added, and waits until it listens; t.Cleanup stops it.
func startRelayNode(t *testing.T, dev *devnet.Node, walletFile string, args ...string) *relayNode {
	t.Helper()
	// The process outlives the test's context: t.Cleanup stops it.
	cmd := command(context.Background(), "kloaknode", append([]string{"run", "--network", "devnet", "--kaspad", dev.RPCAddress(), "--wallet-file", walletFile,
		"--ws-bind", "127.0.0.1"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &relayNode{}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`relay listening on (ws://\S+)`)
		for sc.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case listening <- m[1]:
				default:
				}
			}
		}
	}()
	r.stop = func() {
		cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil {
			t.Errorf("kloaknode exit: %v\n%s", err, r.log())
		}
	}
	t.Cleanup(r.stop)
	select {
	case r.url = <-listening:
	case <-time.After(30 * time.Second):
		t.Fatalf("kloaknode did not start:\n%s", r.log())
	}
	return r
}

func newBank(t *testing.T, ctx context.Context, dev *devnet.Node, client *node.Client, name string) (*wallet.Wallet, *wallet.Funds) {
	t.Helper()
	m, _ := wallet.NewMnemonic(12)
	w, err := wallet.Create(filepath.Join(t.TempDir(), name+".kloak"), []byte(password), m,
		wallet.CreateOptions{Network: address.Devnet, Scrypt: wallet.ScryptParams{LogN: 4, R: 8, P: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, w.Funds(client, wallet.FundsOptions{CoinbaseMaturity: dev.SpendMaturity()})
}

// plant submits a 1-input, 1-output transaction carrying payload, paid by f.
func plant(t *testing.T, ctx context.Context, client *node.Client, f *wallet.Funds, payload []byte) txbuild.Hash {
	t.Helper()
	u, err := f.SelectUTXO(ctx, amount.SompiPerKAS)
	if err != nil {
		t.Fatal(err)
	}
	tx := &txbuild.Transaction{
		Inputs:  []txbuild.Input{{PreviousOutpoint: u.Outpoint, SigOpCount: 1, SignatureScript: make([]byte, 66)}},
		Outputs: []txbuild.Output{{Amount: u.Entry.Amount, ScriptPublicKey: u.Entry.ScriptPublicKey}},
		Payload: payload,
	}
	utxos := []txbuild.UTXOEntry{u.Entry}
	m, err := txbuild.CalcMasses(tx, utxos)
	if err != nil {
		t.Fatal(err)
	}
	tx.Outputs[0].Amount -= amount.Sompi(txbuild.PolicyFor(address.Devnet).RequiredFee(tx, m, txbuild.SompiPerGram(1)) + 1000)
	tx.Inputs[0].SignatureScript = nil
	if err := f.SignInput(ctx, tx, utxos, 0); err != nil {
		t.Fatal(err)
	}
	id, err := client.SubmitTransaction(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// nodeWallet creates a relay node's wallet file with kloaknode and mines to
// its first change address: a node pulses only with coins of its change
// chain (the console's fundaddr hands those out), never its relay fees.
func nodeWallet(t *testing.T, ctx context.Context, dev *devnet.Node, file string) {
	t.Helper()
	runOK(t, ctx, "kloaknode", "wallet", "create", "--wallet-file", file, "--network", "devnet")
	out := runOK(t, ctx, "kloaknode", "wallet", "addresses", "--wallet-file", file, "--change", "1", "--json")
	var addrs struct{ Change []struct{ Address string } }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &addrs); err != nil || len(addrs.Change) != 1 {
		t.Fatalf("addresses: %v\n%s", err, out)
	}
	if _, err := dev.MineUntilSpendable(ctx, addrs.Change[0].Address, 20*amount.SompiPerKAS); err != nil {
		t.Fatal(err)
	}
}

// scanUntil mines and scans until want relays show up.
func scanUntil(t *testing.T, ctx context.Context, dev *devnet.Node, client *node.Client, miner string, want int) []discovery.Pulse {
	t.Helper()
	var pulses []discovery.Pulse
	for range 40 {
		if err := dev.MineBlocks(ctx, miner, 1); err != nil {
			t.Fatal(err)
		}
		var err error
		pulses, err = discovery.Scan(ctx, client, discovery.ScanOptions{Window: 10 * time.Minute, AllowLocalURLs: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(pulses) >= want {
			return pulses
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d pulses found, want %d", len(pulses), want)
	return nil
}

// TestDiscoveryOnDevnet: two kloaknode run processes pulse; their pulses
// are mined; discovery.Scan finds both, ranked by block time, ignoring a
// malformed and a future-dated pulse planted beside them; discovery.Select
// picks a node by a real KPP handshake; and a wallet then completes a
// payjoin through the node it picked.
func TestDiscoveryOnDevnet(t *testing.T) {
	dev, ctx, client := clitest.Devnet(t, devnet.Options{}, 4*time.Minute)
	_, minerFunds := newBank(t, ctx, dev, client, "miner")
	minerAddr, _ := minerFunds.FreshAddresses(ctx, 1)
	miner := minerAddr[0].String()
	dir := t.TempDir()
	fileA, fileB := filepath.Join(dir, "a.kloak"), filepath.Join(dir, "b.kloak")
	nodeWallet(t, ctx, dev, fileA)
	nodeWallet(t, ctx, dev, fileB)
	_, bankFunds := newBank(t, ctx, dev, client, "bank")
	bankAddr, _ := bankFunds.FreshAddresses(ctx, 1)
	if _, err := dev.MineUntilSpendable(ctx, bankAddr[0].String(), 100*amount.SompiPerKAS); err != nil {
		t.Fatal(err)
	}
	// Let the node wallets' coins mature before the nodes pulse.
	if err := dev.MineBlocks(ctx, miner, int(dev.SpendMaturity())); err != nil {
		t.Fatal(err)
	}

	a := startPulsingNode(t, dev, fileA)
	first := scanUntil(t, ctx, dev, client, miner, 1)
	if first[0].WSURL != a.url {
		t.Fatalf("first pulse %+v, want %s", first[0], a.url)
	}
	b := startPulsingNode(t, dev, fileB)
	// A malformed and a future-dated pulse beside them.
	plant(t, ctx, client, bankFunds, []byte(`{"protocol": "kloak", "version": "1.0.0", "ws_url": "not a url", "timestamp": 1}`))
	if err := dev.MineBlocks(ctx, miner, 1); err != nil { // the bank's next coin must not be the one just spent
		t.Fatal(err)
	}
	future, err := discovery.NewPayload("ws://127.0.0.1:1/kpp", time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	plant(t, ctx, client, bankFunds, future.Encode())
	pulses := scanUntil(t, ctx, dev, client, miner, 2)
	if len(pulses) != 2 || pulses[0].WSURL != b.url || pulses[1].WSURL != a.url || pulses[0].BlockTime.Before(pulses[1].BlockTime) {
		for _, p := range pulses {
			t.Logf("pulse %s at %s", p.WSURL, p.BlockTime)
		}
		t.Fatalf("scan found %d pulses, want B then A", len(pulses))
	}
	for _, p := range pulses {
		if p.FeePolicy() != kpp.DefaultNodeFeePolicy {
			t.Errorf("%s announces %+v", p.WSURL, p.FeePolicy())
		}
	}

	sel, err := discovery.Select(ctx, pulses, discovery.SelectOptions{CacheFile: filepath.Join(dir, "node_cache.json")})
	if err != nil || (sel.URL != a.url && sel.URL != b.url) || sel.FromCache {
		t.Fatalf("select: %+v %v", sel, err)
	}
	t.Logf("selected %s in %v; probes %+v", sel.URL, sel.Latency, sel.Probes)

	// The same from the command line, as a person would.
	out := runOK(t, ctx, "kloakwallet", "nodes", "--kaspad", dev.RPCAddress(), "--network", "devnet", "--window", "10m",
		"--cache-file", filepath.Join(dir, "cli_cache.json"), "--json")
	var relays []string
	var picked string
	for _, m := range clitest.EventsAmong(out) {
		switch m["event"] {
		case "relay":
			relays = append(relays, m["url"].(string))
		case "selected":
			picked = m["url"].(string)
		}
	}
	if len(relays) != 2 || relays[0] != b.url || relays[1] != a.url || (picked != a.url && picked != b.url) {
		t.Fatalf("kloakwallet nodes listed %v, picked %q:\n%s", relays, picked, out)
	}

	// A payjoin through the relay it picked.
	_, recv := newBank(t, ctx, dev, client, "receiver")
	_, send := newBank(t, ctx, dev, client, "sender")
	for _, f := range []*wallet.Funds{recv, send} {
		ad, _ := f.FreshAddresses(ctx, 1)
		if _, err := dev.MineUntilSpendable(ctx, ad[0].String(), 100*amount.SompiPerKAS); err != nil {
			t.Fatal(err)
		}
	}
	if err := dev.MineBlocks(ctx, miner, int(dev.SpendMaturity())); err != nil {
		t.Fatal(err)
	}
	const p = 3 * amount.SompiPerKAS
	r, err := kpp.ReceiverInitiate(ctx, kpp.ReceiverConfig{Network: address.Devnet, RelayURL: sel.URL, Amount: p, Wallet: recv, Chain: client})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Wait(ctx); done <- err }()
	prop, err := kpp.SenderPrepare(ctx, r.URI(), kpp.SenderConfig{Network: address.Devnet, Wallet: send, Chain: client})
	if err != nil {
		t.Fatal(err)
	}
	res, err := prop.SignAndFinalize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := dev.MineBlocks(ctx, miner, 2); err != nil {
		t.Fatal(err)
	}
	if seen, err := client.TransactionSeen(ctx, res.TransactionID, r.PaymentRequest().Address); err != nil || !seen {
		t.Fatalf("payjoin through %s not on chain: %v %v", sel.URL, seen, err)
	}
}

// TestDiscoveryUnpatched: on kaspad as released (pre-Crescendo rules, no
// payloads on native transactions) a node says once, plainly, that it
// cannot pulse and keeps relaying, and a scan ends with an empty answer,
// not an error.
func TestDiscoveryUnpatched(t *testing.T) {
	dev, ctx, client := clitest.Devnet(t, devnet.Options{Unpatched: true}, 3*time.Minute)
	file := filepath.Join(t.TempDir(), "node.kloak")
	nodeWallet(t, ctx, dev, file)
	miner, _ := address.New(address.Devnet, address.PubKey, make([]byte, 32))
	if err := dev.MineBlocks(ctx, miner.String(), 40); err != nil {
		t.Fatal(err)
	}
	n := startPulsingNode(t, dev, file)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(n.log(), "refuses transaction payloads") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	lines := 0
	for _, l := range strings.Split(n.log(), "\n") {
		if strings.Contains(l, "refuses transaction payloads") {
			lines++
		}
	}
	if got := lines; got != 1 {
		t.Fatalf("refusal logged %d times:\n%s", got, n.log())
	}
	pulses, err := discovery.Scan(ctx, client, discovery.ScanOptions{Window: 10 * time.Minute, AllowLocalURLs: true})
	if err != nil || len(pulses) != 0 {
		t.Fatalf("scan: %v, %v", pulses, err)
	}
	// The relay still pairs wallets: a probe gets a KPP answer.
	if _, err := discovery.Probe(ctx, n.url, nil); err != nil {
		t.Fatalf("relay after the refusal: %v", err)
	}
}
