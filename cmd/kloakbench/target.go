//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kloakprotocol/kloak/relay"
)

// target is the relay under load: in this process, a child process
// (kloakbench serve), or one already running on loopback.
type target struct {
	url     string        // ws://127.0.0.1:PORT/kpp
	what    string        // for the report
	srv     *relay.Server // in-process only
	pid     int           // the relay's process, 0 if unknown
	control string        // http://127.0.0.1:PORT of a kloakbench serve, "" if none
	stop    func() error
}

// childEnv marks a child started by kloakbench (so that a test binary
// knows to run main).
const childEnv = "KLOAKBENCH_CHILD"

// startTarget starts or finds the relay that spec names: "" (in this
// process), "spawn" (a child kloakbench serve) or a ws:// URL on loopback.
func startTarget(ctx context.Context, spec string, o relayOptions, cpuProfile string, stderr io.Writer) (*target, error) {
	switch spec {
	case "":
		srv, err := o.newRelay(stderr)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		hs := &http.Server{Handler: benchMux(srv), ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		t := &target{url: "ws://" + ln.Addr().String() + relay.Path, what: "in-process relay", srv: srv, pid: os.Getpid()}
		t.stop = func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			return errors.Join(srv.Shutdown(sctx), hs.Shutdown(sctx))
		}
		return t, nil
	case "spawn":
		return spawnRelay(ctx, o, cpuProfile, stderr)
	default:
		if err := checkLoopbackURL(spec); err != nil {
			return nil, err
		}
		t := &target{url: spec, what: "relay at " + spec, stop: func() error { return nil }}
		u, _ := url.Parse(spec)
		t.control = "http://" + u.Host
		st, err := t.stats(ctx)
		if err != nil {
			t.control = "" // not a kloakbench serve (a kloaknode, say): no memory figures
		} else {
			t.pid = st.PID
		}
		return t, nil
	}
}

var listeningLine = regexp.MustCompile(`relay listening on (ws://\S+) pid (\d+)`)

// spawnRelay runs `kloakbench serve` as a child process and waits for its
// listening line.
func spawnRelay(ctx context.Context, o relayOptions, cpuProfile string, stderr io.Writer) (*target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen=127.0.0.1:0", "--max-duration=1h"}, o.args()...)
	if cpuProfile != "" {
		args = append(args, "--cpuprofile="+cpuProfile)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	t := &target{what: "relay in a child process (kloakbench serve)"}
	select {
	case line := <-lines:
		m := listeningLine.FindStringSubmatch(line)
		if m == nil {
			cmd.Process.Kill()
			return nil, fmt.Errorf("kloakbench serve said %q", line)
		}
		t.url = m[1]
		t.pid, _ = strconv.Atoi(m[2])
	case err := <-exited:
		return nil, fmt.Errorf("kloakbench serve exited: %v", err)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, errors.New("kloakbench serve did not start within 30 s")
	}
	u, _ := url.Parse(t.url)
	t.control = "http://" + u.Host
	t.stop = func() error {
		// Our own child, by its pid: SIGTERM shuts the relay down; it
		// exits within its 15 s shutdown bound.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			return errors.New("kloakbench serve did not stop within 30 s of SIGTERM; killed")
		}
	}
	return t, nil
}

// stats returns the relay's counters and memory.
func (t *target) stats(ctx context.Context) (processStats, error) {
	if t.srv != nil {
		return relayProcessStats(t.srv)
	}
	return t.call(ctx, http.MethodGet, "/bench/stats")
}

// freeOSMemory makes the relay process run debug.FreeOSMemory and
// returns its figures afterwards.
func (t *target) freeOSMemory(ctx context.Context) (processStats, error) {
	if t.srv != nil {
		return relayProcessStats(t.srv) // the caller calls debug.FreeOSMemory itself
	}
	return t.call(ctx, http.MethodPost, "/bench/free")
}

func (t *target) call(ctx context.Context, method, path string) (processStats, error) {
	if t.control == "" {
		return processStats{}, errors.New("the relay has no kloakbench control endpoint")
	}
	req, err := http.NewRequestWithContext(ctx, method, t.control+path, nil)
	if err != nil {
		return processStats{}, err
	}
	resp, err := controlClient.Do(req)
	if err != nil {
		return processStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return processStats{}, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	var st processStats
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// cpu returns the CPU time the relay's process has used.
func (t *target) cpu() (time.Duration, error) {
	if t.pid == 0 {
		return 0, errors.New("the relay's pid is unknown")
	}
	if t.pid == os.Getpid() {
		return readProcCPU("self")
	}
	return readProcCPU(strconv.Itoa(t.pid))
}

// memory returns the relay process's VmRSS and VmHWM, read from
// /proc/PID/status by this process.
func (t *target) memory() (procMemory, error) {
	if t.pid == 0 {
		return procMemory{}, errors.New("the relay's pid is unknown")
	}
	if t.pid == os.Getpid() {
		return readProcMemory("self")
	}
	return readProcMemory(strconv.Itoa(t.pid))
}

var controlClient = &http.Client{Timeout: 30 * time.Second}
