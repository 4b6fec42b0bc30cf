package discovery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// batchDAG is a fakeDAG that also answers GetBlocks as Go kaspad v0.12.23
// does (app/rpc/rpchandlers/get_blocks.go, with
// domain/consensus/processes/syncmanager/antipast.go; rusty-kaspa's
// get_blocks_call in rpc/service/src/service.rs and
// antipast_hashes_between in consensus/src/processes/sync/mod.rs agree,
// but for not listing low twice): low first; then, going up the selected
// chain from low's nearest chain ancestor, each chain block's merge set
// (its selected parent first) less the blocks in low's past, as long as
// the batch stays within mergeLimit + 1 blocks; then the last chain block
// reached; and if that is the virtual selected parent, its anticone.
//
// A block's selected parent is its first parent, and the chain is
// fakeDAG.chain, ending at the virtual selected parent.
type batchDAG struct {
	*fakeDAG
	mergeLimit    int   // the node's merge-set size limit
	fail          error // if set, what every BlocksFrom answers
	skipLow       bool  // if set, batches leave low out (a broken node)
	batchRequests int
}

// walkOnly hides a BatchChain's BlocksFrom, so that Scan walks.
type walkOnly struct{ Chain }

func (b *batchDAG) BlocksFrom(_ context.Context, low txbuild.Hash, withTxs bool) ([]*node.Block, error) {
	b.requests++
	b.batchRequests++
	if b.fail != nil {
		return nil, b.fail
	}
	if _, ok := b.blocks[low]; !ok {
		return nil, &node.NodeError{Request: "GetBlocks", Message: fmt.Sprintf("Could not find lowHash %s", low)}
	}
	onChain := make(map[txbuild.Hash]int, len(b.chain))
	for i, h := range b.chain {
		onChain[h] = i
	}
	l := low
	for {
		if _, ok := onChain[l]; ok {
			break
		}
		l = b.blocks[l].Parents[0]
	}
	vsp := b.chain[len(b.chain)-1]
	inLowPast := func(h txbuild.Hash) bool { return h == low || b.past[b.index[low]].has(b.index[h]) }
	var hashes []txbuild.Hash
	high := l
	for _, c := range b.chain[onChain[l]+1:] {
		ms := b.mergeSet(c)
		if len(hashes)+len(ms) > b.mergeLimit+1 {
			break
		}
		high = c
		for _, h := range ms {
			if !inLowPast(h) {
				hashes = append(hashes, h)
			}
		}
	}
	if high != l {
		hashes = append(hashes, high)
	}
	out := []txbuild.Hash{low}
	if b.skipLow {
		out = nil
	}
	out = append(out, hashes...)
	if high == vsp {
		out = append(out, b.anticone(vsp)...) // Go kaspad does not dedupe: low may come again
	}
	blocks := make([]*node.Block, len(out))
	for i, h := range out {
		c := *b.blocks[h]
		if !withTxs {
			c.Transactions = nil
		}
		blocks[i] = &c
	}
	return blocks, nil
}

// mergeSet is c's selected parent and the blocks in c's past but not in
// its selected parent's, in the order added.
func (b *batchDAG) mergeSet(c txbuild.Hash) []txbuild.Hash {
	sp := b.blocks[c].Parents[0]
	out := []txbuild.Hash{sp}
	pc, ps := b.past[b.index[c]], b.past[b.index[sp]]
	for i, h := range b.order {
		if h != sp && pc.has(i) && !ps.has(i) {
			out = append(out, h)
		}
	}
	return out
}

// anticone is the blocks neither in v's past nor in its future.
func (b *batchDAG) anticone(v txbuild.Hash) []txbuild.Hash {
	var out []txbuild.Hash
	iv := b.index[v]
	for i, h := range b.order {
		if h != v && !b.past[iv].has(i) && !b.past[i].has(iv) {
			out = append(out, h)
		}
	}
	return out
}

