package devnet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaspanet/go-secp256k1"
	"github.com/kaspanet/kaspad/util"
)

// needDevnet skips a test that builds or runs kaspad under -short, except in CI: there such a
// test must run, and fail with the reason if it cannot.
func needDevnet(t *testing.T) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("builds and runs kaspad; skipped with -short outside CI")
	}
}

// devnetAddress returns a new Schnorr P2PK kaspadev: address, made with kaspad's own packages.
func devnetAddress(t *testing.T) string {
	t.Helper()
	key, err := secp256k1.GenerateSchnorrKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.SchnorrPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	ser, err := pub.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	addr, err := util.NewAddressPublicKey(ser[:], util.Bech32PrefixKaspaDev)
	if err != nil {
		t.Fatal(err)
	}
	return addr.String()
}

// pristineKaspad is the kaspad module directory in the module cache, unpatched.
func pristineKaspad(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", KaspadModule+"@"+KaspadVersion).Output()
	if err != nil {
		t.Fatalf("go mod download: %v", err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download gave %q (%v)", out, err)
	}
	return m.Dir
}

func TestPatchAppliesOnceAndOnlyToItsText(t *testing.T) {
	edits := buildEdits(false)
	root := t.TempDir()
	for _, e := range edits {
		if err := copyFile(filepath.Join(pristineKaspad(t), filepath.FromSlash(e.file)),
			mkdirFor(t, filepath.Join(root, filepath.FromSlash(e.file))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := applyEdits(root, edits); err != nil {
		t.Fatalf("patch on pristine kaspad %s: %v", KaspadVersion, err)
	}
	for _, e := range edits {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.file)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), e.new) || strings.Contains(string(b), e.old) {
			t.Errorf("%s: patch not applied as written", e.file)
		}
	}
	// Applied twice, the text is gone: a loud failure, not a silent no-op.
	if err := applyEdits(root, edits); !errors.Is(err, ErrPatchDoesNotApply) {
		t.Errorf("patch on patched source: got %v, want ErrPatchDoesNotApply", err)
	}
	if err := applyEdits(t.TempDir(), edits); !errors.Is(err, ErrPatchDoesNotApply) {
		t.Errorf("patch on missing file: got %v, want ErrPatchDoesNotApply", err)
	}
}

// checkEdited checks that the module copy at src carries edit e (or, if !applied, the text
// it replaces).
func checkEdited(t *testing.T, src string, e edit, applied bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(e.file)))
	if err != nil {
		t.Fatal(err)
	}
	hasNew, hasOld := strings.Contains(string(b), e.new), strings.Contains(string(b), e.old)
	if applied && (!hasNew || hasOld) {
		t.Errorf("%s in %s does not carry the edit", e.file, src)
	}
	if !applied && (hasNew || !hasOld) {
		t.Errorf("%s in %s is edited; want it as released", e.file, src)
	}
}

