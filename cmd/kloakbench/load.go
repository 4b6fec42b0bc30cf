//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
)

// loadOptions are the flags of kloakbench load.
type loadOptions struct {
	relay          relayOptions
	target         string
	sessions       int
	concurrency    int
	duration       time.Duration
	rate           float64
	think          time.Duration
	senderFirst    bool
	retry          time.Duration
	sessionTimeout time.Duration
	cpuProfile     string
	client         string
	json           bool
}

func newLoadCmd() *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Run complete KPP sessions through a relay on loopback and measure them",
		Long: `load runs --sessions KPP sessions, --concurrency at a time, through a relay on
this machine, each as a receiver and a sender wallet would: the receiver
connects and leaves its sealed offer; the sender connects, gets the fee
address and the offer, and the two exchange the sealed sender data, a
2-input, 4-output transaction proposal, the receiver's signature and
broadcast_success; then both close. It stops after --sessions or
--duration, whichever comes first, and reports sessions per second, the
latency from the sender's connect to the last relayed message (p50, p99,
max), errors by kind, the relay process's peak RSS, its CPU time and heap
allocations a session, the client's CPU time, and the load average.

--relay "" runs the relay in this process (its RSS then includes the load
client); --relay spawn runs it as a child process (kloakbench serve) and
measures that process alone; --relay ws://127.0.0.1:PORT/kpp loads a relay
already running on loopback (any other host is refused).

--concurrency C keeps C sessions in flight (a closed loop: a session starts
when one ends), so latency grows with C once the CPUs are busy (Little's
law: latency ≈ C / throughput). --rate R starts at most R sessions a second
instead, to measure latency below saturation; --think D makes each wallet
pause about D before each answer, so that many sessions are open at once.
--client coder uses coder/websocket's client, as kpp's wallets do, instead
of kloakbench's lean one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	o.relay.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.target, "relay", "", `relay to load: "" (in this process), "spawn" (a child kloakbench serve) or ws://127.0.0.1:PORT/kpp`)
	f.IntVar(&o.sessions, "sessions", 20_000, "sessions to run in all")
	f.IntVar(&o.concurrency, "concurrency", 50, "sessions in flight at once")
	f.DurationVar(&o.duration, "duration", 60*time.Second, "stop starting sessions after this long")
	f.Float64Var(&o.rate, "rate", 0, "start at most this many sessions a second (0: as fast as they finish)")
	f.DurationVar(&o.think, "think", 0, "each wallet's pause before each of its answers, uniform in ±50 % around this (excluded from the latency)")
	f.BoolVar(&o.senderFirst, "sender-first", false, "connect the sender before the receiver (the relay holds it)")
	f.DurationVar(&o.retry, "retry", 3*time.Second, `keep asking a relay that answers "No matching receiver waiting" for this long, as kpp's sender does`)
	f.DurationVar(&o.sessionTimeout, "session-timeout", 30*time.Second, "give up on a session after this long")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the relay's process (this one, or the spawned child) to this file")
	f.StringVar(&o.client, "client", "raw", clientFlagHelp)
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	return cmd
}

// clientFlagHelp is the --client flag's help.
const clientFlagHelp = `the wallets' WebSocket client: "raw" (lean, RFC 6455 by hand: leaves the relay more CPU) or "coder" (coder/websocket over net/http, as kpp's wallets)`

// newWallets returns the load's wallets with the given client.
func newWallets(relayURL, client string, pt *plaintexts) (*wallets, error) {
	u, err := url.Parse(relayURL)
	if err != nil {
		return nil, err
	}
	switch client {
	case "raw":
		return &wallets{url: relayURL, u: u, raw: true, pt: pt}, nil
	case "coder":
		return &wallets{url: relayURL, u: u, http: newLoadHTTPClient(), pt: pt}, nil
	}
	return nil, fmt.Errorf(`--client %q: want "raw" or "coder"`, client)
}

// loadReport is what load measured.
type loadReport struct {
	Relay         string         `json:"relay"`
	Client        string         `json:"client"`
	Concurrency   int            `json:"concurrency"`
	Rate          float64        `json:"rate,omitempty"`
	Think         string         `json:"think,omitempty"`
	SenderFirst   bool           `json:"sender_first,omitempty"`
	Sessions      int            `json:"sessions"` // completed without error
	Failed        int            `json:"failed"`
	Retries       int            `json:"retries"`
	Elapsed       float64        `json:"elapsed_s"`
	PerSecond     float64        `json:"sessions_per_s"`
	P50           float64        `json:"p50_ms"`
	P99           float64        `json:"p99_ms"`
	Max           float64        `json:"max_ms"`
	Errors        map[string]int `json:"errors,omitempty"`
	ErrorExamples []string       `json:"error_examples,omitempty"`
	RelayHWM      uint64         `json:"relay_vm_hwm"` // peak RSS of the relay's process
	RelayRSS      uint64         `json:"relay_vm_rss"` // RSS at the end of the run
	SameProcess   bool           `json:"hwm_includes_client"`
	// CPU time used during the run (user and system, /proc/PID/stat) by
	// the relay's process (with the client, in-process) and by this one.
	RelayCPU float64 `json:"relay_cpu_s"`
	// Heap allocations of the relay's process a session (with the
	// client's, in-process): bytes and objects.
	RelayAllocBytes   float64 `json:"relay_alloc_bytes_per_session,omitempty"`
	RelayAllocObjects float64 `json:"relay_alloc_objects_per_session,omitempty"`
	ClientCPU         float64 `json:"client_cpu_s,omitempty"`
	LoadAvgStart      float64 `json:"loadavg_start"` // the machine's 1-minute load average
	LoadAvgEnd        float64 `json:"loadavg_end"`
	MessageSizes      []int   `json:"message_sizes"`
	FileLimit         uint64  `json:"rlimit_nofile"`
}

