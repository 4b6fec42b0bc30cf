package discovery

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// fakeDAG is a block DAG in memory, answering as a node does, for tests of
// Scan's walk that need shapes a devnet does not make on demand: merged
// blocks that hide behind a child with an older time, transactions a
// block carries but the chain does not accept, several batches of chain.
type fakeDAG struct {
	blocks   map[txbuild.Hash]*node.Block
	chain    []txbuild.Hash                  // selected chain, oldest first
	accepted map[txbuild.Hash][]txbuild.Hash // chain block → transactions it accepted
	tips     []txbuild.Hash
	batch    int // chain blocks per VirtualChainFromBlock answer; 0: all
	pruning  txbuild.Hash
	pruned   map[txbuild.Hash]bool // blocks Block refuses to send

	requests, blockRequests, withTxs, chainRequests int
	asked                                           map[txbuild.Hash]bool
	names                                           map[txbuild.Hash]string

	// What the GetBlocks answers of batchDAG need: blocks in the order
	// added (parents first), each one's index in it, its past as a
	// bitset of indexes, and its level.
	order []txbuild.Hash
	index map[txbuild.Hash]int
	past  []bitset
	level map[txbuild.Hash]int
}

func newFakeDAG() *fakeDAG {
	return &fakeDAG{blocks: map[txbuild.Hash]*node.Block{}, accepted: map[txbuild.Hash][]txbuild.Hash{}, asked: map[txbuild.Hash]bool{}, names: map[txbuild.Hash]string{},
		index: map[txbuild.Hash]int{}, level: map[txbuild.Hash]int{}}
}

func fakeHash(name string) txbuild.Hash { return txbuild.Hash(sha256.Sum256([]byte(name))) }

// bitset is a set of block indexes.
type bitset []uint64