func mkdirFor(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBuildPatchedIsCached(t *testing.T) {
	needDevnet(t)
	ctx := context.Background()
	start := time.Now()
	b, err := Build(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Build: built=%v in %s (%s)", b.Built, time.Since(start).Round(time.Millisecond), b.Dir)
	if !b.Patched || filepath.Base(b.Dir) != cacheKey(false) {
		t.Errorf("got %+v, want the patched build under %s", b, cacheKey(false))
	}
	for _, e := range buildEdits(false) {
		checkEdited(t, b.Source, e, true)
	}
	gomod, err := os.ReadFile(filepath.Join(b.Dir, "src", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "replace "+KaspadModule+" => ./kaspad-patched") {
		t.Errorf("throw-away go.mod does not replace kaspad with the patched copy:\n%s", gomod)
	}

	start = time.Now()
	again, err := Build(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Build again: built=%v in %s", again.Built, time.Since(start).Round(time.Millisecond))
	if again.Built || again.Kaspad != b.Kaspad {
		t.Errorf("second Build: got %+v, want the cached %s", again, b.Kaspad)
	}
}

// TestBuildOnceUnderConcurrency builds the unpatched node in a fresh cache from three
// goroutines: the lock file must let exactly one of them build.
func TestBuildOnceUnderConcurrency(t *testing.T) {
	needDevnet(t)
	opts := Options{Unpatched: true, CacheDir: t.TempDir()}
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	results := make([]*Binaries, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = Build(ctx, opts) })
	}
	wg.Wait()
	t.Logf("3 concurrent Builds of the unpatched node in a fresh cache: %s", time.Since(start).Round(time.Millisecond))
	built := 0
	for i, b := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if b.Built {
			built++
		}
		if b.Kaspad != results[0].Kaspad {
			t.Errorf("Build %d: %s, Build 0: %s", i, b.Kaspad, results[0].Kaspad)
		}
	}
	if built != 1 {
		t.Errorf("%d of 3 concurrent Builds built, want 1", built)
	}
	b := results[0]
	if b.Patched || filepath.Base(b.Dir) != cacheKey(true) || cacheKey(true) == cacheKey(false) {
		t.Errorf("got %+v, want the unpatched build under its own key %s", b, cacheKey(true))
	}
	for _, e := range payloadPatch() {
		checkEdited(t, b.Source, e, false)
	}
	for _, e := range minerLogPatch() {
		checkEdited(t, b.Source, e, true)
	}
	left, _ := filepath.Glob(filepath.Join(opts.CacheDir, "*.build-*"))
	if len(left) > 0 {
		t.Errorf("build left temporary directories: %v", left)
	}
}

func TestNodeMinesSpendableCoins(t *testing.T) {
	needDevnet(t)
	goroutines := runtime.NumGoroutine()
	start := time.Now()
	n := Start(t, Options{})
	t.Logf("Start: %s (rpc %s, p2p %s, pid %d)", time.Since(start).Round(time.Millisecond), n.RPCAddress(), n.P2PAddress(), n.PID())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr := devnetAddress(t)
	start = time.Now()
	spendable, err := n.MineUntilSpendable(ctx, addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MineUntilSpendable: %d sompi spendable after %s", spendable, time.Since(start).Round(time.Millisecond))

	client, err := n.Client()
	if err != nil {
		t.Fatal(err)
	}
	bal, err := client.GetBalanceByAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Balance == 0 || bal.Balance < spendable {
		t.Errorf("GetBalanceByAddress: %d sompi, want > 0 and >= the %d spendable", bal.Balance, spendable)
	}
	before, err := client.GetBlockDAGInfo()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.MineBlocks(ctx, addr, 3); err != nil {
		t.Fatal(err)
	}
	after, err := client.GetBlockDAGInfo()
	if err != nil {
		t.Fatal(err)
	}
	if after.BlockCount < before.BlockCount+3 {
		t.Errorf("MineBlocks(3): block count %d -> %d", before.BlockCount, after.BlockCount)
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	// The programs keep their files in the node's directory, not in the real home's.
	for _, f := range []string{"kaspad.conf", "kaspaminer-1/kaspaminer.log", "kaspad/kaspa-devnet/logs/kaspad.log"} {
		if _, err := os.Stat(filepath.Join(n.Dir(), f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	miner, err := n.StartMiner(addr)
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{n.PID(), miner.PID()}
	// Close with the miner still running: it must stop both.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if running, err := pidRunning(pid); running || err != nil {
			t.Errorf("pid %d still running after Close (%v)", pid, err)
		}
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	waitGoroutines(t, goroutines)
}

// waitGoroutines fails the test unless the goroutine count falls back to want within 5 s
// (gRPC's goroutines end shortly after Close returns).
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left, want %d:\n%s", runtime.NumGoroutine(), want, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKaspadExitsWhenItsPortIsTaken checks what StartNode's retry relies on: kaspad exits, and
// says "address already in use", when its RPC port is taken.
func TestKaspadExitsWhenItsPortIsTaken(t *testing.T) {
	needDevnet(t)
	b, err := Build(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := startProcess("kaspad", filepath.Join(dir, "kaspad.log"), nil, append(os.Environ(), "HOME="+dir), b.Kaspad,
		"--devnet", "--appdir="+filepath.Join(dir, "kaspad"), "--configfile="+filepath.Join(dir, "kaspad.conf"),
		"--nodnsseed", "--outpeers=0",
		"--listen=127.0.0.1:"+strconv.Itoa(ports[0]), "--rpclisten="+taken.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_, _ = p.stop()
		t.Fatalf("kaspad kept running with its RPC port taken; log:\n%s", p.logTail())
	}
	if !strings.Contains(p.logTail(), "address already in use") {
		t.Errorf("kaspad's log does not say the address is in use:\n%s", p.logTail())
	}
	err = p.exitError(ErrNodeExited)
	if !errors.Is(err, ErrNodeExited) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("exit error: %v", err)
	}
}

// TestNodeDiesWithTestBinary kills a test binary that runs a node, as a test timeout would,
// without its cleanups: the kernel must take kaspad down with it (Pdeathsig, Linux only).
func TestNodeDiesWithTestBinary(t *testing.T) {
	needDevnet(t)
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux-only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNodeInChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "KLOAK_DEVNET_CHILD_DIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	pids := make(chan int, 1)
	go func() {
		var pid int
		r := bufio.NewScanner(out)
		for r.Scan() {
			if _, err := fmt.Sscanf(r.Text(), "kaspad pid %d", &pid); err == nil {
				pids <- pid
			}
		}
	}()
	var pid int
	select {
	case pid = <-pids:
	case <-time.After(time.Minute):
		t.Fatal("the child test binary did not start a node within a minute")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		running, err := pidRunning(pid)
		if err != nil {
			t.Fatal(err)
		}
		if !running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kaspad (pid %d) outlived its killed test binary by 10 s", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHelperNodeInChild runs only as TestNodeDiesWithTestBinary's child: it starts a node,
// prints kaspad's pid and waits to be killed.
func TestHelperNodeInChild(t *testing.T) {
	dir := os.Getenv("KLOAK_DEVNET_CHILD_DIR")
	if dir == "" {
		t.Skip("only runs as the child of TestNodeDiesWithTestBinary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := StartNode(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("kaspad pid %d\n", n.PID())
	<-ctx.Done() // killed long before
	_ = n.Close()
}
