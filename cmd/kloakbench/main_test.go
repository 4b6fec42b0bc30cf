//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain runs main instead of the tests in a child started by
// kloakbench (--relay spawn runs os.Executable, here the test binary).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// run runs kloakbench with args and returns its standard output.
func run(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("kloakbench %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes()
}

func loadReportOf(t *testing.T, args ...string) loadReport {
	t.Helper()
	var rep loadReport
	out := run(t, append(args, "--json", "--log-level=warn")...)
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Failed != 0 || len(rep.Errors) != 0 {
		t.Errorf("%d sessions failed: %v %v", rep.Failed, rep.Errors, rep.ErrorExamples)
	}
	return rep
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"in-process", nil},
		{"sender first", []string{"--sender-first"}},
		{"paced", []string{"--rate=500"}},
		{"think", []string{"--think=2ms"}},
		{"relay refuses senders at once", []string{"--sender-wait=-1s", "--retry=5s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := loadReportOf(t, append([]string{"load", "--sessions=100", "--concurrency=10"}, tc.args...)...)
			if rep.Sessions != 100 {
				t.Errorf("%d sessions complete, want 100", rep.Sessions)
			}
			if rep.P50 <= 0 || rep.P99 < rep.P50 || rep.Max < rep.P99 {
				t.Errorf("latencies p50 %v, p99 %v, max %v", rep.P50, rep.P99, rep.Max)
			}
			if !rep.SameProcess || rep.RelayHWM == 0 {
				t.Errorf("memory: %+v", rep)
			}
			if len(rep.MessageSizes) != 5 || rep.MessageSizes[2] < 1000 {
				t.Errorf("sealed message sizes %v: want five, the proposal over 1,000 bytes", rep.MessageSizes)
			}
		})
	}
}

// TestLoadSpawn loads a relay in a child process, and reads that
// process's memory.
func TestLoadSpawn(t *testing.T) {
	rep := loadReportOf(t, "load", "--relay=spawn", "--sessions=100", "--concurrency=10")
	if rep.Sessions != 100 || rep.SameProcess || rep.RelayHWM == 0 || rep.RelayCPU <= 0 {
		t.Errorf("report: %+v", rep)
	}
}

func TestIdle(t *testing.T) {
	for _, relay := range []string{"spawn", ""} {
		t.Run("relay="+relay, func(t *testing.T) {
			var rep idleReport
			out := run(t, "idle", "--relay="+relay, "--receivers=50", "--settle=0s", "--trickle=20", "--json", "--log-level=warn")
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if rep.Receivers != 50 || rep.Waiting == 0 || rep.Left == 0 || rep.LeftFreed == 0 || rep.SameProcess != (relay == "") {
				t.Errorf("report: %+v", rep)
			}
		})
	}
}

// TestLoopbackOnly: kloakbench loads this machine only.
func TestLoopbackOnly(t *testing.T) {
	for url, ok := range map[string]bool{
		"ws://127.0.0.1:8765/kpp":   true,
		"ws://[::1]:8765/kpp":       true,
		"ws://127.0.0.2:8765/kpp":   true,
		"ws://localhost:8765/kpp":   false, // a name could resolve elsewhere
		"ws://example.com:8765/kpp": false,
		"ws://10.0.0.1:8765/kpp":    false,
		"ws://0.0.0.0:8765/kpp":     false,
		"wss://127.0.0.1:8765/kpp":  false,
		"http://127.0.0.1:8765/kpp": false,
	} {
		if err := checkLoopbackURL(url); (err == nil) != ok {
			t.Errorf("checkLoopbackURL(%q) = %v, want ok %v", url, err, ok)
		}
	}
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--listen=0.0.0.0:0"})
	cmd.SetOut(new(bytes.Buffer))
	cmd.SetErr(new(bytes.Buffer))
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("serve --listen=0.0.0.0:0: %v, want a refusal", err)
	}
}
