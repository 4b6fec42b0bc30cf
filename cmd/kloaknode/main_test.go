package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/cli/clitest"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/kpp"
)

// kloaknode is the binary under test, built once by TestMain.
var kloaknode string

func TestMain(m *testing.M) {
	clitest.Main(m, clitest.Binary{Package: ".", Path: &kloaknode})
}

const testPassword = "node test password"

// proc is a running kloaknode.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr strings.Builder
	url    chan string // the relay's ws:// URL, from the listening line
	exited chan error
}

var listening = regexp.MustCompile(`^kloaknode: relay listening on (ws://\S+/kpp)$`)

// start runs kloaknode with args and env (added to a clean environment
// holding only PATH and HOME).
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, url: make(chan string, 1), exited: make(chan error, 1)}
	p.cmd = exec.Command(kloaknode, args...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	p.cmd.Stdout = &p.stdout
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				p.url <- m[1]
			}
			var rec struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "kloaknode: relay listening" {
				p.url <- rec.URL
			}
		}
	}()
	go func() {
		<-scanned
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("kloaknode stderr:\n%s", p.errors())
		}
	})
	return p
}

func (p *proc) errors() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitListening returns the relay's URL once kloaknode prints it.
func (p *proc) waitListening() string {
	p.t.Helper()
	select {
	case u := <-p.url:
		return u
	case err := <-p.exited:
		p.exited <- err
		p.t.Fatalf("kloaknode exited (%v) before listening:\n%s", err, p.errors())
	case <-time.After(60 * time.Second):
		p.t.Fatalf("kloaknode did not start listening:\n%s", p.errors())
	}
	return ""
}

// wait waits for kloaknode to exit and returns its exit status.
func (p *proc) wait() int {
	p.t.Helper()
	return clitest.WaitExit(p.t, p.exited, 30*time.Second)
}

// pair connects a receiver and a sender through the relay at url and
// returns the dust_address message the sender gets.
func pair(t *testing.T, url string) kpp.FeeAddress {
	t.Helper()
	key, err := kpp.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	dust, _ := pairWith(t, url, key)
	return dust
}

