//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/kpp"
)

// idleOptions are the flags of kloakbench idle.
type idleOptions struct {
	relay     relayOptions
	target    string
	receivers int
	settle    time.Duration
	trickle   int
	client    string
	json      bool
}

func newIdleCmd() *cobra.Command {
	var o idleOptions
	cmd := &cobra.Command{
		Use:   "idle",
		Short: "Measure what a receiver waiting for its sender costs the relay, and whether the memory comes back",
		Long: `idle opens --receivers receivers that each send their handshake and sealed
offer and then wait, as a receiver waits for its sender; measures the relay
process's RSS (/proc/PID/status VmRSS) before and with them; closes them;
and measures again after --settle, then after the relay process has run
runtime/debug.FreeOSMemory (a garbage collection, then every free page
returned to the OS).

With --relay spawn (the default) the relay runs alone in a child process
(kloakbench serve), so its RSS is the relay's alone; with --relay "" it
runs in this process and the figures include the receivers' client side.

The Go runtime returns freed memory to the OS by itself, in the background,
but only after a garbage collection has found it free, and a relay with no
traffic allocates nothing that would start one (the runtime forces one
every 2 minutes). The figure after --settle shows what came back by itself;
the figure after FreeOSMemory shows what is returnable at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runIdle(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	o.relay.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.target, "relay", "spawn", `relay to measure: "spawn" (a child kloakbench serve), "" (in this process) or ws://127.0.0.1:PORT/kpp of a kloakbench serve`)
	f.IntVar(&o.receivers, "receivers", 10_000, "receivers to keep waiting")
	f.DurationVar(&o.settle, "settle", 5*time.Second, "watch the relay's RSS this long after the receivers have left (150s covers the Go runtime's 2-minute forced GC)")
	f.IntVar(&o.trickle, "trickle", 0, "after the receivers have left, run this many complete sessions (traffic) before watching")
	f.StringVar(&o.client, "client", "raw", clientFlagHelp)
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	return cmd
}

// idleReport is what idle measured; memory in bytes.
type idleReport struct {
	Relay       string  `json:"relay"`
	Receivers   int     `json:"receivers"`
	OpenSeconds float64 `json:"open_s"`
	// The relay's RSS: after a warm-up and FreeOSMemory; with the
	// receivers waiting; the same after FreeOSMemory; after they left and
	// --settle passed; after FreeOSMemory again.
	Before       uint64  `json:"rss_before"`
	Waiting      uint64  `json:"rss_waiting"`
	WaitingFreed uint64  `json:"rss_waiting_after_free"`
	Left         uint64  `json:"rss_left"`
	LeftFreed    uint64  `json:"rss_left_after_free"`
	HWM          uint64  `json:"vm_hwm"`
	PerReceiver  float64 `json:"bytes_per_receiver"`      // (Waiting − Before) / Receivers
	PerLive      float64 `json:"bytes_per_receiver_live"` // (WaitingFreed − Before) / Receivers
	Settle       string  `json:"settle"`
	Trickle      int     `json:"trickle,omitempty"`
	// ReturnedAfter is when, after the receivers left, the RSS was first
	// back within a quarter of its growth (0: not within Settle).
	ReturnedAfter float64       `json:"returned_after_s,omitempty"`
	RuntimeBefore runtimeMemory `json:"runtime_before"`
	Runtime       runtimeMemory `json:"runtime_waiting"` // the relay's Go runtime figures with the receivers waiting
	RuntimeLeft   runtimeMemory `json:"runtime_left_after_free"`
	SameProcess   bool          `json:"includes_client"`
	FileLimit     uint64        `json:"rlimit_nofile"`
}

func runIdle(ctx context.Context, stdout, stderr io.Writer, o idleOptions) error {
	if o.receivers <= 0 {
		return errors.New("--receivers must be positive")
	}
	pt, err := newPlaintexts()
	if err != nil {
		return err
	}
	want := uint64(o.receivers) + 1024
	if o.target == "" {
		want += uint64(o.receivers)
	}
	limit, err := raiseFileLimit(want)
	if err != nil || limit < want {
		return fmt.Errorf("RLIMIT_NOFILE is %d, %d needed: %v", limit, want, err)
	}
	tgt, err := startTarget(ctx, o.target, o.relay, "", stderr)
	if err != nil {
		return err
	}
	defer func() {
		if err := tgt.stop(); err != nil {
			fmt.Fprintf(stderr, "kloakbench: stopping the relay: %v\n", err)
		}
	}()
	rep := idleReport{Relay: tgt.what, Receivers: o.receivers, Settle: o.settle.String(), Trickle: o.trickle, SameProcess: tgt.srv != nil, FileLimit: limit}
	free := func() (processStats, error) {
		if tgt.srv != nil {
			debug.FreeOSMemory()
		}
		return tgt.freeOSMemory(ctx)
	}
	rss := func() uint64 {
		m, err := tgt.memory()
		if err != nil {
			fmt.Fprintf(stderr, "kloakbench: %v\n", err)
		}
		return m.RSS
	}

	// Warm up: a few complete sessions, so that what every relay has
	// after its first sessions (code pages, pools) is in the baseline.
	w, err := newWallets(tgt.url, o.client, pt)
	if err != nil {
		return err
	}
	w.retry = 3 * time.Second
	warm := runSessions(ctx, w, loadOptions{sessions: 200, concurrency: 20, duration: time.Minute, sessionTimeout: 30 * time.Second})
	for _, r := range warm.results {
		if r.err != nil {
			return fmt.Errorf("warm-up session: %w", r.err)
		}
	}
	if err := waitStats(ctx, tgt, func(st processStats) bool { return st.Relay.Connections == 0 }); err != nil {
		return err
	}
	st, err := free()
	if err != nil {
		return err
	}
	rep.Before = rss()
	rep.RuntimeBefore = st.Runtime

	start := time.Now()
	conns, err := openReceivers(ctx, w, o.receivers)
	defer closeAll(conns)
	if err != nil {
		return err
	}
	if err := waitStats(ctx, tgt, func(st processStats) bool { return st.Relay.Pending == o.receivers }); err != nil {
		return err
	}
	rep.OpenSeconds = time.Since(start).Seconds()
	time.Sleep(time.Second) // let the relay finish whatever follows a filing
	rep.Waiting = rss()
	if st, err = free(); err != nil {
		return err
	}
	rep.WaitingFreed = rss()
	rep.Runtime = st.Runtime

	closeAll(conns)
	conns = nil
	if err := waitStats(ctx, tgt, func(st processStats) bool { return st.Relay.Connections == 0 && st.Relay.Pending == 0 }); err != nil {
		return err
	}
	left := time.Now()
	if o.trickle > 0 {
		// Traffic, as a relay in service has: its allocations start the
		// garbage collection that finds the receivers' memory free.
		run := runSessions(ctx, w, loadOptions{sessions: o.trickle, concurrency: 10, duration: time.Minute, sessionTimeout: 30 * time.Second})
		for _, r := range run.results {
			if r.err != nil {
				return fmt.Errorf("trickle session: %w", r.err)
			}
		}
	}
	// Watch the RSS come back (or not), once a second.
	grown := float64(rep.Waiting) - float64(rep.Before)
	for time.Since(left) < o.settle {
		time.Sleep(min(time.Second, o.settle-time.Since(left)))
		if rep.ReturnedAfter == 0 && grown > 0 && float64(rss())-float64(rep.Before) <= grown/4 {
			rep.ReturnedAfter = time.Since(left).Seconds()
		}
	}
	rep.Left = rss()
	if st, err = free(); err != nil {
		return err
	}
	rep.LeftFreed = rss()
	rep.RuntimeLeft = st.Runtime
	if m, err := tgt.memory(); err == nil {
		rep.HWM = m.HWM
	}
	rep.PerReceiver = (float64(rep.Waiting) - float64(rep.Before)) / float64(o.receivers)
	rep.PerLive = (float64(rep.WaitingFreed) - float64(rep.Before)) / float64(o.receivers)

	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.print(stdout)
	return nil
}

// openReceivers connects n receivers, each with its handshake and sealed
// offer, 64 at a time.
func openReceivers(ctx context.Context, w *wallets, n int) ([]*wsConn, error) {
	conns := make([]*wsConn, n)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				key, err := kpp.NewKey()
				if err == nil {
					var c *wsConn
					if c, err = w.dial(ctx); err == nil {
						conns[i] = c
						if err = c.send(ctx, handshake(kpp.RoleReceiver, key.SessionID())); err == nil {
							var blob string
							if blob, err = kpp.Seal(key, w.pt.offer, nil); err == nil {
								err = c.send(ctx, []byte(blob))
							}
						}
					}
				}
				if err != nil {
					errOnce.Do(func() { first = fmt.Errorf("receiver %d: %w", i, err) })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	return conns, first
}

// closeAll closes the receivers with a close frame, 64 at a time.
func closeAll(conns []*wsConn) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(conns) {
					return
				}
				if c := conns[i]; c != nil {
					c.t.close()
				}
			}
		})
	}
	wg.Wait()
}

