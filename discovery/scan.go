package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// Pulse is a well-formed pulse found on chain.
type Pulse struct {
	Payload
	TransactionID txbuild.Hash
	BlockHash     txbuild.Hash // the earliest block found holding the transaction
	// BlockTime is the block header's own time: what ranking uses, not
	// the self-claimed Timestamp. Consensus keeps it within about two
	// minutes of the real time the block was mined.
	BlockTime time.Time
}

// Chain is what Scan needs from a node; *node.Client satisfies it.
type Chain interface {
	DAGInfo(ctx context.Context) (node.DAGInfo, error)
	Block(ctx context.Context, hash txbuild.Hash, withTxs bool) (*node.Block, error)
	VirtualChainFromBlock(ctx context.Context, start txbuild.Hash, withAccepted bool) (node.VirtualChain, error)
}

// BatchChain is a Chain that also sends blocks in batches; *node.Client
// satisfies it. Scan reads the window through BlocksFrom when the Chain
// it is given is a BatchChain (see Scan).
type BatchChain interface {
	Chain
	// BlocksFrom returns the blocks not in the past of low, low first,
	// in batches that end with the low of the next batch, as
	// node.Client.BlocksFrom does (the node's GetBlocks).
	BlocksFrom(ctx context.Context, low txbuild.Hash, withTxs bool) ([]*node.Block, error)
}

// Defaults and bounds of Scan.
const (
	// DefaultMaxScanBlocks is ScanOptions.MaxBlocks's default: a 20-minute
	// window plus the margin at mainnet's 10 blocks per second is about
	// 15,000 blocks.
	DefaultMaxScanBlocks = 40_000

	// MaxClockSkew is how far a pulse's self-claimed timestamp may be
	// ahead of its block's time before Scan drops the pulse as
	// future-dated.
	MaxClockSkew = 2 * time.Minute

	// ScanMargin is how far below the window Scan keeps following
	// parents. A block's time may be earlier than its parents' (consensus
	// only bounds it below by the past median time, about 2 minutes back,
	// and a parent's above by the present + 2 minutes), so a block inside
	// the window can hang below a younger-looking child; the margin covers
	// that twice over.
	ScanMargin = 5 * time.Minute
)

