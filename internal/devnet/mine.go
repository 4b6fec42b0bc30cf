package devnet

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kaspanet/kaspad/app/appmessage"
	"github.com/kaspanet/kaspad/util"
)

// pollInterval is how often the harness asks the node whether a wait is over.
const pollInterval = 100 * time.Millisecond

// Miner is a kaspaminer process mining to one address on a Node.
type Miner struct {
	node    *Node
	proc    *process
	address string
}

// StartMiner starts kaspaminer mining to address (a kaspadev: address) at the node's
// BlocksPerSecond, until Stop or the node's Close.
func (n *Node) StartMiner(address string) (*Miner, error) {
	if _, err := util.DecodeAddress(address, util.Bech32PrefixKaspaDev); err != nil {
		return nil, fmt.Errorf("devnet: mining address %q is not a devnet address: %w", address, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	n.nMiners++
	args := []string{
		"--devnet",
		"--rpcserver=" + n.rpcAddr,
		"--miningaddr=" + address,
		"--mine-when-not-synced",
		"--override-dag-params-file=" + n.paramsFile,
		"--target-blocks-per-second=" + strconv.Itoa(n.opts.blocksPerSecond()),
	}
	logPath := filepath.Join(n.dir, fmt.Sprintf("kaspaminer-%d.log", n.nMiners))
	env := append(n.env(), "KASPAMINER_APPDIR="+filepath.Join(n.dir, fmt.Sprintf("kaspaminer-%d", n.nMiners)))
	p, err := startProcess("kaspaminer", logPath, n.tee, env, n.bins.Kaspaminer, args...)
	if err != nil {
		return nil, err
	}
	m := &Miner{node: n, proc: p, address: address}
	n.miners[m] = struct{}{}
	return m, nil
}

// Stop stops the miner (SIGINT, then SIGKILL after 15 s). It returns an error wrapping
// ErrMinerExited if the miner had exited on its own before. Calling it again does nothing.
func (m *Miner) Stop() error {
	m.node.mu.Lock()
	_, running := m.node.miners[m]
	delete(m.node.miners, m)
	m.node.mu.Unlock()
	if !running {
		return nil
	}
	if m.proc.exited() {
		return m.proc.exitError(ErrMinerExited)
	}
	_, err := m.proc.stop()
	return err
}

// PID is kaspaminer's process id.
func (m *Miner) PID() int { return m.proc.pid() }

// MineUntil mines to address until done reports true, which it asks every 100 ms, then stops
// the miner. It fails if ctx ends first, if done fails, or if the miner exits.
func (n *Node) MineUntil(ctx context.Context, address string, done func(context.Context) (bool, error)) error {
	m, err := n.StartMiner(address)
	if err != nil {
		return err
	}
	err = n.waitWhileMining(ctx, m, done)
	if stopErr := m.Stop(); err == nil {
		err = stopErr
	}
	return err
}

func (n *Node) waitWhileMining(ctx context.Context, m *Miner, done func(context.Context) (bool, error)) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		ok, err := done(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("devnet: mining to %s: %w", m.address, context.Cause(ctx))
			}
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-m.proc.done:
			return m.proc.exitError(ErrMinerExited)
		case <-n.node.done:
			return n.node.exitError(ErrNodeExited)
		case <-ctx.Done():
			return fmt.Errorf("devnet: mining to %s: %w", m.address, context.Cause(ctx))
		case <-ticker.C:
		}
	}
}

// MineUntilSpendable mines to address until it holds at least minSompi (at least 1) that can be
// spent now: outputs of ordinary transactions, and coinbase outputs past SpendMaturity.
// It returns that spendable amount, read after the miner stopped.
func (n *Node) MineUntilSpendable(ctx context.Context, address string, minSompi uint64) (uint64, error) {
	minSompi = max(minSompi, 1)
	err := n.MineUntil(ctx, address, func(ctx context.Context) (bool, error) {
		got, err := n.SpendableBalance(ctx, address)
		return got >= minSompi, err
	})
	if err != nil {
		return 0, err
	}
	return n.SpendableBalance(ctx, address)
}

