package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli/clitest"
	"github.com/kloakprotocol/kloak/internal/devnet"
)

// TestExamples runs examples/receiver and examples/sender, the programs a
// wallet developer copies, against a real kaspad and a kloaknode relay.
func TestExamples(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"receiver", "sender"} {
		if err := clitest.Build("../examples/"+name, filepath.Join(dir, name)); err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
	}
	dev, ctx, client := clitest.Devnet(t, devnet.Options{}, 3*time.Minute)
	files := map[string]string{}
	for _, who := range []string{"receiver", "sender"} {
		w, f := newBank(t, ctx, dev, client, who)
		files[who] = w.Path()
		a, _ := f.FreshAddresses(ctx, 1)
		if _, err := dev.MineUntilSpendable(ctx, a[0].String(), 100*amount.SompiPerKAS); err != nil {
			t.Fatal(err)
		}
		w.Close() // the example opens it itself
	}
	_, minerFunds := newBank(t, ctx, dev, client, "miner")
	miner, _ := minerFunds.FreshAddresses(ctx, 1)
	if err := dev.MineBlocks(ctx, miner[0].String(), 40); err != nil {
		t.Fatal(err)
	}
	relayFile := filepath.Join(dir, "relay.kloak")
	nodeWallet(t, ctx, dev, relayFile)
	relay := startPulsingNode(t, dev, relayFile)

	env := append(os.Environ(), "KLOAK_WALLET_PASSWORD="+password)
	recv := exec.CommandContext(ctx, filepath.Join(dir, "receiver"), "-wallet", files["receiver"], "-kaspad", dev.RPCAddress(),
		"-relay", relay.url, "-amount", "4.2", "-coinbase-maturity", strconv.FormatUint(dev.SpendMaturity(), 10))
	recv.Env = env
	var recvErr strings.Builder
	recv.Stderr = &recvErr
	out, err := recv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatalf("receiver printed no URI: %s", recvErr.String())
	}
	uri := sc.Text()
	send := exec.CommandContext(ctx, filepath.Join(dir, "sender"), "-wallet", files["sender"], "-kaspad", dev.RPCAddress(), "-coinbase-maturity", strconv.FormatUint(dev.SpendMaturity(), 10), uri)
	send.Env = env
	txid, err := send.Output()
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	if err := recv.Wait(); err != nil {
		t.Fatalf("receiver: %v\n%s", err, recvErr.String())
	}
	if !strings.Contains(recvErr.String(), "received 4.2 KAS in "+strings.TrimSpace(string(txid))) {
		t.Fatalf("receiver said:\n%s", recvErr.String())
	}
}