// ScanOptions configure Scan. The zero value gives the defaults.
type ScanOptions struct {
	// Window is how far back Scan looks: blocks whose header time is in
	// [now − Window, now]. Default 2 × DefaultPulseInterval (20 minutes),
	// so that every node pulsing at the default interval shows up at
	// least once. (A block timed ahead of the scanner's clock is left
	// out; the node's earlier pulse in the window stands for it.)
	Window time.Duration
	// MaxBlocks caps the blocks Scan fetches (walking, each one GetBlock
	// request, two for a few near the window's edge). Default
	// DefaultMaxScanBlocks. At the cap Scan returns what it found with an
	// error matching ErrBlockLimit. Reading in batches, Scan leaves a
	// window of more blocks than the cap to the walk, which then stops at
	// it as described, with the newest pulses.
	MaxBlocks int
	// AllowLocalURLs keeps pulses whose relay URL names localhost or a
	// loopback, private, link-local or unspecified address. They are
	// dropped by default: such a URL is useless to anyone else, and
	// following it would make a wallet probe its own machine or network
	// at a stranger's request. Test networks set it.
	AllowLocalURLs bool
	// Progress, if set, is called every 100 blocks and once at the end
	// with Done set, from Scan's goroutine.
	Progress func(ScanProgress)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// ScanProgress reports how far a Scan got.
type ScanProgress struct {
	Blocks   int       // blocks fetched so far
	Requests int       // node requests made so far
	Pulses   int       // well-formed pulse transactions found so far (before one per URL)
	Dropped  int       // payloads that looked like pulses but were malformed, future-dated, local or not accepted
	Oldest   time.Time // time of the oldest block inside the window fetched so far
	Done     bool
	// Batched is set while and once Scan reads the window in batches
	// (see Scan).
	Batched bool
	// Fallback is why Scan gave up reading in batches and walked the DAG
	// block by block instead, or nil; Blocks, Pulses, Dropped and Oldest
	// then count again from zero, Requests goes on.
	Fallback error
}

func (o ScanOptions) withDefaults() ScanOptions {
	if o.Window <= 0 {
		o.Window = 2 * DefaultPulseInterval
	}
	if o.MaxBlocks <= 0 {
		o.MaxBlocks = DefaultMaxScanBlocks
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// progressEvery is how many blocks Scan fetches between Progress calls.
const progressEvery = 100

// txHintMargin: a parent found through a child at least this far inside
// the window is fetched with its transactions at once; nearer the edge it
// is fetched as a header first, and again with transactions only if it
// turns out to be inside.
const txHintMargin = 10 * time.Second

// maxChainRequests bounds the VirtualChainFromBlock requests of one Scan
// (rusty-kaspa answers in batches).
const maxChainRequests = 64

// Scan finds the pulses of the last opts.Window on the node c and returns
// them newest block first, one per relay URL (the newest), each checked by
// ParsePayload. It drops a pulse whose self-claimed timestamp is more than
// MaxClockSkew ahead of its block's time (a far-future timestamp ranked
// first in the original), a payload that mentions "kloak" but is
// malformed, a relay URL on a local address (see
// ScanOptions.AllowLocalURLs), and a pulse the DAG did not accept. A
// window without pulses gives an empty slice and a nil error.
//
// # How it walks the DAG
//
// A pulse may sit in any block, also in one that is merged but not on the
// selected chain, so Scan visits every block, not only chain blocks (the
// original read one). It starts at the DAG's tips and virtual parents
// (one GetBlockDAGInfo) and follows every block's parents backwards,
// breadth first, fetching each block once (GetBlock with transactions; a
// header first for blocks near the window's lower edge). It stops
// following parents at blocks older than the window by ScanMargin:
// consensus keeps a block's time within minutes of its descendants', so
// every block inside the window is reached through blocks newer than the
// margin.
//
// Then it asks the node which transactions the selected chain accepted
// since the oldest chain block it met (GetVirtualSelectedParentChainFromBlock
// with accepted transaction ids: one request, more on a node that answers
// in batches), and drops a pulse whose block has been merged by the chain
// but whose transaction was not accepted: a block may carry a transaction
// whose inputs do not exist, so only an accepted pulse proves that
// someone paid its fee. Pulses in blocks the chain has not merged yet
// (the newest) are kept.
//
// Cost: 1 + B + c requests for B blocks (the window plus the margin: about
// 15,000 on mainnet at 10 blocks per second for the default window, a few
// hundred on a devnet) and c chain requests (1 on Go kaspad). Work is
// capped by opts.MaxBlocks.
//
// # The fast path: batches
//
// If c is a BatchChain (a *node.Client is), Scan first locates a block L
// older than the window by ScanMargin and reads every block not in L's
// past in batches (GetBlocks), each batch starting where the last ended,
// until it has met every tip and virtual parent: the same blocks the walk
// reads, and a few more below the margin and above the tips, handled by
// the same rules. No block of the window is in L's past: a block's time
// exceeds the past median time of its own past (about two minutes back)
// and is at most two minutes ahead of the clock of the node that took
// it, so an ancestor of L is timed at most about four minutes after L.
//
// To find L it follows header parents by level (GetBlock without
// transactions): a block's level-k parents reach back about 2^k blocks,
// so it jumps by the highest level whose parent is still inside the
// margin and tries lower levels as jumps overshoot, ending at a direct
// parent that is older than the margin: about 2 × log2 B headers, plus
// one for each level above those that reach too far. (On a DAG whose
// blocks were all of one level it would be one header per block along
// one path back; Go kaspad's devnet headers carry about ten levels.)
//
// Cost: 1 + h + ⌈B/m⌉ + c requests, for h headers, batches of up to m
// blocks (the node's merge-set size limit + 1: 249 on mainnet, 181 on Go
// kaspad) and the c chain requests: for mainnet's 15,000 blocks, by
// estimate, about 100 requests instead of 15,000. If the node refuses a
// batch (a node without GetBlocks, a low block it has pruned), answers
// inconsistently, or the window holds more than opts.MaxBlocks blocks,
// Scan walks as above instead and says why in ScanProgress.Fallback.
func Scan(ctx context.Context, c Chain, opts ScanOptions) ([]Pulse, error) {
	o := opts.withDefaults()
	now := o.Now()
	w := newWalk(c, o, now)
	info, err := c.DAGInfo(ctx)
	w.prog.Requests++
	if err != nil {
		w.report(true)
		return nil, fmt.Errorf("scan: %w", err)
	}
	if bc, ok := c.(BatchChain); ok {
		pulses, err := w.runBatched(ctx, bc, info)
		var fb *batchFallback
		if !errors.As(err, &fb) {
			w.report(true)
			return pulses, err
		}
		requests := w.prog.Requests
		w = newWalk(c, o, now)
		w.prog.Requests, w.prog.Fallback = requests, fb.err
	}
	pulses, err := w.run(ctx, info)
	w.report(true)
	return pulses, err
}

func newWalk(c Chain, o ScanOptions, now time.Time) *walk {
	return &walk{
		c: c, opts: o,
		lo:      now.Add(-o.Window),
		hi:      now,
		stop:    now.Add(-o.Window - ScanMargin),
		blocks:  make(map[txbuild.Hash]*walkBlock),
		byTx:    make(map[txbuild.Hash]*found),
		queued:  make(map[txbuild.Hash]bool),
		tipsSet: make(map[txbuild.Hash]bool),
	}
}

// walkBlock is what the walk keeps of a fetched block.
type walkBlock struct {
	parents []txbuild.Hash
	time    time.Time
	chain   bool
	daa     uint64
}

// found is a well-formed pulse and the blocks it was seen in.
type found struct {
	pulse  Pulse
	blocks []txbuild.Hash
}

type queued struct {
	hash    txbuild.Hash
	withTxs bool
}

type walk struct {
	c    Chain
	opts ScanOptions

	lo, hi, stop time.Time

	blocks  map[txbuild.Hash]*walkBlock
	queued  map[txbuild.Hash]bool
	tipsSet map[txbuild.Hash]bool
	byTx    map[txbuild.Hash]*found
	oldest  time.Time // of all blocks fetched
	prog    ScanProgress
}

func (w *walk) report(done bool) {
	if w.opts.Progress == nil {
		return
	}
	p := w.prog
	p.Done = done
	w.opts.Progress(p)
}

func (w *walk) run(ctx context.Context, info node.DAGInfo) ([]Pulse, error) {
	var queue []queued
	for _, h := range slices.Concat(info.VirtualParents, info.TipHashes) {
		if !w.queued[h] {
			w.queued[h] = true
			w.tipsSet[h] = true
			queue = append(queue, queued{h, true})
		}
	}
	truncated := false
	for len(queue) > 0 {
		if len(w.blocks) >= w.opts.MaxBlocks {
			truncated = true
			break
		}
		q := queue[0]
		queue = queue[1:]
		b, err := w.fetch(ctx, q)
		if err != nil {
			return nil, err
		}
		if b.time.Before(w.stop) {
			continue
		}
		hint := b.time.After(w.lo.Add(txHintMargin))
		for _, p := range b.parents {
			if !w.queued[p] {
				w.queued[p] = true
				queue = append(queue, queued{p, hint})
			}
		}
	}
	pulses, err := w.finish(ctx)
	if err != nil {
		return nil, err
	}
	if truncated {
		return pulses, fmt.Errorf("%w: %d blocks fetched, back to %s, short of the window's start %s; raise ScanOptions.MaxBlocks",
			ErrBlockLimit, len(w.blocks), w.oldest.UTC().Format(time.RFC3339), w.lo.UTC().Format(time.RFC3339))
	}
	return pulses, nil
}

// fetch gets a block, reads its pulses if it is inside the window, and
// records it.
func (w *walk) fetch(ctx context.Context, q queued) (*walkBlock, error) {
	blk, err := w.c.Block(ctx, q.hash, q.withTxs)
	w.prog.Requests++
	if err != nil {
		return nil, fmt.Errorf("scan: block %s: %w", q.hash, err)
	}
	t := time.UnixMilli(blk.Timestamp)
	inside := !t.Before(w.lo) && !t.After(w.hi)
	if inside && !q.withTxs {
		if blk, err = w.c.Block(ctx, q.hash, true); err != nil {
			return nil, fmt.Errorf("scan: block %s: %w", q.hash, err)
		}
		w.prog.Requests++
	}
	return w.record(q.hash, blk), nil
}

// record keeps what the walk needs of a block fetched with its
// transactions (or a header below the window) and reads its pulses if it
// is inside the window.
func (w *walk) record(hash txbuild.Hash, blk *node.Block) *walkBlock {
	t := time.UnixMilli(blk.Timestamp)
	inside := !t.Before(w.lo) && !t.After(w.hi)
	b := &walkBlock{parents: blk.Parents, time: t, chain: blk.IsChainBlock, daa: blk.DAAScore}
	w.blocks[hash] = b
	w.prog.Blocks++
	if w.oldest.IsZero() || t.Before(w.oldest) {
		w.oldest = t
	}
	if inside {
		if w.prog.Oldest.IsZero() || t.Before(w.prog.Oldest) {
			w.prog.Oldest = t
		}
		for _, tx := range blk.Transactions {
			w.readPulse(tx, hash, t)
		}
	}
	if w.prog.Blocks%progressEvery == 0 {
		w.report(false)
	}
	return b
}

// kloakMarker is what a payload must contain to count as an attempted
// pulse when it fails to parse (so that other payloads are not counted
// as dropped pulses).
var kloakMarker = []byte(`"kloak"`)

func (w *walk) readPulse(tx *txbuild.Transaction, block txbuild.Hash, t time.Time) {
	if len(tx.Payload) == 0 || tx.SubnetworkID != (txbuild.SubnetworkID{}) {
		return // coinbase and other subnetworks carry no pulses
	}
	p, err := ParsePayload(tx.Payload)
	if err != nil {
		if bytes.Contains(tx.Payload, kloakMarker) {
			w.prog.Dropped++
		}
		return
	}
	if p.Timestamp > t.Add(MaxClockSkew).Unix() {
		w.prog.Dropped++ // future-dated: it would rank itself first
		return
	}
	if !w.opts.AllowLocalURLs && isLocalURL(p.WSURL) {
		w.prog.Dropped++
		return
	}
	id := tx.ID()
	if f, ok := w.byTx[id]; ok {
		f.blocks = append(f.blocks, block)
		if t.Before(f.pulse.BlockTime) {
			f.pulse.BlockHash, f.pulse.BlockTime = block, t
		}
		return
	}
	w.byTx[id] = &found{pulse: Pulse{Payload: p, TransactionID: id, BlockHash: block, BlockTime: t}, blocks: []txbuild.Hash{block}}
	w.prog.Pulses++
}

// finish drops the pulses the DAG did not accept, keeps the newest per
// URL and ranks them.
func (w *walk) finish(ctx context.Context) ([]Pulse, error) {
	if len(w.byTx) > 0 {
		if err := w.dropUnaccepted(ctx); err != nil {
			return nil, err
		}
	}
	newest := make(map[string]Pulse)
	for _, f := range w.byTx {
		k := urlKey(f.pulse.WSURL)
		if cur, ok := newest[k]; !ok || later(f.pulse, cur) {
			newest[k] = f.pulse
		}
	}
	out := make([]Pulse, 0, len(newest))
	for _, p := range newest {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pulse) int {
		if later(a, b) {
			return -1
		}
		if later(b, a) {
			return 1
		}
		return 0
	})
	return out, nil
}

// later orders pulses by block time, then self-claimed timestamp, then
// transaction id, so that the order is total.
func later(a, b Pulse) bool {
	if !a.BlockTime.Equal(b.BlockTime) {
		return a.BlockTime.After(b.BlockTime)
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return bytes.Compare(a.TransactionID[:], b.TransactionID[:]) > 0
}

// dropUnaccepted removes the pulses whose block the selected chain has
// merged without accepting the transaction.
//
// S is the oldest chain block the walk fetched; the node lists the
// transactions each chain block after S accepted. A block the walk can
// reach from V, the newest of those chain blocks it fetched, is merged by
// V or before (but after S unless S reaches it too), so its pulse must be
// on the list. V's own transactions and those of blocks V does not reach
// are accepted by chain blocks still to come, or by none yet: kept.
func (w *walk) dropUnaccepted(ctx context.Context) error {
	var (
		start txbuild.Hash
		have  bool
	)
	for h, b := range w.blocks {
		if b.chain && (!have || b.daa < w.blocks[start].daa) {
			start, have = h, true
		}
	}
	if !have {
		return nil
	}
	accepted := make(map[txbuild.Hash]bool)
	last := start
	newestFetched := start
	from := start
	for range maxChainRequests {
		vc, err := w.c.VirtualChainFromBlock(ctx, from, true)
		w.prog.Requests++
		if err != nil {
			return fmt.Errorf("scan: accepted transactions since chain block %s: %w", from, err)
		}
		for _, a := range vc.Accepted {
			for _, id := range a.IDs {
				accepted[id] = true
			}
		}
		reachedTip := false
		for _, h := range vc.Added {
			if _, ok := w.blocks[h]; ok {
				newestFetched = h
			}
			if w.tipsSet[h] {
				reachedTip = true
			}
		}
		if len(vc.Added) == 0 || reachedTip {
			break
		}
		last = vc.Added[len(vc.Added)-1]
		if last == from {
			break
		}
		from = last
	}
	fromStart := w.reach(start)
	fromNewest := w.reach(newestFetched)
	for id, f := range w.byTx {
		if accepted[id] {
			continue
		}
		merged := false
		for _, b := range f.blocks {
			if fromStart[b] {
				merged = false // accepted before S: the list cannot tell
				break
			}
			if b != newestFetched && fromNewest[b] {
				merged = true
			}
		}
		if merged {
			delete(w.byTx, id)
			w.prog.Dropped++
		}
	}
	return nil
}

// reach returns the fetched blocks reachable from h through parents,
// h included.
func (w *walk) reach(h txbuild.Hash) map[txbuild.Hash]bool {
	seen := map[txbuild.Hash]bool{h: true}
	stack := []txbuild.Hash{h}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		b, ok := w.blocks[x]
		if !ok {
			continue
		}
		for _, p := range b.parents {
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return seen
}
