//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli"
	"github.com/kloakprotocol/kloak/internal/cli/clitest"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
)

// terminal is kloaknode run in a pseudo-terminal: its standard input and
// output are the terminal, its standard error (the logs) apart.
type terminal struct {
	t      *testing.T
	cmd    *exec.Cmd
	tty    *os.File // the terminal's side the program has
	ptmx   *os.File // the side a person has
	mu     sync.Mutex
	screen strings.Builder // everything the terminal showed
	seen   int             // how much of screen expect has consumed
	logs   testkit.SyncBuffer
	exited chan error
}

// startTerminal starts kloaknode with args and env (added to a clean
// environment) in a new terminal; its standard error goes to the terminal
// too if stderrToo, else to term.logs.
func startTerminal(t *testing.T, env []string, stderrToo bool, args ...string) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 60, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, tty: tty, ptmx: ptmx, exited: make(chan error, 1)}
	term.cmd = exec.Command(kloaknode, args...)
	term.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TERM=xterm"}, env...)
	term.cmd.Stdin, term.cmd.Stdout, term.cmd.Stderr = tty, tty, &term.logs
	if stderrToo {
		term.cmd.Stderr = tty
	}
	// A session of its own with the terminal as its controlling terminal,
	// so that Ctrl+C typed there interrupts it, as in a shell.
	term.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := term.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { term.exited <- term.cmd.Wait() }()
	t.Cleanup(func() {
		if term.cmd.ProcessState == nil {
			term.cmd.Process.Kill()
			<-term.exited
		}
		if t.Failed() {
			t.Logf("terminal:\n%s\nlogs:\n%s", term.all(), term.logs.String())
		}
		ptmx.Close()
		tty.Close()
	})
	return term
}

func (term *terminal) all() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