// randomDAG is a DAG of blocks made perSec a second over span before now
// by miners that see the DAG a few blocks late, so that blocks are mined
// in parallel and merged, with block times off the real time by up to a
// minute and a half, and pulses of all kinds: well-formed ones of a few
// URLs, copies of a transaction in parallel blocks, future-dated, local,
// malformed, and ones the chain never accepts.
func randomDAG(seed uint64, now time.Time, span time.Duration, perSec float64) *batchDAG {
	r := rand.New(rand.NewPCG(seed, 7))
	f := newFakeDAG()
	b := &batchDAG{fakeDAG: f, mergeLimit: 40}
	score := map[txbuild.Hash]int{}
	children := map[txbuild.Hash]int{}
	notAccepted := map[txbuild.Hash]bool{}
	var recent []*txbuild.Transaction
	n := int(span.Seconds() * perSec)
	begin := now.Add(-span)
	g := f.add(fmt.Sprintf("genesis-%d", seed), begin.Add(-time.Hour), false, nil)
	f.pruning = g
	for k := 1; k <= n; k++ {
		real := begin.Add(time.Duration(float64(k) / perSec * float64(time.Second)))
		// The miner sees all but the last few blocks.
		seen := len(f.order) - r.IntN(4)
		var parents []txbuild.Hash
		for _, h := range f.order[:max(seen, 1)] {
			tip := true
			for _, c := range f.order[f.index[h]+1 : max(seen, 1)] {
				if slices.Contains(f.blocks[c].Parents, h) {
					tip = false
					break
				}
			}
			if tip {
				parents = append(parents, h)
			}
		}
		if len(parents) > 8 {
			parents = parents[len(parents)-8:]
		}
		// The selected parent (first) is the one with the largest past.
		slices.SortStableFunc(parents, func(x, y txbuild.Hash) int { return score[y] - score[x] })
		t := real.Add(time.Duration(r.IntN(20_000)-10_000) * time.Millisecond)
		if r.IntN(20) == 0 {
			t = real.Add(time.Duration(r.IntN(150)-90) * time.Second)
		}
		var txs []*txbuild.Transaction
		switch x := r.IntN(100); {
		case x < 20:
			txs = append(txs, fakeTx(pulseJSON(fmt.Sprintf("wss://r%d.example/kpp", r.IntN(6)), t.Add(-time.Duration(r.IntN(30))*time.Second).Unix())))
		case x < 23 && len(recent) > 0:
			txs = append(txs, recent[r.IntN(len(recent))].Clone())
		case x < 25:
			txs = append(txs, fakeTx(pulseJSON("wss://future.example/kpp", t.Add(time.Hour).Unix())))
		case x < 27:
			txs = append(txs, fakeTx(pulseJSON("ws://10.0.0.1:8765/kpp", t.Unix())))
		case x < 29:
			txs = append(txs, fakeTx(`{"protocol": "kloak", "ws_url": 7}`))
		case x < 34:
			tx := fakeTx(pulseJSON(fmt.Sprintf("wss://unaccepted%d.example/kpp", r.IntN(3)), t.Unix()))
			notAccepted[tx.ID()] = true
			txs = append(txs, tx)
		case x < 36:
			txs = append(txs, fakeTx(`{"hello": "world"}`))
		}
		if len(txs) > 0 {
			recent = append(recent, txs[0])
			if len(recent) > 5 {
				recent = recent[1:]
			}
		}
		h := f.add(fmt.Sprintf("b%d-%d", seed, k), t, false, txs, parents...)
		for _, p := range parents {
			children[p]++
		}
		score[h] = f.past[f.index[h]].count()
	}
	// The tips; the virtual selected parent is the one with the largest
	// past, and the chain is its selected parents down to the genesis.
	var vsp txbuild.Hash
	for _, h := range f.order {
		if children[h] == 0 {
			f.tips = append(f.tips, h)
			if vsp == (txbuild.Hash{}) || score[h] > score[vsp] {
				vsp = h
			}
		}
	}
	for h := vsp; ; h = f.blocks[h].Parents[0] {
		f.chain = append(f.chain, h)
		f.blocks[h].IsChainBlock = true
		if h == g {
			break
		}
	}
	slices.Reverse(f.chain)
	// Each chain block accepts the transactions of its merge set that no
	// earlier one accepted, but those never accepted.
	done := map[txbuild.Hash]bool{}
	for _, c := range f.chain[1:] {
		for _, m := range b.mergeSet(c) {
			for _, tx := range f.blocks[m].Transactions {
				if id := tx.ID(); !notAccepted[id] && !done[id] {
					done[id] = true
					f.accepted[c] = append(f.accepted[c], id)
				}
			}
		}
	}
	return b
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bitsOnes(w)
	}
	return n
}

func bitsOnes(w uint64) int {
	n := 0
	for ; w != 0; w &= w - 1 {
		n++
	}
	return n
}

