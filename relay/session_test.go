package relay

import (
	"testing"
	"time"
)

// TestGoneIDs: the ids of receivers that have come and gone are kept
// between goneFor-goneFor/goneSlots and goneFor, then dropped.
func TestGoneIDs(t *testing.T) {
	r := newRegistry(10, 10)
	const a = "aa00000000000000000000000000000000000000000000000000000000000000"
	const b = "bb00000000000000000000000000000000000000000000000000000000000000"
	r.receiverGone(a)
	was := func(id string, at time.Time) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.rotateGone(at)
		k := goneKey(id)
		for _, m := range r.gone {
			if _, ok := m[k]; ok {
				return true
			}
		}
		return false
	}
	start := r.goneSince
	if !was(a, start) || was(b, start) {
		t.Fatal("gone right after: a, not b")
	}
	slot := goneFor / goneSlots
	if !was(a, start.Add(goneFor-slot)) {
		t.Error("dropped before goneFor - one slot")
	}
	if was(a, start.Add(goneFor)) {
		t.Error("kept after goneFor")
	}
	r.receiverGone(b)
	if !was(b, r.goneSince) || was(a, r.goneSince) {
		t.Error("after rotation: b, not a")
	}
	if was(b, r.goneSince.Add(10*goneFor)) {
		t.Error("kept after a long idle time")
	}
}