// expect waits until the terminal shows re after what earlier calls
// consumed, consumes through the match and returns its submatches.
func (term *terminal) expect(re string) []string {
	term.t.Helper()
	pattern := regexp.MustCompile(re)
	deadline := time.Now().Add(60 * time.Second)
	for {
		term.mu.Lock()
		rest := term.screen.String()[term.seen:]
		loc := pattern.FindStringSubmatchIndex(rest)
		if loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = rest[loc[2*i]:loc[2*i+1]]
				}
			}
			term.seen += loc[1]
			term.mu.Unlock()
			return m
		}
		term.mu.Unlock()
		select {
		case err := <-term.exited:
			term.exited <- err
			// What it printed last may still be on its way.
			if exited := time.Now().Add(2 * time.Second); exited.Before(deadline) {
				deadline = exited
			}
		default:
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal did not show %q", re)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeLine types line and Enter, which a terminal sends as "\r".
func (term *terminal) typeLine(line string) {
	term.t.Helper()
	if _, err := term.ptmx.Write([]byte(line + "\r")); err != nil {
		term.t.Fatal(err)
	}
}

func (term *terminal) wait() int {
	term.t.Helper()
	return clitest.WaitExit(term.t, term.exited, 30*time.Second)
}

// echoOn reports whether the terminal echoes what is typed.
func (term *terminal) echoOn() bool {
	term.t.Helper()
	tio, err := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS)
	if err != nil {
		term.t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// TestConsoleOnDevnet drives the operator console as a person would, in a
// terminal, against a real kaspad: it creates the node wallet, looks
// around, funds the wallet by mining to the address fundaddr shows, sweeps
// the coins to another wallet and checks that they arrive, then stops the
// node with Ctrl+C. A second run is interrupted at the password prompt,
// which must leave the terminal echoing.
func TestConsoleOnDevnet(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("runs kaspad; skipped with -short outside CI")
	}
	kaspad, ctx, client := clitest.Devnet(t, devnet.Options{}, 3*time.Minute)

	walletPath := filepath.Join(t.TempDir(), "node.kloak")
	args := []string{"run", "--kaspad", kaspad.RPCAddress(), "--network", "devnet", "--ws-bind", "127.0.0.1", "--ws-port", "0",
		"--wallet-file", walletPath, "--coinbase-maturity", strconv.FormatUint(kaspad.SpendMaturity(), 10)}
	term := startTerminal(t, []string{"KLOAK_WALLET_PASSWORD=" + testPassword}, false, args...)

	term.expect(`WRITE DOWN THESE 24 WORDS`)
	term.expect(`Press Enter once the words are written down\. `)
	term.typeLine("")
	term.expect(`\n> $`)

	term.typeLine("help")
	term.expect(`Commands \(case does not matter\):`)
	term.expect(`sweep ADDRESS \[--reserve KAS\]`)
	term.expect(`Ctrl\+C stops the node\.\r\n> `)

	term.typeLine("Status")
	term.expect(`Version:   kloaknode \S+ \(KPP 1\.0\.0\)`)
	term.expect(`Relay:     ws://127\.0\.0\.1:\d+/kpp`)
	term.expect(`Network:   devnet`)
	term.expect(`kaspad:    ` + regexp.QuoteMeta(kaspad.RPCAddress()) + `, version 0\.12\.23, `)
	term.expect(`Pulses:    not configured`)
	term.expect(`Sessions:  0 connections, 0 receivers waiting, 0 senders waiting, 0 sessions bridged, 0 paired since start`)
	term.expect(`Balance:   0 KAS \(0 spendable, 0 maturing\)\r\n> `)

	term.typeLine("fundaddr")
	fund := term.expect(`Fund address: (kaspadev:[a-z0-9]+)\r\n`)[1]
	term.expect(`█+`)
	term.expect(`Send at least 2 KAS to it`)
	term.expect(`\n> `)
	if !slices.ContainsFunc(clitest.HandedOut(t, walletPath, testPassword).Change, func(a cli.Address) bool { return a.Address == fund }) {
		t.Fatalf("fund address %s is no change address of the node wallet (pulses spend only those)", fund)
	}

	// Fund the node: mine to its address until some coins are mature,
	// then mine elsewhere until all of them are.
	other := addressOn(t, address.Devnet, 40).String()
	if _, err := kaspad.MineUntilSpendable(ctx, fund, 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		all, err := client.Balance(ctx, clitest.Address(t, fund))
		if err != nil {
			t.Fatal(err)
		}
		spendable, err := kaspad.SpendableBalance(ctx, fund)
		if err != nil {
			t.Fatal(err)
		}
		if amount.Sompi(spendable) == all {
			break
		}
		if limit := 2 * kaspad.SpendMaturity(); uint64(i) == limit {
			t.Fatalf("coins mined to %s still maturing after %d blocks", fund, limit)
		}
		if err := kaspad.MineBlocks(ctx, other, 1); err != nil {
			t.Fatal(err)
		}
	}
	funded, err := client.Balance(ctx, clitest.Address(t, fund))
	if err != nil {
		t.Fatal(err)
	}

	term.typeLine("BALANCE")
	term.expect(`Spendable: ` + regexp.QuoteMeta(funded.KAS()) + ` KAS\r\n`)
	term.expect(`Maturing:  0 KAS`)
	term.expect(`Addresses with spendable funds: 1\r\n> `)

	term.typeLine("sessions")
	term.expect(`Connections:        0\r\nReceivers waiting:  0\r\nSenders waiting:    0 \(arrived before their receiver\)\r\nSessions bridged:   0\r\nPaired since start: 0\r\n> `)

	term.typeLine("pulse")
	term.expect(`Pulses are not configured on this node\.\r\n> `)

	dest := addressOn(t, address.Devnet, 41)
	term.typeLine("sweep " + dest.String())
	term.expect(`Spends \d+ of \d+ coins \(` + regexp.QuoteMeta(funded.KAS()) + ` KAS spendable\); fee [0-9.]+ KAS; 2 KAS stays in the node wallet\.`)
	swept := term.expect(`Sweep ([0-9.]+) KAS to ` + dest.String() + `\? \[y/N\] $`)[1]
	term.typeLine("y")
	txid := term.expect(`Sweep broadcast: ([0-9a-f]{64})\r\n> `)[1]
	if err := kaspad.MineBlocks(ctx, other, 1); err != nil {
		t.Fatal(err)
	}
	got, err := client.Balance(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if got.KAS() != swept {
		t.Fatalf("%s holds %s KAS after the sweep %s, want %s", dest, got.KAS(), txid, swept)
	}
	if left, _ := kaspad.SpendableBalance(ctx, fund); amount.Sompi(left) >= funded {
		t.Errorf("the fund address still holds %s KAS", amount.Sompi(left).KAS())
	}

	term.typeLine("frobnicate now")
	term.expect(`Unknown command\. Type 'help'\.\r\n> `)

	// Ctrl+C, typed: the terminal sends SIGINT.
	if _, err := term.ptmx.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	if code := term.wait(); code != 0 {
		t.Fatalf("exit status %d after Ctrl+C, want 0", code)
	}
	if !strings.Contains(term.logs.String(), "kloaknode: stopped") || !term.echoOn() {
		t.Fatalf("no clean stop: echo %v", term.echoOn())
	}

	// Ctrl+C at the password prompt, where echo is off, puts it back.
	term = startTerminal(t, nil, true, args...)
	term.expect(`Wallet password: $`)
	for i := 0; term.echoOn(); i++ { // echo goes off just after the prompt
		if i == 250 {
			t.Fatal("the password prompt echoes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.ptmx.Write([]byte{0x03})
	if code := term.wait(); code != 1 {
		t.Fatalf("exit status %d after Ctrl+C at the password prompt, want 1", code)
	}
	if !term.echoOn() {
		t.Fatal("Ctrl+C at the password prompt left the terminal without echo")
	}
	term.expect(`kloaknode: password prompt: interrupt`)
}
