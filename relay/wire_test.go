package relay

import (
	"encoding/binary"
	"testing"
)

// frame returns a client frame (masked) with the given FIN bit, opcode and
// payload length.
func testFrame(fin bool, opcode byte, n int) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	var h []byte
	switch {
	case n < 126:
		h = []byte{b0, 0x80 | byte(n)}
	case n < 1<<16:
		h = []byte{b0, 0x80 | 126, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = []byte{b0, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	h = append(h, 1, 2, 3, 4) // mask key
	return append(h, make([]byte, n)...)
}

func TestFrameTracker(t *testing.T) {
	const text, binaryOp, cont, ping, pong, closeOp = 1, 2, 0, 9, 10, 8
	type step struct {
		frame   []byte
		between bool // after it
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"text", []step{{testFrame(true, text, 10), true}}},
		{"empty", []step{{testFrame(true, text, 0), true}}},
		{"16-bit length", []step{{testFrame(true, binaryOp, 1504), true}}},
		{"64-bit length", []step{{testFrame(true, binaryOp, 70000), true}}},
		{"ping", []step{{testFrame(true, ping, 4), true}, {testFrame(true, pong, 0), true}}},
		{"fragmented", []step{
			{testFrame(false, text, 5), false},
			{testFrame(true, ping, 2), false}, // a control frame inside a message
			{testFrame(false, cont, 5), false},
			{testFrame(true, cont, 5), true},
		}},
		{"close", []step{{testFrame(true, closeOp, 2), true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Byte by byte, and whole.
			for _, split := range []int{1, 1 << 20} {
				var tr frameTracker
				for i, s := range tc.steps {
					for b := s.frame; len(b) > 0; {
						n := min(split, len(b))
						if tr.betweenMessages() && i > 0 && !tc.steps[i-1].between {
							t.Fatalf("step %d: between messages inside a message", i)
						}
						tr.advance(b[:n])
						b = b[n:]
						if len(b) > 0 && tr.betweenMessages() {
							t.Fatalf("split %d, step %d: between messages mid-frame", split, i)
						}
					}
					if got := tr.betweenMessages(); got != s.between {
						t.Fatalf("split %d, after step %d: betweenMessages = %v, want %v", split, i, got, s.between)
					}
				}
			}
		})
	}
}