// MineBlocks mines exactly count blocks paying address, one after the other, each from a
// template the node builds after the previous block was accepted, and returns once the node
// has accepted them all. The first block holds every transaction that was in the mempool when
// MineBlocks was called (kaspad caches a template for up to a second; MineBlocks waits that
// out), so a transaction submitted before is in the DAG when it returns. It submits the
// templates itself, over RPC, rather than through kaspaminer: a miner may mine several blocks
// from one stale template.
func (n *Node) MineBlocks(ctx context.Context, address string, count int) error {
	if count <= 0 {
		return fmt.Errorf("devnet: MineBlocks: count %d, want > 0", count)
	}
	if _, err := util.DecodeAddress(address, util.Bech32PrefixKaspaDev); err != nil {
		return fmt.Errorf("devnet: mining address %q is not a devnet address: %w", address, err)
	}
	if n.isClosed() {
		return ErrClosed
	}
	pending, err := n.rpc.mempoolTransactionIDs(ctx)
	if err != nil {
		return fmt.Errorf("devnet: GetMempoolEntries: %w", err)
	}
	for i := range count {
		block, err := n.freshTemplate(ctx, address, pending)
		if err != nil {
			return err
		}
		pending = nil
		if err := n.rpc.submitBlock(ctx, block); err != nil {
			return fmt.Errorf("devnet: block %d of %d: %w", i+1, count, err)
		}
	}
	return nil
}

// templateCacheAge bounds how long kaspad v0.12.23 serves a cached block template
// (miningmanager.getImmutableCachedTemplate: one second), with a margin.
const templateCacheAge = 2 * time.Second

// freshTemplate returns a block template for address that holds every transaction in want,
// asking again while kaspad serves a template cached before they arrived. A transaction still
// missing after templateCacheAge is one kaspad chose to leave out; the template is used anyway.
func (n *Node) freshTemplate(ctx context.Context, address string, want map[string]bool) (*appmessage.RPCBlock, error) {
	deadline := time.Now().Add(templateCacheAge)
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		block, err := n.rpc.getBlockTemplate(ctx, address)
		if err != nil {
			return nil, fmt.Errorf("devnet: GetBlockTemplate: %w", err)
		}
		if len(want) == 0 || time.Now().After(deadline) {
			return block, nil
		}
		found := 0
		for _, tx := range block.Transactions {
			id, err := rpcTransactionID(tx)
			if err != nil {
				return nil, err
			}
			if want[id] {
				found++
			}
		}
		if found == len(want) {
			return block, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("devnet: waiting for a block template with the mempool's transactions: %w",
				context.Cause(ctx))
		case <-ticker.C:
		}
	}
}

// SpendableBalance is what address can spend now, in sompi: the sum of its UTXOs, leaving out
// coinbase outputs whose block's DAA score + SpendMaturity exceeds the virtual DAA score
// (kaspad refuses to spend immature ones: transactionvalidator's checkTransactionCoinbaseMaturity;
// SpendMargin says why the margin).
func (n *Node) SpendableBalance(ctx context.Context, address string) (uint64, error) {
	if n.isClosed() {
		return 0, ErrClosed
	}
	// The DAA score is read first: UTXOs that arrive after it are younger and wait longer, so
	// the answer errs toward too little, never too much.
	dag, err := n.rpc.getBlockDAGInfo(ctx)
	if err != nil {
		return 0, fmt.Errorf("devnet: GetBlockDAGInfo: %w", err)
	}
	entries, err := n.rpc.getUTXOsByAddresses(ctx, []string{address})
	if err != nil {
		return 0, fmt.Errorf("devnet: GetUTXOsByAddresses: %w", err)
	}
	maturity := n.SpendMaturity()
	var sum uint64
	for _, e := range entries {
		u := e.UTXOEntry
		if u == nil {
			return 0, errors.New("devnet: GetUTXOsByAddresses: an entry without its UTXO")
		}
		if u.IsCoinbase && u.BlockDAAScore+maturity > dag.VirtualDAAScore {
			continue
		}
		sum += u.Amount
	}
	return sum, nil
}