func runLoad(ctx context.Context, stdout, stderr io.Writer, o loadOptions) error {
	if o.sessions <= 0 || o.concurrency <= 0 || o.duration <= 0 {
		return errors.New("--sessions, --concurrency and --duration must be positive")
	}
	if _, err := newWallets("ws://127.0.0.1/kpp", o.client, nil); err != nil {
		return err
	}
	pt, err := newPlaintexts()
	if err != nil {
		return err
	}
	// Two connections per session in flight, and as many again on the
	// relay's side when it runs in this process.
	limit, err := raiseFileLimit(uint64(4*o.concurrency) + 1024)
	if err != nil {
		fmt.Fprintf(stderr, "kloakbench: raising RLIMIT_NOFILE: %v (limit %d)\n", err, limit)
	}
	var stopProfile func()
	if o.target == "" {
		if stopProfile, err = startCPUProfile(o.cpuProfile); err != nil {
			return err
		}
	}
	tgt, err := startTarget(ctx, o.target, o.relay, o.cpuProfile, stderr)
	if err != nil {
		if stopProfile != nil {
			stopProfile()
		}
		return err
	}
	w, err := newWallets(tgt.url, o.client, pt)
	if err != nil {
		tgt.stop()
		return err
	}
	w.think, w.senderFirst, w.retry = o.think, o.senderFirst, o.retry
	rep := loadReport{Relay: tgt.what, Client: o.client, Concurrency: o.concurrency, Rate: o.rate, SenderFirst: o.senderFirst, MessageSizes: pt.sealedSizes(), FileLimit: limit, SameProcess: tgt.srv != nil}
	if o.think > 0 {
		rep.Think = o.think.String()
	}

	rep.LoadAvgStart = loadAverage()
	relayCPU0, _ := tgt.cpu()
	selfCPU0, _ := readProcCPU("self")
	st0, st0Err := tgt.stats(ctx)
	res := runSessions(ctx, w, o)
	if st1, err := tgt.stats(ctx); err == nil && st0Err == nil {
		if n := float64(countComplete(res)); n > 0 {
			rep.RelayAllocBytes = float64(st1.Runtime.AllocBytes-st0.Runtime.AllocBytes) / n
			rep.RelayAllocObjects = float64(st1.Runtime.AllocObjects-st0.Runtime.AllocObjects) / n
		}
	}
	if relayCPU1, err := tgt.cpu(); err == nil {
		rep.RelayCPU = (relayCPU1 - relayCPU0).Seconds()
	}
	if selfCPU1, err := readProcCPU("self"); err == nil && tgt.srv == nil {
		rep.ClientCPU = (selfCPU1 - selfCPU0).Seconds()
	}
	rep.LoadAvgEnd = loadAverage()
	if stopProfile != nil {
		stopProfile()
	}
	mem, memErr := tgt.memory()
	if err := tgt.stop(); err != nil {
		fmt.Fprintf(stderr, "kloakbench: stopping the relay: %v\n", err)
	}
	rep.fill(res)
	if memErr == nil {
		rep.RelayHWM, rep.RelayRSS = mem.HWM, mem.RSS
	} else {
		fmt.Fprintf(stderr, "kloakbench: relay memory: %v\n", memErr)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.print(stdout)
	return nil
}

func countComplete(run sessionRun) int {
	n := 0
	for _, r := range run.results {
		if r.err == nil {
			n++
		}
	}
	return n
}

// newLoadHTTPClient is the wallets' HTTP client: no proxy (loopback only)
// and no limit on connections.
func newLoadHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: -1, DisableCompression: true}}
}

// sessionRun is every session's result and the wall time they took.
type sessionRun struct {
	results []sessionResult
	elapsed time.Duration
}

