//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/metrics"
	rpprof "runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/relay"
)

// relayOptions configure the relay kloakbench runs (in-process or serve).
type relayOptions struct {
	maxConnections int
	maxPending     int
	senderWait     time.Duration
	keepMemory     bool
	logLevel       string
}

func (o *relayOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&o.maxConnections, "max-connections", 60_000, "relay MaxConnections; MaxConnectionsPerIP is set to the same, as all load comes from 127.0.0.1")
	f.IntVar(&o.maxPending, "max-pending", 0, "relay MaxPending (0: the relay's default)")
	f.DurationVar(&o.senderWait, "sender-wait", 0, "relay SenderWait (0: the relay's default; negative: senders are not held)")
	f.BoolVar(&o.keepMemory, "keep-memory", false, "relay KeepMemory: do not return memory to the OS after a burst")
	f.StringVar(&o.logLevel, "log-level", "info", "relay log level: debug, info, warn or error (to standard error)")
}

// args returns the flags that give a child `kloakbench serve` these options.
func (o *relayOptions) args() []string {
	return []string{
		fmt.Sprintf("--max-connections=%d", o.maxConnections),
		fmt.Sprintf("--max-pending=%d", o.maxPending),
		fmt.Sprintf("--sender-wait=%s", o.senderWait),
		fmt.Sprintf("--keep-memory=%t", o.keepMemory),
		"--log-level=" + o.logLevel,
	}
}

func (o *relayOptions) newRelay(stderr io.Writer) (*relay.Server, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", o.logLevel, err)
	}
	fee := benchFeeAddress
	return relay.New(relay.Config{
		// A node hands out a fresh wallet address per pairing; the bench
		// measures the relay, so its addresses cost nothing.
		FeeAddresses:        relay.FeeAddressFunc(func(context.Context) (address.Address, error) { return fee, nil }),
		MaxConnections:      o.maxConnections,
		MaxConnectionsPerIP: o.maxConnections,
		MaxPending:          o.maxPending,
		SenderWait:          o.senderWait,
		KeepMemory:          o.keepMemory,
		Logger:              slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
}

// serveOptions are the flags of kloakbench serve.
type serveOptions struct {
	relay       relayOptions
	listen      string
	maxDuration time.Duration
	cpuProfile  string
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run only the relay, on loopback, for a load run from another process",
		Long: `serve runs the relay alone, so that its memory and CPU can be measured apart
from the load client. It listens on --listen (a loopback address), prints

  kloakbench: relay listening on ws://127.0.0.1:PORT/kpp pid PID

on standard output, and serves until SIGINT or SIGTERM or --max-duration,
then shuts the relay down. Besides the relay at /kpp it answers, for the
load client on this machine:

  GET  /bench/stats   the relay's counters, its VmRSS and VmHWM, and Go
                      runtime memory figures, as JSON
  POST /bench/free    runtime/debug.FreeOSMemory (a GC, then every free
                      page returned to the OS), then the same JSON
  GET  /debug/pprof/  net/http/pprof`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	o.relay.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to listen on (port 0: any free port)")
	f.DurationVar(&o.maxDuration, "max-duration", 30*time.Minute, "stop by itself after this long")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the relay process to this file")
	return cmd
}

func serve(ctx context.Context, stdout, stderr io.Writer, o serveOptions) error {
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", o.listen, err)
	}
	if err := checkLoopbackHost(host, "--listen"); err != nil {
		return err
	}
	limit, err := raiseFileLimit(uint64(o.relay.maxConnections) + 1024)
	if err != nil {
		fmt.Fprintf(stderr, "kloakbench: raising RLIMIT_NOFILE: %v (limit %d)\n", err, limit)
	}
	srv, err := o.relay.newRelay(stderr)
	if err != nil {
		return err
	}
	stop, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: benchMux(srv), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "kloakbench: relay listening on ws://%s%s pid %d (RLIMIT_NOFILE %d)\n", ln.Addr(), relay.Path, os.Getpid(), limit)

	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer cancel()
	select {
	case <-ctx.Done():
	case <-time.After(o.maxDuration):
		fmt.Fprintf(stderr, "kloakbench: --max-duration %s reached\n", o.maxDuration)
	case err := <-served:
		return err
	}
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	err = errors.Join(srv.Shutdown(sctx), hs.Shutdown(sctx))
	return err
}

// benchMux serves the relay at relay.Path and the bench's control
// endpoints beside it.
func benchMux(srv *relay.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(relay.Path, srv)
	mux.HandleFunc("GET /bench/stats", func(w http.ResponseWriter, r *http.Request) {
		writeStats(w, srv)
	})
	mux.HandleFunc("POST /bench/free", func(w http.ResponseWriter, r *http.Request) {
		debug.FreeOSMemory()
		writeStats(w, srv)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func writeStats(w http.ResponseWriter, srv *relay.Server) {
	st, err := relayProcessStats(srv)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// processStats is what /bench/stats answers.
type processStats struct {
	PID     int           `json:"pid"`
	Relay   relay.Stats   `json:"relay"`
	Memory  procMemory    `json:"memory"`
	Runtime runtimeMemory `json:"runtime"`
}

// runtimeMemory are the Go runtime's own memory figures (runtime/metrics).
type runtimeMemory struct {
	HeapObjects  uint64 `json:"heap_objects"`  // bytes in live and not yet swept objects
	HeapFree     uint64 `json:"heap_free"`     // free, still mapped and resident
	HeapReleased uint64 `json:"heap_released"` // free and returned to the OS
	Stacks       uint64 `json:"stacks"`        // goroutine stacks
	Total        uint64 `json:"total"`         // all memory mapped by the runtime
	Goroutines   uint64 `json:"goroutines"`
	AllocBytes   uint64 `json:"alloc_bytes"`   // allocated since the process started
	AllocObjects uint64 `json:"alloc_objects"` // the same, in objects
	// Classes is every /memory/classes/ metric, for a closer look.
	Classes map[string]uint64 `json:"classes"`
}

func relayProcessStats(srv *relay.Server) (processStats, error) {
	mem, err := readProcMemory("self")
	if err != nil {
		return processStats{}, err
	}
	return processStats{PID: os.Getpid(), Relay: srv.Stats(), Memory: mem, Runtime: readRuntimeMemory()}, nil
}

func readRuntimeMemory() runtimeMemory {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/allocs:objects"},
	}
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	m := runtimeMemory{HeapObjects: v(0), HeapFree: v(1), HeapReleased: v(2), Stacks: v(3), Total: v(4), Goroutines: v(5), AllocBytes: v(6), AllocObjects: v(7), Classes: map[string]uint64{}}
	var all []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") {
			all = append(all, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(all)
	for _, s := range all {
		if s.Value.Kind() == metrics.KindUint64 {
			m.Classes[strings.TrimPrefix(s.Name, "/memory/classes/")] = s.Value.Uint64()
		}
	}
	return m
}

// startCPUProfile is pprof.StartCPUProfile to file, if file is set.
func startCPUProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := rpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { rpprof.StopCPUProfile(); f.Close() }, nil
}

// trimErr shortens an error text for a report line.
func trimErr(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
