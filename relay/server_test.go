package relay

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
)

// TestReturnMemoryAfterBurst: once connections fall below half their
// peak, memory is returned once departures pause, and not again within
// the policy's period; KeepMemory turns it off.
func TestReturnMemoryAfterBurst(t *testing.T) {
	for _, keep := range []bool{false, true} {
		srv, err := New(Config{
			FeeAddresses: FeeAddressFunc(func(context.Context) (address.Address, error) { return address.Address{}, nil }),
			Logger:       slog.New(slog.DiscardHandler),
			KeepMemory:   keep,
		})
		if err != nil {
			t.Fatal(err)
		}
		var freed atomic.Int32
		srv.burst = burstPolicy{min: 100, quiet: 20 * time.Millisecond, wait: 200 * time.Millisecond, every: time.Hour, free: func() { freed.Add(1) }}
		conns := make([]*conn, 200)
		for i := range conns {
			conns[i] = &conn{id: uint64(i + 1)}
			if !srv.track(conns[i]) {
				t.Fatal("track refused")
			}
		}
		for _, c := range conns[:90] { // 110 left: above half
			srv.untrack(c)
		}
		time.Sleep(100 * time.Millisecond)
		if n := freed.Load(); n != 0 {
			t.Fatalf("keep=%v: returned %d times above half the peak", keep, n)
		}
		for _, c := range conns[90:150] {
			srv.untrack(c)
		}
		time.Sleep(300 * time.Millisecond)
		want := int32(1)
		if keep {
			want = 0
		}
		if n := freed.Load(); n != want {
			t.Fatalf("keep=%v: returned %d times after the fall, want %d", keep, n, want)
		}
		for _, c := range conns[150:] { // within `every`: not again
			srv.untrack(c)
		}
		time.Sleep(100 * time.Millisecond)
		if n := freed.Load(); n != want {
			t.Fatalf("keep=%v: returned %d times, want %d", keep, n, want)
		}
	}
}