// pairWith is pair with the session key given; it also returns the
// receiver's blob.
func pairWith(t *testing.T, url string, key kpp.Key) (kpp.FeeAddress, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := key.SessionID()
	recv, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.CloseNow()
	blob, _ := kpp.Seal(key, []byte(`{"utxo": {}, "address_1": "a", "address_2": "b", "amount": 1.0}`), nil)
	for _, m := range []string{`{"role": "receiver", "session_id": "` + id + `"}`, blob} {
		if err := recv.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	// The relay registers the receiver after reading its blob; a sender
	// that came first would find none. Retry briefly, as a wallet would.
	var send *websocket.Conn
	var first []byte
	for try := 0; ; try++ {
		send, _, err = websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := send.Write(ctx, websocket.MessageText, []byte(`{"role": "sender", "session_id": "`+id+`"}`)); err != nil {
			t.Fatal(err)
		}
		if _, first, err = send.Read(ctx); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(first, []byte(kpp.ErrTextNoReceiver)) || try == 50 {
			break
		}
		send.CloseNow()
		time.Sleep(20 * time.Millisecond)
	}
	defer send.CloseNow()
	var dust kpp.FeeAddress
	if err := json.Unmarshal(first, &dust); err != nil || dust.Type != kpp.MsgFeeAddress {
		t.Fatalf("sender's first message %s", first)
	}
	if _, got, err := send.Read(ctx); err != nil || string(got) != blob {
		t.Fatalf("sender's second message %q, %v; want the blob", got, err)
	}
	// A round trip through the bridge.
	if err := send.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := recv.Read(ctx); err != nil || string(got) != "ping" {
		t.Fatalf("receiver got %q, %v", got, err)
	}
	send.Close(websocket.StatusNormalClosure, "")
	return dust, blob
}

// receiveAddress opens the wallet file and returns its receive address i,
// which it must have handed out, and its next receive index.
func receiveAddress(t *testing.T, path string, i uint32) (string, uint32) {
	t.Helper()
	list := clitest.HandedOut(t, path, testPassword).Receive
	if int(i) >= len(list) {
		t.Fatalf("receive address %d not handed out; next index %d", i, len(list))
	}
	return list[i].Address, uint32(len(list))
}

// TestDevnet runs kloaknode against a real kaspad.
func TestDevnet(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("runs kaspad; skipped with -short outside CI")
	}
	kaspad := devnet.Start(t, devnet.Options{})
	cacheDir := t.TempDir()
	walletPath := filepath.Join(cacheDir, walletFileName)
	base := []string{"--kaspad", kaspad.RPCAddress(), "--network", "devnet", "--ws-bind", "127.0.0.1"}

	t.Run("wrong network", func(t *testing.T) {
		p := start(t, []string{"KLOAK_WALLET_PASSWORD=" + testPassword}, "run", "--kaspad", kaspad.RPCAddress(), "--network", "mainnet", "--wallet-file", filepath.Join(t.TempDir(), "w"))
		if code := p.wait(); code != 1 {
			t.Fatalf("exit status %d, want 1", code)
		}
		if msg := p.errors(); !strings.Contains(msg, "runs kaspa-devnet, not kaspa-mainnet") {
			t.Fatalf("error does not name the networks:\n%s", msg)
		}
	})

	var first string
	t.Run("first run creates the wallet", func(t *testing.T) {
		// The default wallet file in KLOAK_NODE_CACHE_DIR; the port from
		// the environment (0: any free port).
		p := start(t, []string{"KLOAK_WALLET_PASSWORD=" + testPassword, "KLOAK_NODE_CACHE_DIR=" + cacheDir, "KLOAK_WS_PORT=0"}, append([]string{"run"}, base...)...)
		url := p.waitListening()
		dust := pair(t, url)
		if dust.Policy() != kpp.DefaultNodeFeePolicy || dust.FeeMin == nil || dust.FeeMax == nil {
			t.Errorf("fee policy %+v, want the defaults announced", dust.Policy())
		}
		a, err := address.Parse(dust.Address)
		if err != nil || a.Network() != address.Devnet {
			t.Fatalf("fee address %q (%v), want a kaspadev: address", dust.Address, err)
		}
		first = dust.Address
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(); code != 0 {
			t.Fatalf("exit status %d after SIGINT, want 0", code)
		}
		out := p.stdout.String()
		if !strings.Contains(out, "WRITE DOWN THESE 24 WORDS") || !regexp.MustCompile(`(?m)^ +1\. [a-z]+ +2\. `).MatchString(out) {
			t.Errorf("no mnemonic printed:\n%s", out)
		}
		want, next := receiveAddress(t, walletPath, 0)
		if first != want || next != 256 {
			t.Fatalf("fee address %s, next index %d; want receive address 0 %s and 256 reserved", first, next, want)
		}
	})
	if first == "" {
		t.FailNow()
	}

	t.Run("restart hands out a fresh address", func(t *testing.T) {
		// --ws-port on the command line wins over KLOAK_WS_PORT (a port in
		// use); KLOAK_WALLET_FILE names the wallet; fee flags.
		taken := listen(t)
		p := start(t, []string{"KLOAK_WALLET_PASSWORD=" + testPassword, "KLOAK_WALLET_FILE=" + walletPath, "KLOAK_WS_PORT=" + port(taken)},
			append([]string{"run", "--ws-port", "0", "--fee-min", "0.5", "--fee-unit", "0.25", "--fee-max", "0"}, base...)...)
		dust := pair(t, p.waitListening())
		if dust.Address == first {
			t.Fatal("the restarted node handed out the same fee address")
		}
		if dust.Policy() != (kpp.FeePolicy{Min: 50_000_000, Unit: 25_000_000}) || dust.FeeMax != nil {
			t.Errorf("fee policy %+v, want 0.5 / 0.25 KAS tied to the payment (no fee_max)", dust.Policy())
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(); code != 0 {
			t.Fatalf("exit status %d after SIGTERM, want 0", code)
		}
		want, next := receiveAddress(t, walletPath, 256)
		if dust.Address != want || next != 512 {
			t.Fatalf("fee address %s, next index %d; want receive address 256 %s and 512 reserved", dust.Address, next, want)
		}
		if strings.Contains(p.stdout.String(), "WRITE DOWN") {
			t.Error("mnemonic printed again for an existing wallet")
		}
	})

	t.Run("shutdown tells a waiting receiver", func(t *testing.T) {
		p := start(t, []string{"KLOAK_WALLET_PASSWORD=" + testPassword}, append([]string{"run", "--ws-port", "0", "--wallet-file", walletPath}, base...)...)
		url := p.waitListening()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		recv, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer recv.CloseNow()
		recv.Write(ctx, websocket.MessageText, []byte(`{"role":"receiver","session_id":"`+strings.Repeat("ab", 32)+`"}`))
		recv.Write(ctx, websocket.MessageText, []byte("blob"))
		time.Sleep(100 * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGINT)
		_, msg, err := recv.Read(ctx)
		if err != nil || !strings.Contains(string(msg), `"error":"Node shutting down"`) {
			t.Fatalf("receiver got %q, %v; want the shutdown notice", msg, err)
		}
		if _, _, err := recv.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("receiver: %v, want close status 1001", err)
		}
		if code := p.wait(); code != 0 {
			t.Fatalf("exit status %d, want 0", code)
		}
	})

	t.Run("json logs hold no secrets", func(t *testing.T) {
		testJSONLogs(t, kaspad)
	})

	t.Run("port taken", func(t *testing.T) {
		taken := listen(t)
		p := start(t, []string{"KLOAK_WALLET_PASSWORD=" + testPassword}, append([]string{"run", "--ws-port", port(taken), "--wallet-file", walletPath}, base...)...)
		if code := p.wait(); code != 1 {
			t.Fatalf("exit status %d, want 1", code)
		}
		if msg := p.errors(); !strings.Contains(msg, "cannot listen on 127.0.0.1:"+port(taken)) || !strings.Contains(msg, "address already in use") {
			t.Fatalf("error does not say the port is taken:\n%s", msg)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		p := start(t, []string{"KLOAK_WALLET_PASSWORD=wrong"}, append([]string{"run", "--ws-port", "0", "--wallet-file", walletPath}, base...)...)
		if code := p.wait(); code != 1 {
			t.Fatalf("exit status %d, want 1", code)
		}
		if msg := p.errors(); !strings.Contains(msg, "wrong password") {
			t.Fatalf("error does not say the password is wrong:\n%s", msg)
		}
	})
}

// listen occupies a port on 127.0.0.1 for the test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func port(ln net.Listener) string {
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func TestKaspadUnreachable(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p := start(t, []string{"KLOAK_WALLET_PASSWORD=" + testPassword}, "run", "--kaspad", addr, "--wallet-file", filepath.Join(t.TempDir(), "w"))
	if code := p.wait(); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if msg := p.errors(); !strings.Contains(msg, "kloaknode: cannot reach kaspad at "+addr) {
		t.Fatalf("error does not say kaspad is unreachable:\n%s", msg)
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(kloaknode, "--version").CombinedOutput()
	if err != nil || !regexp.MustCompile(`^kloaknode \S+ \(KPP 1\.0\.0\)\n$`).Match(out) {
		t.Fatalf("--version: %q, %v", out, err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--network", "moonnet"}, "--network: unknown Kaspa network"},
		{[]string{"run", "--fee-min", "abc"}, "--fee-min"},
		{[]string{"run", "--fee-unit", "0"}, "--fee-unit must be more than 0"},
		{[]string{"run", "--fee-max", "0.1"}, "--fee-max 0.1 is under --fee-min 0.2"},
		{[]string{"run", "--ws-port", "70000"}, "not a port number"},
		{[]string{"run", "--log-level", "loud"}, "--log-level"},
		{[]string{"run", "--log-format", "xml"}, `--log-format "xml": want text or json`},
		{[]string{"wallet", "import-python", "--wallet-file", "x"}, `required flag(s) "python-wallet" not set`},
		{[]string{"wallet", "create", "--network", "moonnet"}, "--network: unknown Kaspa network"},
	} {
		p := start(t, nil, tc.args...)
		if code := p.wait(); code != 1 {
			t.Errorf("%v: exit status %d, want 1", tc.args, code)
		}
		if msg := p.errors(); !strings.Contains(msg, tc.want) {
			t.Errorf("%v: error %q does not contain %q", tc.args, msg, tc.want)
		}
	}
}

func TestEnvPortIgnoredUnlessDigits(t *testing.T) {
	o := runOptions{wsPort: 8765}
	var warn bytes.Buffer
	t.Setenv("KLOAK_WS_PORT", "80a")
	o.applyEnv(func(string) bool { return false }, &warn)
	if o.wsPort != 8765 || !strings.Contains(warn.String(), "ignoring KLOAK_WS_PORT") {
		t.Fatalf("port %d, warning %q", o.wsPort, warn.String())
	}
	t.Setenv("KLOAK_WS_PORT", "9000")
	o.applyEnv(func(string) bool { return false }, &warn)
	if o.wsPort != 9000 {
		t.Fatalf("port %d, want 9000 from the environment", o.wsPort)
	}
	o.wsPort = 1234
	t.Setenv("KLOAK_WS_PORT", "9001")
	o.applyEnv(func(f string) bool { return f == "ws-port" }, &warn)
	if o.wsPort != 1234 {
		t.Fatalf("port %d, want the command line's 1234", o.wsPort)
	}
}

func TestWalletPath(t *testing.T) {
	t.Setenv("KLOAK_NODE_CACHE_DIR", "")
	t.Setenv("KLOAK_CACHE_DIR", "/c")
	o := runOptions{}
	if p, _ := o.walletPath(); p != filepath.Join("/c", walletFileName) {
		t.Errorf("with KLOAK_CACHE_DIR: %s", p)
	}
	t.Setenv("KLOAK_NODE_CACHE_DIR", "/n")
	if p, _ := o.walletPath(); p != filepath.Join("/n", walletFileName) {
		t.Errorf("with KLOAK_NODE_CACHE_DIR: %s", p)
	}
	t.Setenv("KLOAK_NODE_CACHE_DIR", "")
	t.Setenv("KLOAK_CACHE_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", "/x")
	if p, _ := o.walletPath(); p != filepath.Join("/x", "kloaknode", walletFileName) {
		t.Errorf("default: %s", p)
	}
	o.walletFile = "/w"
	if p, _ := o.walletPath(); p != "/w" {
		t.Errorf("--wallet-file: %s", p)
	}
}

func TestSameNetwork(t *testing.T) {
	for _, tc := range []struct {
		kaspad string
		net    address.Network
		want   bool
	}{
		{"kaspa-mainnet", address.Mainnet, true},
		{"kaspa-testnet-10", address.Testnet, true},
		{"kaspa-testnet-11", address.Testnet, true},
		{"kaspa-devnet", address.Devnet, true},
		{"kaspa-simnet", address.Simnet, true},
		{"kaspa-devnet", address.Mainnet, false},
		{"kaspa-mainnetx", address.Mainnet, false},
		{"mainnet", address.Mainnet, false},
	} {
		if got := sameNetwork(tc.kaspad, tc.net); got != tc.want {
			t.Errorf("sameNetwork(%q, %v) = %v", tc.kaspad, tc.net, got)
		}
	}
}
