package wallet

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test: a child process saves a wallet in a loop and is killed
// with SIGKILL at a random moment, fifty times. The child is this test
// binary, run again with crashChildEnv set, so that it executes only
// TestCrashChild.

const (
	crashChildEnv  = "KLOAK_WALLET_CRASH_CHILD" // the wallet file the child saves
	crashPassword  = "crash test password"
	crashKills     = 50
	crashMaxDelay  = 40 * time.Millisecond
	crashChildWait = 10 * time.Second
)

// TestCrashChild is the child: it opens the wallet and reserves one
// receive address after another, printing each next index once
// ReserveReceive has returned (the save is on disk) until it is killed.
// Without crashChildEnv it does nothing.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("the child of TestSaveKilled")
	}
	w, err := Open(path, []byte(crashPassword))
	if err != nil {
		fmt.Printf("open: %v\n", err)
		os.Exit(3)
	}
	fmt.Printf("saved %d\n", w.NextReceiveIndex())
	for {
		if _, err := w.ReserveReceive(1); err != nil {
			fmt.Printf("reserve: %v\n", err)
			os.Exit(3)
		}
		fmt.Printf("saved %d\n", w.NextReceiveIndex())
	}
}

// TestSaveKilled: a process killed (SIGKILL) at a random moment while it
// saves its wallet over and over leaves a file that opens with the right
// password and holds either the last state the process reported saved or
// the one it was writing, never anything else and never a damaged file.
// It leaves at most one temporary file per kill, and the next Open
// removes it. (SIGKILL leaves the page cache intact: a power cut is
// covered by the fsyncs of writeFileAtomic, which this cannot test.)
func TestSaveKilled(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("starts 50 processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "wallet.kloak")
	w, err := Create(path, []byte(crashPassword), testMnemonic, CreateOptions{Scrypt: cheapScrypt})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var kills, temps int
	for run := range crashKills {
		before := openIndex(t, path)
		acked := runAndKill(t, exe, path, time.Duration(rng.Int64N(int64(crashMaxDelay))))
		if acked < before {
			t.Fatalf("run %d: the child reported index %d, below the %d it opened", run, acked, before)
		}
		// Before Open cleans up: at most the one temporary file of the
		// save the kill interrupted.
		left := tempFiles(t, path)
		if len(left) > 1 {
			t.Fatalf("run %d: %d temporary files after one kill: %v", run, len(left), left)
		}
		temps += len(left)
		got := openIndex(t, path)
		if got != acked && got != acked+1 {
			t.Fatalf("run %d: the file holds next index %d; the child had saved %d and was at most writing %d", run, got, acked, acked+1)
		}
		if left := tempFiles(t, path); len(left) != 0 {
			t.Fatalf("run %d: Open left temporary files %v", run, left)
		}
		kills++
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries after the last Open, want only the wallet", len(entries))
	}
	t.Logf("%d kills during saves: every file opened with the old or the new state; %d interrupted saves left a temporary file, each removed by the next Open; final next index %d",
		kills, temps, openIndex(t, path))
}

// runAndKill starts the child, lets it save for delay after its first
// save, kills it, and returns the last index it reported saved.
func runAndKill(t *testing.T, exe, path string, delay time.Duration) (acked uint32) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	kill := func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	parse := func(line string) uint32 {
		n, ok := strings.CutPrefix(line, "saved ")
		v, err := strconv.ParseUint(n, 10, 32)
		if !ok || err != nil {
			kill()
			t.Fatalf("child: %s", line)
		}
		return uint32(v)
	}
	select {
	case line, ok := <-lines:
		if !ok {
			kill()
			t.Fatal("the child ended before its first save")
		}
		acked = parse(line)
	case <-time.After(crashChildWait):
		kill()
		t.Fatal("the child did not start")
	}
	time.Sleep(delay)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	for line := range lines { // what it wrote before it died
		acked = parse(line)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child did not die of SIGKILL: %v", err)
	}
	return acked
}

// openIndex opens the wallet at path and returns its next receive index.
func openIndex(t *testing.T, path string) uint32 {
	t.Helper()
	w, err := Open(path, []byte(crashPassword))
	if err != nil {
		t.Fatalf("after a kill: %v", err)
	}
	defer w.Close()
	return w.NextReceiveIndex()
}

func tempFiles(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPrefix(path)+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