// scanBoth scans c block by block and in batches, and fails the test
// unless both find the same pulses, drop as many and end with the same
// error. It returns the two final progress reports.
func scanBoth(t *testing.T, b *batchDAG, opts ScanOptions) (walked, batched ScanProgress, pulses []Pulse, err error) {
	t.Helper()
	opts.Progress = func(p ScanProgress) { walked = p }
	want, wantErr := Scan(context.Background(), walkOnly{b}, opts)
	opts.Progress = func(p ScanProgress) { batched = p }
	headers, batches := b.blockRequests, b.batchRequests
	got, err := Scan(context.Background(), b, opts)
	headers, batches = b.blockRequests-headers, b.batchRequests-batches
	// Finding the first batch's low takes a few headers a level.
	if batched.Fallback == nil {
		if headers > 3*fakeMaxLevel {
			t.Errorf("%d headers to find the first batch's low", headers)
		}
		t.Logf("batches: %d headers, %d batches", headers, batches)
	}
	if (wantErr == nil) != (err == nil) || (wantErr != nil && errors.Is(wantErr, ErrBlockLimit) != errors.Is(err, ErrBlockLimit)) {
		t.Fatalf("walk: %v; batches: %v", wantErr, err)
	}
	if !reflect.DeepEqual(got, want) {
		for _, p := range want {
			t.Logf("walk found %s in %s at %v", p.WSURL, b.names[p.BlockHash], p.BlockTime)
		}
		for _, p := range got {
			t.Logf("batches found %s in %s at %v", p.WSURL, b.names[p.BlockHash], p.BlockTime)
		}
		t.Fatalf("batches found %d pulses, the walk %d", len(got), len(want))
	}
	if walked.Pulses != batched.Pulses || walked.Dropped != batched.Dropped || !walked.Oldest.Equal(batched.Oldest) {
		t.Fatalf("walk %+v; batches %+v", walked, batched)
	}
	if walked.Batched || walked.Fallback != nil {
		t.Fatalf("the walk says %+v", walked)
	}
	return walked, batched, got, err
}

// TestScanBatched: Scan in batches finds what the walk finds, on
// walkDAG's shapes and on random DAGs, for windows that end now and
// earlier, with fewer requests.
func TestScanBatched(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	t.Run("walkDAG", func(t *testing.T) {
		f, _ := walkDAG(now)
		for _, limit := range []int{2, 3, 40} { // kaspad: limit + 1 is at least the largest merge set, here 3
			b := &batchDAG{fakeDAG: f, mergeLimit: limit}
			for _, opts := range []ScanOptions{
				{Now: func() time.Time { return now }},
				{Now: func() time.Time { return now }, AllowLocalURLs: true},
				// (Not a window that ends at -650 s: there walkDAG's
				// block "oldlooking" is timed 700 s before its parent,
				// more than ScanMargin, which consensus rules out, and
				// the walk, stopping at it, misses the parent's pulse;
				// the batches find it.)
				{Now: func() time.Time { return now.Add(-250 * time.Second) }, Window: 1000 * time.Second},
				{Now: func() time.Time { return now.Add(-3000 * time.Second) }, Window: 100 * time.Second},
				{Now: func() time.Time { return now }, Window: 2 * time.Hour}, // back to the genesis
				{Now: func() time.Time { return now.Add(2 * time.Hour) }},     // the tips are older than the margin
				{Now: func() time.Time { return now }, MaxBlocks: 6},
			} {
				w, p, got, err := scanBoth(t, b, opts)
				if opts.MaxBlocks == 6 {
					if p.Fallback == nil || !errors.Is(err, ErrBlockLimit) {
						t.Fatalf("at MaxBlocks 6: %+v, %v", p, err)
					}
					continue
				}
				if !p.Batched || p.Fallback != nil || err != nil {
					t.Fatalf("limit %d: %+v, %v", limit, p, err)
				}
				t.Logf("limit %d, window %v: %d pulses; walk %d requests, batches %d", limit, opts.withDefaults().Window, len(got), w.Requests, p.Requests)
			}
		}
	})
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("random", seed), func(t *testing.T) {
			b := randomDAG(seed, now, 15*time.Minute, 2+float64(seed))
			for _, opts := range []ScanOptions{
				{Now: func() time.Time { return now }, Window: 5 * time.Minute},
				{Now: func() time.Time { return now }, Window: 5 * time.Minute, AllowLocalURLs: true},
				{Now: func() time.Time { return now.Add(-2 * time.Minute) }, Window: 3 * time.Minute},
				{Now: func() time.Time { return now.Add(-9 * time.Minute) }, Window: time.Minute},
				{Now: func() time.Time { return now }, Window: 5 * time.Minute, MaxBlocks: 500},
			} {
				w, p, got, err := scanBoth(t, b, opts)
				if opts.MaxBlocks != 0 {
					if p.Fallback == nil || !errors.Is(err, ErrBlockLimit) {
						t.Fatalf("at MaxBlocks %d: %+v, %v", opts.MaxBlocks, p, err)
					}
					t.Logf("at MaxBlocks %d: fell back (%v); %d pulses", opts.MaxBlocks, p.Fallback, len(got))
					continue
				}
				if !p.Batched || p.Fallback != nil || err != nil {
					t.Fatalf("%+v, %v", p, err)
				}
				if w.Blocks > 300 && p.Requests*5 > w.Requests {
					t.Errorf("batches took %d requests, the walk %d", p.Requests, w.Requests)
				}
				t.Logf("%d blocks (%d chain), window %v: %d pulses; walk %d requests for %d blocks, batches %d for %d",
					len(b.order), len(b.chain), opts.Window, len(got), w.Requests, w.Blocks, p.Requests, p.Blocks)
			}
			// A node that has pruned the oldest blocks refuses to send
			// the far parents of the first headers: they count as too
			// old.
			b.pruned = map[txbuild.Hash]bool{}
			for _, h := range b.order[:len(b.order)/4] {
				b.pruned[h] = true
			}
			_, p, _, err := scanBoth(t, b, ScanOptions{Now: func() time.Time { return now }, Window: 5 * time.Minute})
			if !p.Batched || p.Fallback != nil || err != nil {
				t.Fatalf("with pruned blocks: %+v, %v", p, err)
			}
			b.pruned = nil
		})
	}
}