func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }
func (b *bitset) set(i int) {
	for len(*b) <= i/64 {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}
func (b *bitset) or(c bitset) {
	for len(*b) < len(c) {
		*b = append(*b, 0)
	}
	for i, w := range c {
		(*b)[i] |= w
	}
}

// fakeMaxLevel is the genesis's level in fake DAGs; a block's own level
// is the leading zero bits of its hash (like a proof-of-work value's),
// so level l holds about one block in 2^l.
const fakeMaxLevel = 16

func (f *fakeDAG) add(name string, t time.Time, chain bool, txs []*txbuild.Transaction, parents ...txbuild.Hash) txbuild.Hash {
	h := fakeHash(name)
	f.blocks[h] = &node.Block{Hash: h, Timestamp: t.UnixMilli(), DAAScore: uint64(len(f.blocks)), Parents: parents, IsChainBlock: chain, Transactions: txs}
	f.names[h] = name
	if chain {
		f.chain = append(f.chain, h)
	}
	var past bitset
	for _, p := range parents {
		past.set(f.index[p])
		past.or(f.past[f.index[p]])
	}
	f.index[h] = len(f.order)
	f.order = append(f.order, h)
	f.past = append(f.past, past)
	f.level[h] = fakeMaxLevel
	if len(parents) > 0 {
		f.level[h] = min(fakeMaxLevel, bits.LeadingZeros16(uint16(h[0])<<8|uint16(h[1])))
	}
	f.blocks[h].ParentsByLevel = f.levelParents(parents)
	return h
}

// levelParents are a header's parents by level as kaspad computes them:
// at level l, the nearest ancestors of level l or more, none in the past
// of another.
func (f *fakeDAG) levelParents(parents []txbuild.Hash) [][]txbuild.Hash {
	if len(parents) == 0 {
		return nil
	}
	out := [][]txbuild.Hash{parents}
	for l := 1; l <= fakeMaxLevel; l++ {
		var cand []txbuild.Hash
		for _, p := range parents {
			if f.level[p] >= l {
				cand = append(cand, p)
			} else if lp := f.blocks[p].ParentsByLevel; len(lp) > l {
				cand = append(cand, lp[l]...)
			}
		}
		var keep []txbuild.Hash
		for _, c := range cand {
			dominated := slices.Contains(keep, c) || slices.ContainsFunc(cand, func(d txbuild.Hash) bool { return f.past[f.index[d]].has(f.index[c]) })
			if !dominated {
				keep = append(keep, c)
			}
		}
		out = append(out, keep)
	}
	return out
}

func (f *fakeDAG) DAGInfo(context.Context) (node.DAGInfo, error) {
	f.requests++
	return node.DAGInfo{TipHashes: f.tips, VirtualParents: f.tips, VirtualDAAScore: uint64(len(f.blocks)), PruningPoint: f.pruning}, nil
}

func (f *fakeDAG) Block(_ context.Context, h txbuild.Hash, withTxs bool) (*node.Block, error) {
	f.requests++
	f.blockRequests++
	f.asked[h] = true
	b, ok := f.blocks[h]
	if !ok || f.pruned[h] {
		return nil, &node.NodeError{Request: "GetBlock", Message: fmt.Sprintf("block %s not found", h)}
	}
	c := *b
	if withTxs {
		f.withTxs++
	} else {
		c.Transactions = nil
	}
	return &c, nil
}

func (f *fakeDAG) VirtualChainFromBlock(_ context.Context, start txbuild.Hash, withAccepted bool) (node.VirtualChain, error) {
	f.requests++
	f.chainRequests++
	i := slices.Index(f.chain, start)
	if i < 0 {
		return node.VirtualChain{}, fmt.Errorf("%s is not a chain block", start)
	}
	added := f.chain[i+1:]
	if f.batch > 0 && len(added) > f.batch {
		added = added[:f.batch]
	}
	v := node.VirtualChain{Added: slices.Clone(added)}
	if withAccepted {
		for _, h := range added {
			v.Accepted = append(v.Accepted, node.AcceptedTransactions{Block: h, IDs: f.accepted[h]})
		}
	}
	return v, nil
}

var txSerial uint32

// fakeTx is a native transaction with payload, unique by its input.
func fakeTx(payload string) *txbuild.Transaction {
	txSerial++
	return &txbuild.Transaction{
		Inputs:  []txbuild.Input{{PreviousOutpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{0xee}, Index: txSerial}, SigOpCount: 1}},
		Outputs: []txbuild.Output{{Amount: 1}},
		Payload: []byte(payload),
	}
}

func pulseJSON(url string, ts int64) string {
	return fmt.Sprintf(`{"protocol": "kloak", "version": "1.0.0", "ws_url": %q, "timestamp": %d}`, url, ts)
}