// waitStats polls the relay's counters until cond holds (60 s at most).
func waitStats(ctx context.Context, tgt *target, cond func(processStats) bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := tgt.stats(ctx)
		if err != nil {
			return err
		}
		if cond(st) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the relay did not reach the expected state within 60 s: %+v", st.Relay)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *idleReport) print(w io.Writer) {
	fmt.Fprintf(w, "relay:          %s\n", r.Relay)
	if r.SameProcess {
		fmt.Fprintln(w, "                (its RSS includes the receivers' client side)")
	}
	fmt.Fprintf(w, "receivers:      %d waiting (opened in %.1f s)\n", r.Receivers, r.OpenSeconds)
	fmt.Fprintf(w, "relay RSS:      before %s; with them waiting %s (%s after FreeOSMemory)\n", mib(r.Before), mib(r.Waiting), mib(r.WaitingFreed))
	fmt.Fprintf(w, "per receiver:   %.0f bytes of RSS (%.0f bytes live after FreeOSMemory)\n", r.PerReceiver, r.PerLive)
	fmt.Fprintf(w, "                Go runtime with them waiting: heap objects %s, stacks %s, %d goroutines\n", mib(r.Runtime.HeapObjects), mib(r.Runtime.Stacks), r.Runtime.Goroutines)
	traffic := ""
	if r.Trickle > 0 {
		traffic = fmt.Sprintf(" and %d sessions", r.Trickle)
	}
	fmt.Fprintf(w, "after they left: RSS %s after %s%s; %s after FreeOSMemory (heap objects %s, released %s)\n", mib(r.Left), r.Settle, traffic, mib(r.LeftFreed), mib(r.RuntimeLeft.HeapObjects), mib(r.RuntimeLeft.HeapReleased))
	grown := float64(r.Waiting) - float64(r.Before)
	if grown > 0 {
		fmt.Fprintf(w, "returned:       %.0f %% by itself after %s%s, %.0f %% after FreeOSMemory\n",
			100*(float64(r.Waiting)-float64(r.Left))/grown, r.Settle, traffic, 100*(float64(r.Waiting)-float64(r.LeftFreed))/grown)
		if r.ReturnedAfter > 0 {
			fmt.Fprintf(w, "                (75 %% back %.0f s after they left)\n", r.ReturnedAfter)
		}
	}
	fmt.Fprintf(w, "peak RSS:       %s (VmHWM)\n", mib(r.HWM))
	fmt.Fprintf(w, "RLIMIT_NOFILE:  %d\n", r.FileLimit)
}