// TestScanBatchedFallback: when the node refuses batches or answers them
// wrong, Scan walks, says why, and finds the same pulses.
func TestScanBatchedFallback(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	f, _ := walkDAG(now)
	opts := ScanOptions{Now: func() time.Time { return now }}
	for _, tc := range []struct {
		name  string
		b     *batchDAG
		check func(error) bool
	}{
		{"refused", &batchDAG{fakeDAG: f, mergeLimit: 5, fail: &node.NodeError{Request: "GetBlocks", Message: "no"}},
			func(err error) bool { var ne *node.NodeError; return errors.As(err, &ne) }},
		{"connection dropped", &batchDAG{fakeDAG: f, mergeLimit: 5, fail: fmt.Errorf("GetBlocks: %w", node.ErrUnavailable)},
			func(err error) bool { return errors.Is(err, node.ErrUnavailable) }},
		{"batch without its low", &batchDAG{fakeDAG: f, mergeLimit: 5, skipLow: true},
			func(err error) bool { return errors.Is(err, node.ErrProtocol) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p, got, err := scanBoth(t, tc.b, opts)
			if err != nil || len(got) != 5 || p.Batched || !tc.check(p.Fallback) {
				t.Fatalf("%d pulses, %v; progress %+v", len(got), err, p)
			}
			t.Logf("fell back: %v", p.Fallback)
		})
	}
	// A node whose DAA score understates the blocks: the batches meet
	// MaxBlocks, and the walk stops there as it would alone.
	b := &batchDAG{fakeDAG: f, mergeLimit: 5}
	opts.MaxBlocks = 25
	opts.Progress = nil
	want, wantErr := Scan(context.Background(), walkOnly{b}, opts)
	var p ScanProgress
	opts.Progress = func(q ScanProgress) { p = q }
	got, err := Scan(context.Background(), understatedDAA{b}, opts)
	if !errors.Is(wantErr, ErrBlockLimit) || !errors.Is(err, ErrBlockLimit) || !reflect.DeepEqual(got, want) || p.Fallback == nil {
		t.Fatalf("at MaxBlocks: %v, %v; %+v", wantErr, err, p)
	}
	t.Logf("at MaxBlocks: fell back: %v", p.Fallback)
	opts.MaxBlocks, opts.Progress = 0, nil

	// A cancelled scan does not fall back.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b = &batchDAG{fakeDAG: f, mergeLimit: 5, fail: context.Canceled}
	if _, err := Scan(ctx, b, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// understatedDAA is a batchDAG whose DAGInfo reports a virtual DAA score
// of 0.
type understatedDAA struct{ *batchDAG }

func (u understatedDAA) DAGInfo(ctx context.Context) (node.DAGInfo, error) {
	info, err := u.batchDAG.DAGInfo(ctx)
	info.VirtualDAAScore = 0
	return info, err
}
