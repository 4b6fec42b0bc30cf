package relay_test

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/relay"
)

// The frame-level fuzz (issue 17): whole sessions of two wallets that
// speak RFC 6455 by hand, with a fixed seed: every message fragmented at
// random (0-byte fragments included, pings between fragments), every
// frame written in TCP writes split at random byte offsets, short pauses;
// and in some sessions one wallet fails mid-stream: it half-closes or
// resets in the middle of a message, or breaks the protocol (an unmasked
// frame, reserved bits, an unknown opcode, a control frame too large or
// fragmented). What must hold: each wallet receives exactly the messages
// the other sent whole, byte for byte and in order, and nothing of a
// message cut short; every connection ends, within the relay's bounds,
// and the relay holds nothing after.
//
// go test ./relay -run TestFrameFuzz -frames.sessions 5000 runs a longer
// one.
var fuzzSessions = flag.Int("frames.sessions", 150, "sessions of TestFrameFuzz")
var fuzzSeed = flag.Uint64("frames.seed", 17, "seed of TestFrameFuzz")

func TestFrameFuzz(t *testing.T) {
	r := startRelay(t, relay.Config{CloseTimeout: time.Second, MaxConnectionsPerIP: 1000, Logger: slog.New(slog.DiscardHandler)})
	rng := rand.New(rand.NewPCG(*fuzzSeed, 6455))
	type plan struct {
		seed  uint64
		fault int // 0: none; else which (faults)
	}
	plans := make([]plan, *fuzzSessions)
	for i := range plans {
		plans[i] = plan{seed: rng.Uint64()}
		if rng.IntN(3) == 0 {
			plans[i].fault = 1 + rng.IntN(len(faults))
		}
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for i, p := range plans {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			what, err := fuzzSession(t, r, p.seed, p.fault)
			mu.Lock()
			counts[what]++
			mu.Unlock()
			if err != nil {
				t.Errorf("session %d (seed %d, %s): %v", i, p.seed, what, err)
			}
		})
	}
	wg.Wait()
	waitFor(t, "no connection or session left", func() bool {
		st := r.Stats()
		return st.Connections == 0 && st.Pending == 0 && st.Bridged == 0
	})
	t.Logf("%d sessions: %v", len(plans), counts)
}