// walkDAG is a DAG of a chain block every 50 s over the 1,900 s before
// now, with merged side blocks and pulses that test every rule of Scan;
// p1 is a's newest pulse.
func walkDAG(now time.Time) (f *fakeDAG, p1 *txbuild.Transaction) {
	at := func(sec int) time.Time { return now.Add(time.Duration(sec) * time.Second) }
	f = newFakeDAG()
	p1 = fakeTx(pulseJSON("wss://a.example/kpp", at(-100).Unix()))

	var (
		p1dup = p1.Clone() // the same transaction, also in a later side block
		p2    = fakeTx(pulseJSON("wss://b.example/kpp", at(-200).Unix()))
		p3    = fakeTx(pulseJSON("wss://a.example/kpp", at(-900).Unix())) // older pulse of a
		p4    = fakeTx(pulseJSON("wss://c.example/kpp", at(-1300).Unix()))
		p5    = fakeTx(pulseJSON("wss://d.example/kpp", at(-700).Add(time.Hour).Unix())) // future-dated
		p6    = fakeTx(`{"protocol": "kloak", "ws_url": "nope"}`)                        // malformed
		p7    = fakeTx(pulseJSON("wss://e.example/kpp", at(-300).Unix()))                // merged, never accepted
		p8    = fakeTx(pulseJSON("wss://f.example/kpp", at(-40).Unix()))                 // in a tip, pending
		p9    = fakeTx(pulseJSON("ws://127.0.0.1:8765/kpp", at(-800).Unix()))            // local
		p10   = fakeTx(pulseJSON("wss://g.example/kpp", at(-600).Unix()))                // behind an old-looking block
		other = fakeTx(`{"hello": "world"}`)
		cb    = fakeTx(pulseJSON("wss://coinbase.example/kpp", at(-850).Unix()))
		// A stale self-claim (a node with a slow clock) is not dropped:
		// ranking goes by block time.
		slow = fakeTx(pulseJSON("wss://h.example/kpp", at(-2000).Unix()))
	)
	cb.SubnetworkID = txbuild.SubnetworkCoinbase
	txsAt := map[int][]*txbuild.Transaction{
		-100: {p1}, -900: {p3}, -1300: {p4}, -700: {p5}, -750: {p6}, -800: {p9}, -850: {other, cb}, -450: {slow},
	}
	notAccepted := map[txbuild.Hash]bool{p7.ID(): true}

	g := f.add("genesis", at(-5000), true, nil)
	f.pruning = g
	old := f.add("old", at(-2000), true, nil, g)
	prev := old
	var prevTxs []*txbuild.Transaction
	// merges[sec] are side blocks merged by the chain block at sec.
	merges := map[int][]txbuild.Hash{}
	var sideTxs = map[txbuild.Hash][]*txbuild.Transaction{}
	chainAt := map[int]txbuild.Hash{}
	side := func(name string, sec int, parent txbuild.Hash, mergedAt int, txs ...*txbuild.Transaction) txbuild.Hash {
		h := f.add(name, at(sec), false, txs, parent)
		merges[mergedAt] = append(merges[mergedAt], h)
		sideTxs[h] = txs
		return h
	}
	for sec := -1900; sec <= -50; sec += 50 {
		switch sec {
		case -250:
			side("sideB", -200, chainAt[-300], -150, p2)
			side("sideE", -300, chainAt[-350], -250, p7)
		case -650:
			h := f.add("hidden", at(-600), false, []*txbuild.Transaction{p10}, chainAt[-700])
			// Its only child claims a time below the window (inside the
			// margin): the walk must go on through it.
			m := f.add("oldlooking", at(-1300), false, nil, h)
			merges[-550] = append(merges[-550], m)
			sideTxs[h] = []*txbuild.Transaction{p10}
		case -100:
			side("sideDup", -80, chainAt[-150], -50, p1dup)
		}
		parents := append([]txbuild.Hash{prev}, merges[sec]...)
		h := f.add(fmt.Sprintf("chain%d", sec), at(sec), true, txsAt[sec], parents...)
		chainAt[sec] = h
		var acc []txbuild.Hash
		for _, tx := range prevTxs {
			acc = append(acc, tx.ID())
		}
		for _, m := range merges[sec] {
			for _, tx := range sideTxs[m] {
				acc = append(acc, tx.ID())
			}
		}
		acc = slices.DeleteFunc(acc, func(id txbuild.Hash) bool { return notAccepted[id] })
		f.accepted[h] = acc
		prev, prevTxs = h, txsAt[sec]
	}
	// The hidden block's transaction is accepted by the chain block that
	// merged its child.
	f.accepted[chainAt[-550]] = append(f.accepted[chainAt[-550]], p10.ID())
	tip := f.add("tipF", at(-40), false, []*txbuild.Transaction{p8}, chainAt[-100])
	f.tips = []txbuild.Hash{prev, tip}
	return f, p1
}

