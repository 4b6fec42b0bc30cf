package discovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// batchFallback is why Scan leaves the batches for the walk.
type batchFallback struct{ err error }

func (f *batchFallback) Error() string { return "scan in batches: " + f.err.Error() }

// fallBack wraps why the batches cannot go on, unless ctx is done: then
// the walk could not go on either, and the error is Scan's.
func fallBack(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return &batchFallback{err}
}

// runBatched reads the window in batches from a block below the margin,
// recording blocks and pulses as the walk does (see Scan).
func (w *walk) runBatched(ctx context.Context, c BatchChain, info node.DAGInfo) ([]Pulse, error) {
	w.prog.Batched = true
	w.report(false)
	for _, hs := range [][]txbuild.Hash{info.VirtualParents, info.TipHashes} {
		for _, h := range hs {
			w.tipsSet[h] = true
		}
	}
	if len(w.tipsSet) == 0 {
		return nil, fallBack(ctx, fmt.Errorf("the node names no tips"))
	}
	start := info.TipHashes
	if len(info.VirtualParents) > 0 {
		start = info.VirtualParents
	}
	low, err := w.locate(ctx, start[0])
	if err != nil {
		return nil, fallBack(ctx, err)
	}
	if info.VirtualDAAScore > low.DAAScore && info.VirtualDAAScore-low.DAAScore > uint64(w.opts.MaxBlocks) {
		return nil, fallBack(ctx, fmt.Errorf("about %d blocks since %s (DAA score %d to %d), more than MaxBlocks %d",
			info.VirtualDAAScore-low.DAAScore, low.Hash, low.DAAScore, info.VirtualDAAScore, w.opts.MaxBlocks))
	}
	unseen := len(w.tipsSet)
	for from := low.Hash; ; {
		batch, err := c.BlocksFrom(ctx, from, true)
		w.prog.Requests++
		if err != nil {
			return nil, fallBack(ctx, fmt.Errorf("blocks from %s: %w", from, err))
		}
		if len(batch) == 0 || batch[0].Hash != from {
			return nil, fallBack(ctx, fmt.Errorf("%w: the batch from %s does not start with it", node.ErrProtocol, from))
		}
		fresh := 0
		for _, blk := range batch {
			if _, ok := w.blocks[blk.Hash]; ok {
				continue // Go kaspad may list the low twice
			}
			if len(w.blocks) >= w.opts.MaxBlocks {
				return nil, fallBack(ctx, fmt.Errorf("more than MaxBlocks %d blocks since %s", w.opts.MaxBlocks, low.Hash))
			}
			w.record(blk.Hash, blk)
			fresh++
			if w.tipsSet[blk.Hash] {
				unseen--
			}
		}
		if unseen == 0 {
			break
		}
		next := batch[len(batch)-1].Hash
		if fresh == 0 || next == from {
			return nil, fallBack(ctx, fmt.Errorf("%w: the batch from %s brings no new blocks, %d tips not met", node.ErrProtocol, from, unseen))
		}
		from = next
	}
	return w.finish(ctx)
}

// locate returns the header of an ancestor of start older than w.stop,
// or of start itself if it is: the low of the first batch. It follows
// header parents by level: at each block it takes the highest level (no
// higher than the level of the last jump) whose first parent is still no
// older than w.stop, and at level 0 it ends on a direct parent older than
// w.stop. Each header is fetched once, so levels whose first parent is
// one already found too old cost nothing; a far parent the node refuses
// to send counts as too old.
func (w *walk) locate(ctx context.Context, start txbuild.Hash) (*node.Block, error) {
	headers := make(map[txbuild.Hash]*node.Block)
	pruned := make(map[txbuild.Hash]bool)
	header := func(h txbuild.Hash) (*node.Block, error) {
		if b, ok := headers[h]; ok {
			return b, nil
		}
		if pruned[h] {
			return nil, &node.NodeError{Request: "GetBlock", Message: "refused before"}
		}
		if len(headers) >= w.opts.MaxBlocks {
			return nil, fmt.Errorf("no block older than %s within MaxBlocks %d headers of %s", w.stop.UTC().Format(time.RFC3339), w.opts.MaxBlocks, start)
		}
		b, err := w.c.Block(ctx, h, false)
		w.prog.Requests++
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h, err)
		}
		headers[h] = b
		return b, nil
	}
	x, err := header(start)
	if err != nil || time.UnixMilli(x.Timestamp).Before(w.stop) {
		return x, err
	}
	top := len(x.ParentsByLevel) - 1
	for {
		jumped := false
		for l := min(top, len(x.ParentsByLevel)-1); l >= 0 && !jumped; l-- {
			ps := x.ParentsByLevel[l]
			if len(ps) == 0 {
				continue
			}
			p, err := header(ps[0])
			var refused *node.NodeError
			if l > 0 && errors.As(err, &refused) {
				// A far parent may be below the node's pruning point,
				// where it keeps no block to send: too old anyway.
				pruned[ps[0]] = true
				continue
			}
			if err != nil {
				return nil, err
			}
			switch {
			case !time.UnixMilli(p.Timestamp).Before(w.stop):
				x, top, jumped = p, l, true
			case l == 0:
				return p, nil
			}
		}
		if !jumped {
			// No parents at all: x is the genesis, and nothing is in its
			// past but itself.
			return x, nil
		}
	}
}