// faults a wallet commits mid-stream; each ends its connection.
var faults = []struct {
	name  string
	bytes func(rng *rand.Rand) []byte // what it writes before it acts; nil: nothing
	act   func(c halfCloser)          // what it does then
}{
	{"half-close mid-message", func(rng *rand.Rand) []byte {
		return append(frame(false, 0x1, randomBytes(rng, rng.IntN(64))), []byte{0x80, 0x80 | 20, 0, 0, 0, 0}...)
	}, func(c halfCloser) { c.CloseWrite() }},
	{"reset mid-message", func(rng *rand.Rand) []byte {
		return frame(false, 0x2, randomBytes(rng, rng.IntN(64)))
	}, func(c halfCloser) { c.(*net.TCPConn).SetLinger(0); c.Close() }},
	{"unmasked frame", func(*rand.Rand) []byte { return []byte{0x81, 0x02, 'h', 'i'} }, nil},
	{"reserved bits", func(*rand.Rand) []byte { return []byte{0xc1, 0x80, 0, 0, 0, 0} }, nil},
	{"unknown opcode", func(*rand.Rand) []byte { return []byte{0x83, 0x80, 0, 0, 0, 0} }, nil},
	{"control frame over 125 bytes", func(rng *rand.Rand) []byte { return frame(true, 0x9, randomBytes(rng, 126)) }, nil},
	{"fragmented ping", func(*rand.Rand) []byte { return frame(false, 0x9, []byte("p")) }, nil},
	{"new message inside a message", func(*rand.Rand) []byte {
		return append(frame(false, 0x1, []byte("a")), frame(true, 0x1, []byte("b"))...)
	}, nil},
	// The relay closes for the reserved bits; the wallet answers its close
	// frame with a frame that declares 2^63−1 bytes.
	{"endless frame instead of a close", func(*rand.Rand) []byte {
		return append([]byte{0xc1, 0x80, 0, 0, 0, 0}, mustHex("82 ff 7f ff ff ff ff ff ff ff 00 00 00 00")...)
	}, nil},
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// fragments writes message m of opcode op as random fragments, pings
// between some, in TCP writes split at random offsets.
func fragments(rng *rand.Rand, op byte, m []byte) [][]byte {
	var frames [][]byte
	rest := m
	first := true
	for {
		n := len(rest)
		if n > 0 && rng.IntN(2) == 0 {
			n = rng.IntN(len(rest) + 1) // 0-byte fragments too
		}
		o := byte(0x0)
		if first {
			o = op
		}
		last := n == len(rest) && (n > 0 || rng.IntN(2) == 0 || len(m) == 0)
		frames = append(frames, frame(last, o, rest[:n]))
		rest, first = rest[n:], false
		if last {
			return frames
		}
		if rng.IntN(4) == 0 {
			frames = append(frames, frame(true, 0x9, []byte("ping")))
		}
	}
}

type fuzzWallet struct {
	*rawConn
	rng *rand.Rand
}

// send writes m as fragments, the bytes in random pieces with short
// pauses.
func (w *fuzzWallet) send(op byte, m []byte) error {
	var all []byte
	for _, f := range fragments(w.rng, op, m) {
		all = append(all, f...)
	}
	for len(all) > 0 {
		n := 1 + w.rng.IntN(len(all))
		if w.rng.IntN(8) == 0 {
			n = 1
		}
		if _, err := w.nc.Write(all[:n]); err != nil {
			return err
		}
		all = all[n:]
		if w.rng.IntN(16) == 0 {
			time.Sleep(time.Duration(w.rng.IntN(2000)) * time.Microsecond) // a wallet pausing mid-frame, not a wait for the relay
		}
	}
	return nil
}

// receive reads the relay's next data message, whole (control frames
// skipped); ok is false at a close frame or the end of the connection.
func (w *fuzzWallet) receive() (op byte, m []byte, ok bool) {
	for {
		o, p, err := w.next()
		if err != nil || o == 0x8 {
			return 0, nil, false
		}
		switch o {
		case 0x1, 0x2:
			return o, p, true
		}
	}
}

type sent struct {
	op byte
	m  []byte
}

// fuzzSession runs one session and says what it was.
func fuzzSession(t *testing.T, r *testRelay, seed uint64, fault int) (string, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	id := newSessionID(t)
	rc, err := rawDialErr(t, r)
	if err != nil {
		return "setup", err
	}
	defer rc.nc.Close()
	sc, err := rawDialErr(t, r)
	if err != nil {
		return "setup", err
	}
	defer sc.nc.Close()
	recv := &fuzzWallet{rc, rand.New(rand.NewPCG(seed, 2))}
	send := &fuzzWallet{sc, rand.New(rand.NewPCG(seed, 3))}
	blob := randomBytes(rng, 1+rng.IntN(3000))
	if err := recv.send(0x1, []byte(`{"role":"receiver","session_id":"`+id+`"}`)); err != nil {
		return "setup", err
	}
	if err := recv.send(0x2, blob); err != nil {
		return "setup", err
	}
	// The sender may come before the relay has filed the blob: the relay
	// holds it (SenderWait).
	if err := send.send(0x1, []byte(`{"role":"sender","session_id":"`+id+`"}`)); err != nil {
		return "setup", err
	}
	if _, m, ok := send.receive(); !ok || !bytes.Contains(m, []byte("dust_address")) {
		return "setup", fmt.Errorf("no dust_address: %q", m)
	}
	if op, m, ok := send.receive(); !ok || op != 0x2 || !bytes.Equal(m, blob) {
		return "setup", fmt.Errorf("blob not relayed whole: op %x, %d bytes of %d", op, len(m), len(blob))
	}
	// Each side sends a few messages; the faulty one (the sender or the
	// receiver) fails after some of them.
	var fromRecv, fromSend []sent
	for range 1 + rng.IntN(4) {
		fromSend = append(fromSend, sent{byte(1 + rng.IntN(2)), randomBytes(rng, rng.IntN(3000))})
		fromRecv = append(fromRecv, sent{byte(1 + rng.IntN(2)), randomBytes(rng, rng.IntN(3000))})
	}
	what := "honest"
	faulty, other, wantFromFaulty := send, recv, fromSend
	if rng.IntN(2) == 0 {
		faulty, other, wantFromFaulty = recv, send, fromRecv
	}
	cut := len(wantFromFaulty)
	if fault > 0 {
		what = faults[fault-1].name
		cut = rng.IntN(len(wantFromFaulty) + 1)
	}
	errs := make(chan error, 2)
	write := func(w *fuzzWallet, ms []sent) {
		n := len(ms)
		if w == faulty {
			n = cut
		}
		for _, s := range ms[:n] {
			if err := w.send(s.op, s.m); err != nil {
				errs <- err
				return
			}
		}
		if w == faulty && fault > 0 {
			f := faults[fault-1]
			_, _ = w.nc.Write(f.bytes(w.rng))
			if f.act != nil {
				f.act(w.nc)
			}
		}
		errs <- nil
	}
	go write(send, fromSend)
	go write(recv, fromRecv)
	check := func(w *fuzzWallet, want []sent, whole bool) error {
		for i, s := range want {
			op, m, ok := w.receive()
			if !ok {
				if whole {
					return fmt.Errorf("connection ended after %d of %d messages", i, len(want))
				}
				return nil
			}
			if op != s.op || !bytes.Equal(m, s.m) {
				return fmt.Errorf("message %d: got op %x, %d bytes; sent op %x, %d bytes", i, op, len(m), s.op, len(s.m))
			}
		}
		if !whole {
			if op, m, ok := w.receive(); ok {
				return fmt.Errorf("a message (op %x, %d bytes) after the last one sent whole", op, len(m))
			}
		}
		return nil
	}
	// The honest wallet gets exactly what the faulty one sent whole; the
	// faulty one, if it still reads, a prefix of what the honest one sent.
	err = check(other, wantFromFaulty[:cut], fault == 0)
	if err == nil && fault == 0 {
		err = check(faulty, wantFromFaulty2(faulty, send, fromSend, fromRecv), true)
	}
	for range 2 {
		if werr := <-errs; werr != nil && fault == 0 && err == nil {
			err = werr
		}
	}
	if fault > 0 {
		// Both connections end, within CloseTimeout.
		if eerr := other.ended(5 * time.Second); err == nil {
			err = eerr
		}
		if faults[fault-1].act == nil {
			if eerr := faulty.ended(5 * time.Second); err == nil {
				err = eerr
			}
		}
	}
	return what, err
}

// wantFromFaulty2 is what the wallet w receives: what the other sent.
func wantFromFaulty2(w, send *fuzzWallet, fromSend, fromRecv []sent) []sent {
	if w == send {
		return fromRecv
	}
	return fromSend
}