func runSessions(ctx context.Context, w *wallets, o loadOptions) sessionRun {
	var (
		started atomic.Int64
		mu      sync.Mutex
		all     = make([]sessionResult, 0, o.sessions)
		wg      sync.WaitGroup
	)
	begin := time.Now()
	deadline := begin.Add(o.duration)
	var tokens <-chan struct{}
	if o.rate > 0 {
		tokens = pace(ctx, o.rate, deadline)
	}
	for range o.concurrency {
		wg.Go(func() {
			var mine []sessionResult
			if o.think > 0 {
				time.Sleep(rand.N(3 * o.think)) // start out of step, as wallets do
			}
			for started.Add(1) <= int64(o.sessions) && time.Now().Before(deadline) {
				if tokens != nil {
					if _, ok := <-tokens; !ok {
						break
					}
				}
				sctx, cancel := context.WithTimeout(ctx, o.sessionTimeout)
				mine = append(mine, w.run(sctx))
				cancel()
				if ctx.Err() != nil {
					break
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return sessionRun{results: all, elapsed: time.Since(begin)}
}

// pace sends rate tokens a second until deadline.
func pace(ctx context.Context, rate float64, deadline time.Time) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		start := time.Now()
		for i := 0; ; i++ {
			at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if at.After(deadline) {
				return
			}
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			case <-time.After(time.Until(deadline)):
				return
			}
		}
	}()
	return ch
}

func (r *loadReport) fill(run sessionRun) {
	var lat []time.Duration
	for _, s := range run.results {
		r.Retries += s.retries
		if s.err != nil {
			r.Failed++
			k := errorKind(s.err)
			if r.Errors == nil {
				r.Errors = map[string]int{}
			}
			if r.Errors[k] == 0 && len(r.ErrorExamples) < 10 {
				r.ErrorExamples = append(r.ErrorExamples, trimErr(s.err.Error()))
			}
			r.Errors[k]++
			continue
		}
		lat = append(lat, s.latency)
	}
	r.Sessions = len(lat)
	r.Elapsed = run.elapsed.Seconds()
	if r.Elapsed > 0 {
		r.PerSecond = float64(r.Sessions) / r.Elapsed
	}
	slices.Sort(lat)
	r.P50, r.P99, r.Max = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99)), ms(percentile(lat, 1))
}

// percentile returns the q-quantile of sorted d (nearest rank).
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(q*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r *loadReport) print(w io.Writer) {
	fmt.Fprintf(w, "relay:        %s\n", r.Relay)
	fmt.Fprintf(w, "load:         %s client, concurrency %d", r.Client, r.Concurrency)
	if r.Rate > 0 {
		fmt.Fprintf(w, ", at most %.0f sessions/s", r.Rate)
	}
	if r.Think != "" {
		fmt.Fprintf(w, ", think %s", r.Think)
	}
	if r.SenderFirst {
		fmt.Fprint(w, ", sender first")
	}
	fmt.Fprintf(w, "; sealed message sizes %v bytes\n", r.MessageSizes)
	fmt.Fprintf(w, "sessions:     %d complete, %d failed, %d retries, in %.2f s: %.0f sessions/s\n", r.Sessions, r.Failed, r.Retries, r.Elapsed, r.PerSecond)
	fmt.Fprintf(w, "latency:      sender connect → last relayed message: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.P50, r.P99, r.Max)
	if len(r.Errors) > 0 {
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		fmt.Fprintln(w, "errors:")
		for _, k := range kinds {
			fmt.Fprintf(w, "  %6d  %s\n", r.Errors[k], k)
		}
		for _, e := range r.ErrorExamples {
			fmt.Fprintf(w, "  e.g. %s\n", e)
		}
	} else {
		fmt.Fprintln(w, "errors:       none")
	}
	who := "the relay's process"
	if r.SameProcess {
		who = "this process (relay and load client)"
	}
	if r.RelayHWM > 0 {
		fmt.Fprintf(w, "memory:       %s: peak RSS (VmHWM) %s, RSS at the end %s\n", who, mib(r.RelayHWM), mib(r.RelayRSS))
	}
	if r.Sessions > 0 && r.RelayCPU > 0 {
		if r.SameProcess {
			fmt.Fprintf(w, "CPU:          %.2f s for relay and client, %.0f µs a session\n", r.RelayCPU, 1e6*r.RelayCPU/float64(r.Sessions))
		} else {
			fmt.Fprintf(w, "CPU:          relay %.2f s, %.0f µs a session; load client %.2f s, %.0f µs a session\n",
				r.RelayCPU, 1e6*r.RelayCPU/float64(r.Sessions), r.ClientCPU, 1e6*r.ClientCPU/float64(r.Sessions))
		}
	}
	if r.RelayAllocBytes > 0 {
		who := "relay"
		if r.SameProcess {
			who = "relay and client"
		}
		fmt.Fprintf(w, "allocations:  %s %.1f KiB, %.0f objects a session\n", who, r.RelayAllocBytes/1024, r.RelayAllocObjects)
	}
	fmt.Fprintf(w, "machine:      %d CPUs, load average %.2f at the start, %.2f at the end (with the run's own load)\n", runtime.NumCPU(), r.LoadAvgStart, r.LoadAvgEnd)
	fmt.Fprintf(w, "RLIMIT_NOFILE: %d\n", r.FileLimit)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
