package relay_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/relay"
)

// BenchmarkPendingReceiverMemory measures what a receiver waiting for its
// sender costs the relay: b.N receivers connect, send their handshake and
// a blob of a real offer's size, and wait. The receivers run in a child
// process (this test binary, TestHelperReceivers), so the figures are the
// relay's alone:
//
//	B/receiver      live heap and goroutine stacks (runtime/metrics, after a GC)
//	RSS-B/receiver  resident memory (/proc/self/status VmRSS)
//	kept-B/receiver what is still live once they have all left (after a GC)
//
// Run it with a fixed count, e.g. -benchtime 10000x: each run opens b.N
// connections (file descriptors: b.N in each process).
func BenchmarkPendingReceiverMemory(b *testing.B) {
	n := b.N
	if err := raiseFileLimit(uint64(n) + 512); err != nil {
		b.Skipf("%d receivers need %d file descriptors: %v", n, n+512, err)
	}
	r := benchRelay(b, relay.Config{MaxConnections: n + 100, MaxPending: n + 100})
	// A few sessions first, so that what any relay has after its first
	// sessions is in the baseline.
	msgs := newSessionMessages(b)
	for range 20 {
		if err := msgs.session(context.Background(), r.url); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, "warm-up connections gone", func() bool { return r.Stats().Connections == 0 })
	debug.FreeOSMemory()
	liveBefore, rssBefore := liveMemory(), residentMemory(b)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperReceivers$", "-test.v")
	cmd.Env = append(os.Environ(), "RELAY_HELPER_URL="+r.url, "RELAY_HELPER_N="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	b.ResetTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	if err := waitLine(out, "receivers ready", 5*time.Minute); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for r.Stats().Pending != n {
		if time.Now().After(deadline) {
			b.Fatalf("relay: %+v, want %d pending", r.Stats(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	rss := residentMemory(b)
	runtime.GC()
	live := liveMemory()
	if f, err := os.Create("/tmp/heap_waiting.pb.gz"); err == nil {
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	b.ReportMetric(float64(live-liveBefore)/float64(n), "B/receiver")
	b.ReportMetric(float64(rss-rssBefore)/float64(n), "RSS-B/receiver")

	stdin.Close() // the child closes its receivers and exits
	deadline = time.Now().Add(time.Minute)
	for s := r.Stats(); s.Connections != 0 || s.Pending != 0; s = r.Stats() {
		if time.Now().After(deadline) {
			b.Fatalf("relay after the receivers left: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	b.ReportMetric(max(0, float64(liveMemory())-float64(liveBefore))/float64(n), "kept-B/receiver")
}

// TestHelperReceivers is BenchmarkPendingReceiverMemory's child process:
// it opens RELAY_HELPER_N waiting receivers at RELAY_HELPER_URL, says so
// on standard output, and closes them when its standard input closes.
func TestHelperReceivers(t *testing.T) {
	url, ns := os.Getenv("RELAY_HELPER_URL"), os.Getenv("RELAY_HELPER_N")
	if url == "" {
		t.Skip("BenchmarkPendingReceiverMemory's child process")
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := raiseFileLimit(uint64(n) + 512); err != nil {
		t.Fatal(err)
	}
	blob := newSessionMessages(t).offer
	conns := make([]*websocket.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			ctx := context.Background()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				ws, _, err := websocket.Dial(ctx, url, nil)
				if err != nil {
					t.Errorf("receiver %d: %v", i, err)
					return
				}
				conns[i] = ws
				var id [32]byte
				rand.Read(id[:])
				if err := ws.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"role":"receiver","session_id":"%x"}`, id))); err != nil {
					t.Error(err)
					return
				}
				if err := ws.Write(ctx, websocket.MessageText, blob); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	fmt.Println("receivers ready")
	io.Copy(io.Discard, os.Stdin)
	next.Store(0)
	for range 32 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				conns[i].Close(websocket.StatusNormalClosure, "")
			}
		})
	}
	wg.Wait()
}

func waitLine(r io.Reader, want string, timeout time.Duration) error {
	found := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				found <- nil
				io.Copy(io.Discard, r)
				return
			}
		}
		found <- fmt.Errorf("child process ended without %q", want)
	}()
	select {
	case err := <-found:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no %q within %s", want, timeout)
	}
}

// liveMemory is the bytes of live heap objects and goroutine stacks.
func liveMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

func residentMemory(tb testing.TB) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// raiseFileLimit raises RLIMIT_NOFILE to want if it is lower (and the
// process may).
func raiseFileLimit(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= want {
		return nil
	}
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(lim.Max, want)})
}