// TestScanWalk walks walkDAG and checks every rule of Scan.
func TestScanWalk(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	at := func(sec int) time.Time { return now.Add(time.Duration(sec) * time.Second) }
	f, p1 := walkDAG(now)

	var last ScanProgress
	calls := 0
	opts := ScanOptions{Now: func() time.Time { return now }, Progress: func(p ScanProgress) { last = p; calls++ }}
	got, err := Scan(context.Background(), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		url   string
		block string
		sec   int
	}{
		{"wss://f.example/kpp", "tipF", -40},
		{"wss://a.example/kpp", "chain-100", -100},
		{"wss://b.example/kpp", "sideB", -200},
		{"wss://h.example/kpp", "chain-450", -450},
		{"wss://g.example/kpp", "hidden", -600},
	}
	if len(got) != len(want) {
		for _, p := range got {
			t.Logf("got %s in %s at %v", p.WSURL, f.names[p.BlockHash], p.BlockTime.Sub(now))
		}
		t.Fatalf("%d pulses, want %d", len(got), len(want))
	}
	for i, w := range want {
		p := got[i]
		if p.WSURL != w.url || f.names[p.BlockHash] != w.block || !p.BlockTime.Equal(at(w.sec)) {
			t.Errorf("pulse %d: %s in %s at %v, want %s in %s at %ds", i, p.WSURL, f.names[p.BlockHash], p.BlockTime.Sub(now), w.url, w.block, w.sec)
		}
	}
	if got[1].TransactionID != p1.ID() {
		t.Errorf("a's pulse is %s, want the newest, %s", got[1].TransactionID, p1.ID())
	}
	if !last.Done || calls < 1 || last.Dropped != 4 || last.Blocks != len(f.asked) {
		t.Errorf("progress %+v after %d calls", last, calls)
	}
	if last.Requests != f.requests || f.chainRequests != 1 {
		t.Errorf("progress says %d requests, the node saw %d (%d chain)", last.Requests, f.requests, f.chainRequests)
	}
	if !last.Oldest.Equal(at(-1200)) {
		t.Errorf("oldest block in the window %v, want -1200s", last.Oldest.Sub(now))
	}
	// Fetched: the chain back to the margin (-1500) and the block below
	// it, the side blocks, the tip.
	if last.Blocks > 45 || f.withTxs > last.Blocks {
		t.Errorf("%d blocks fetched, %d with transactions", last.Blocks, f.withTxs)
	}
	t.Logf("%d blocks, %d requests (%d with transactions, %d chain)", last.Blocks, f.requests, f.withTxs, f.chainRequests)

	// Local URLs are kept on request.
	f.requests, f.chainRequests = 0, 0
	opts.AllowLocalURLs = true
	got, err = Scan(context.Background(), f, opts)
	if err != nil || len(got) != len(want)+1 || !slices.ContainsFunc(got, func(p Pulse) bool { return p.WSURL == "ws://127.0.0.1:8765/kpp" }) {
		t.Fatalf("with local URLs: %d pulses, %v", len(got), err)
	}

	// A node that answers the chain in batches.
	f.batch = 5
	f.chainRequests = 0
	got, err = Scan(context.Background(), f, opts)
	if err != nil || len(got) != len(want)+1 || f.chainRequests < 2 {
		t.Fatalf("batched chain: %d pulses in %d chain requests, %v", len(got), f.chainRequests, err)
	}
	f.batch = 0

	// A window with no blocks at all.
	got, err = Scan(context.Background(), f, ScanOptions{Now: func() time.Time { return at(-3000) }, Window: 100 * time.Second})
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty window: %v, %v", got, err)
	}

	// The block limit ends the walk with the newest pulses and says so.
	got, err = Scan(context.Background(), f, ScanOptions{Now: func() time.Time { return now }, MaxBlocks: 6})
	if !errors.Is(err, ErrBlockLimit) || len(got) == 0 || got[0].WSURL != "wss://f.example/kpp" {
		t.Fatalf("block limit: %d pulses, %v", len(got), err)
	}
	t.Logf("at the limit: %v", err)
}
