//go:build linux

package testkit

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Freeze stops the process pid (SIGSTOP) and waits until the kernel shows
// it stopped. A frozen kaspad keeps its sockets open and the kernel still
// accepts connections, but nothing answers: what a hung or overloaded node
// looks like. The function Freeze returns resumes the process (SIGCONT)
// and waits until it runs; it is also run when the test ends, before the
// cleanups registered earlier (such as devnet.Start's, which stops the
// node), and does nothing the second time.
func Freeze(t testing.TB, pid int) (resume func()) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, true)
	done := false
	resume = func() {
		if done {
			return
		}
		done = true
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Error(err)
		}
		waitState(t, pid, false)
	}
	t.Cleanup(resume)
	return resume
}

// waitState waits until /proc shows pid stopped (state T) or not.
func waitState(t testing.TB, pid int, stopped bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// pid (comm) state ...: the state follows the last ')'.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) > 0 && (fields[0] == "T") == stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d: state %v, want stopped=%v", pid, fields[:1], stopped)
		}
		time.Sleep(time.Millisecond)
	}
}
