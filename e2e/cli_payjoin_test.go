package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli/clitest"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/wallet"
)

// bin holds the paths of the binaries under test, built by TestMain.
var bin = map[string]*string{"kloaknode": new(string), "kloakwallet": new(string)}

func TestMain(m *testing.M) {
	clitest.Main(m,
		clitest.Binary{Package: "../cmd/kloaknode", Path: bin["kloaknode"]},
		clitest.Binary{Package: "../cmd/kloakwallet", Path: bin["kloakwallet"]})
}

const password = "e2e password"

func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, *bin[name], args...)
	c.Env = append(os.Environ(), "KLOAK_WALLET_PASSWORD="+password)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGINT) }
	c.WaitDelay = 10 * time.Second
	return c
}

func runOK(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, err := command(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// jsonLines reads a command's --json output, one object per line, into ch.
func jsonLines(r io.Reader, ch chan<- map[string]any, log *strings.Builder) {
	defer close(ch)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			ch <- m
		}
	}
}

// TestCLIPayjoin is the payjoin as people do it from three terminals: a
// relay node (kloaknode run, its own process, its own wallet file), a
// receiver (kloakwallet receive) and a sender (kloakwallet pay), each with
// its own wallet file, against a real kaspad. The payjoin is accepted and
// mined; afterwards the receiver has +P, the sender −(P + F + network fee)
// and the node +F, exact to the sompi.
func TestCLIPayjoin(t *testing.T) {
	dev, ctx, client := clitest.Devnet(t, devnet.Options{}, 4*time.Minute)
	dir := t.TempDir()
	files := map[string]string{}
	for _, who := range []string{"receiver", "sender", "node"} {
		files[who] = filepath.Join(dir, who+".kloak")
	}
	for _, who := range []string{"receiver", "sender"} {
		runOK(t, ctx, "kloakwallet", "create", "--wallet-file", files[who], "--network", "devnet")
	}

	// The relay node, as its own process.
	url := startRelayNode(t, dev, files["node"], "--ws-port", "0").url

	// Fund both wallets by mining to their first receive address.
	for _, who := range []string{"receiver", "sender"} {
		var addrs struct{ Receive []string }
		out := runOK(t, ctx, "kloakwallet", "addresses", "--wallet-file", files[who], "--json")
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &addrs); err != nil || len(addrs.Receive) == 0 {
			t.Fatalf("addresses: %v\n%s", err, out)
		}
		if _, err := dev.MineUntilSpendable(ctx, addrs.Receive[0], 200*amount.SompiPerKAS); err != nil {
			t.Fatal(err)
		}
	}
	miner, _ := address.New(address.Devnet, address.PubKey, make([]byte, 32))
	before := settle(t, ctx, dev, client, miner, files)

	const p amount.Sompi = 25*amount.SompiPerKAS + 1 // 25.00000001 KAS
	common := []string{"--kaspad", dev.RPCAddress(), "--coinbase-maturity", strconv.FormatUint(dev.SpendMaturity(), 10), "--json"}
	recvCmd := command(ctx, "kloakwallet", append([]string{"receive", "--wallet-file", files["receiver"], "--amount", p.KAS(), "--relay", url}, common...)...)
	recvOut, err := recvCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var recvErr, recvLog strings.Builder
	recvCmd.Stderr = &recvErr
	if err := recvCmd.Start(); err != nil {
		t.Fatal(err)
	}
	events := make(chan map[string]any, 32)
	go jsonLines(recvOut, events, &recvLog)
	var uri string
	for ev := range events {
		if ev["event"] == "request" {
			uri = ev["uri"].(string)
			break
		}
	}
	if uri == "" {
		t.Fatalf("no payment request from kloakwallet receive:\n%s%s", recvLog.String(), recvErr.String())
	}
	t.Logf("payment request: %s", uri)

	payOut := runOK(t, ctx, "kloakwallet", append([]string{"pay", uri, "--wallet-file", files["sender"], "--yes"}, common...)...)
	payEvents := clitest.ByEvent(clitest.EventsAmong(payOut))
	quote, paid := payEvents["quote"], payEvents["done"]
	if quote == nil || paid == nil {
		t.Fatalf("pay output:\n%s", payOut)
	}
	var received map[string]any
	for ev := range events {
		if ev["event"] == "done" {
			received = ev
		}
	}
	if err := recvCmd.Wait(); err != nil || received == nil {
		t.Fatalf("receive: %v\n%s%s", err, recvLog.String(), recvErr.String())
	}
	if received["transactionId"] != paid["transactionId"] || received["received"] != p.KAS() {
		t.Fatalf("receiver says %v, sender %v", received, paid)
	}
	t.Logf("quote %v; transaction %v", quote, paid["transactionId"])

	if err := dev.MineBlocks(ctx, miner.String(), 2); err != nil {
		t.Fatal(err)
	}
	after := settle(t, ctx, dev, client, miner, files)
	nodeFee := clitest.KAS(t, quote["nodeFee"])
	networkFee := clitest.KAS(t, quote["networkFee"])
	if got := after["receiver"] - before["receiver"]; got != p {
		t.Errorf("receiver gained %d sompi, want %d", got, p)
	}
	if got, want := before["sender"]-after["sender"], p+nodeFee+networkFee; got != want || clitest.KAS(t, paid["debit"]) != want {
		t.Errorf("sender lost %d sompi (reported %v), want P + F + fee = %d", got, paid["debit"], want)
	}
	// kloaknode announces fee_min 0.2 and fee_max 0.3 KAS: the sender pays
	// a fee in that range whatever P is.
	if got := after["node"] - before["node"]; got != nodeFee || nodeFee < 20_000_000 || nodeFee > 30_000_000 {
		t.Errorf("node gained %d sompi, fee %d; want the fee, within 0.2–0.3 KAS", got, nodeFee)
	}
}

// settle mines to miner until the balances of the wallet files are stable
// and all mature, and returns them.
func settle(t *testing.T, ctx context.Context, dev *devnet.Node, client *node.Client, miner address.Address, files map[string]string) map[string]amount.Sompi {
	t.Helper()
	funds := map[string]*wallet.Funds{}
	for who, f := range files {
		w, err := wallet.Open(f, []byte(password))
		if err != nil {
			t.Fatal(fmt.Errorf("%s: %w", f, err))
		}
		defer w.Close()
		funds[who] = w.Funds(client, wallet.FundsOptions{CoinbaseMaturity: dev.SpendMaturity()})
	}
	var last map[string]amount.Sompi
	for i := 0; i < 60; i++ {
		if err := dev.MineBlocks(ctx, miner.String(), 1); err != nil {
			t.Fatal(err)
		}
		now := map[string]amount.Sompi{}
		settled := last != nil
		for who, f := range funds {
			b, err := f.Balances(ctx)
			if err != nil {
				t.Fatal(err)
			}
			now[who] = b.Spendable
			settled = settled && b.Maturing == 0 && last[who] == b.Spendable
		}
		if settled {
			return now
		}
		last = now
	}
	t.Fatal("balances still changing")
	return nil
}
