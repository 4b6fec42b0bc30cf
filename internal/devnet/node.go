package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaspanet/kaspad/infrastructure/network/rpcclient"
)

// Options configure a devnet node. The zero value is a patched node with coinbase maturity 10
// whose miners aim at 20 blocks a second, its data in a new temporary directory.
type Options struct {
	// Unpatched runs kaspad v0.12.23 as released, which refuses a payload on a native
	// transaction (pre-Crescendo). It is built and cached apart from the patched node.
	Unpatched bool

	// CoinbaseMaturity is how many DAA scores a coinbase output waits before it can be spent:
	// spendable when its block's DAA score + CoinbaseMaturity <= the virtual DAA score.
	// Zero means 10 (mainnet: 100 before Crescendo, 1,000 after).
	CoinbaseMaturity uint64

	// BlocksPerSecond is the block rate kaspaminer aims at. Zero means 20.
	BlocksPerSecond int

	// Log, if not nil, receives kaspad's and kaspaminer's output as they write it, and the
	// harness's own progress lines. Their output also goes to log files in Dir in any case.
	Log io.Writer

	// Dir holds the node's data and the log files. Empty means a new temporary directory,
	// removed by Close. Start uses the test's TempDir.
	Dir string

	// CacheDir holds built binaries between runs. Empty means $KLOAK_DEVNET_CACHE, else
	// kloak/devnet under os.UserCacheDir, else under os.TempDir.
	CacheDir string

	// BuildTimeout bounds building the binaries when they are not cached. Zero means 10 minutes.
	BuildTimeout time.Duration

	// StartTimeout bounds the wait for kaspad to answer on its RPC port. Zero means 1 minute.
	StartTimeout time.Duration

	// progress, set by Start, receives the harness's progress lines when Log is nil.
	progress func(msg string)
}

func (o Options) coinbaseMaturity() uint64 {
	if o.CoinbaseMaturity == 0 {
		return 10
	}
	return o.CoinbaseMaturity
}

func (o Options) blocksPerSecond() int {
	if o.BlocksPerSecond <= 0 {
		return 20
	}
	return o.BlocksPerSecond
}

func (o Options) buildTimeout() time.Duration {
	if o.BuildTimeout <= 0 {
		return 10 * time.Minute
	}
	return o.BuildTimeout
}

func (o Options) startTimeout() time.Duration {
	if o.StartTimeout <= 0 {
		return time.Minute
	}
	return o.StartTimeout
}

func (o Options) cacheRoot() (string, error) {
	if o.CacheDir != "" {
		return filepath.Abs(o.CacheDir)
	}
	if d := os.Getenv("KLOAK_DEVNET_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kloak", "devnet"), nil
	}
	return filepath.Join(os.TempDir(), "kloak-devnet-cache"), nil
}

// Node is a running kaspad on devnet, listening on 127.0.0.1 only, with no DNS seeding and no
// outbound peers, its UTXO index on. Close stops it and every miner started on it.
type Node struct {
	opts       Options
	bins       *Binaries
	dir        string
	removeDir  bool
	paramsFile string
	rpcAddr    string
	p2pAddr    string
	tee        io.Writer // nil, or opts.Log behind a lock
	log        *slog.Logger
	node       *process
	rpc        *rpcConn

	mu      sync.Mutex
	closed  bool
	miners  map[*Miner]struct{}
	clients []*rpcclient.RPCClient
	nMiners int
}

// Start starts a node for a test and stops it when the test ends, passed or failed. It fails
// the test, with the reason, if the node cannot be built or started. The build (first run
// only) and the start are bounded by the Options' timeouts and by the test's deadline.
func Start(tb testing.TB, opts Options) *Node {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	if opts.Log == nil && opts.progress == nil {
		opts.progress = func(msg string) { tb.Log("devnet: " + msg) }
	}
	ctx := context.Background()
	if d, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
	}
	n, err := StartNode(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("devnet: last lines of %s:\n%s", n.node.logPath, n.node.logTail())
		}
		if err := n.Close(); err != nil {
			tb.Error(err)
		}
	})
	return n
}

// StartNode builds the node if it is not cached (see Build), starts it and returns once it
// answers GetInfo on its RPC port. ctx bounds the build and the start; the node then runs
// until Close.
func StartNode(ctx context.Context, opts Options) (*Node, error) {
	n := &Node{opts: opts, miners: make(map[*Miner]struct{})}
	switch {
	case opts.Log != nil:
		n.tee = &lockedWriter{w: opts.Log}
		n.log = slog.New(slog.NewTextHandler(n.tee, nil)).With("devnet", "harness")
	case opts.progress != nil:
		n.log = slog.New(slog.NewTextHandler(progressWriter(opts.progress), &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
					return slog.Attr{}
				}
				return a
			},
		}))
	default:
		n.log = slog.New(slog.DiscardHandler)
	}

	t0 := time.Now()
	bins, err := Build(ctx, opts)
	if err != nil {
		return nil, err
	}
	n.bins = bins
	if bins.Built {
		n.log.Info("built kaspad and kaspaminer", "dir", bins.Dir, "took", time.Since(t0).Round(time.Millisecond))
	} else {
		n.log.Info("using cached kaspad and kaspaminer", "dir", bins.Dir)
	}

	n.dir, n.removeDir = opts.Dir, false
	if n.dir == "" {
		if n.dir, err = os.MkdirTemp("", "kloak-devnet-"); err != nil {
			return nil, fmt.Errorf("devnet: %w", err)
		}
		n.removeDir = true
	}
	ok := false
	defer func() {
		if !ok && n.removeDir {
			_ = os.RemoveAll(n.dir)
		}
	}()
	if err := os.MkdirAll(filepath.Join(n.dir, "home"), 0o755); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	n.paramsFile = filepath.Join(n.dir, "dag-params.json")
	params, _ := json.Marshal(map[string]any{
		"blockCoinbaseMaturity": opts.coinbaseMaturity(),
		"skipProofOfWork":       true,
	})
	if err := os.WriteFile(n.paramsFile, params, 0o644); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, opts.startTimeout())
	defer cancel()
	t1 := time.Now()
	// A port chosen free can be taken before kaspad binds it: then kaspad exits saying so, and
	// we try again with new ports.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		err = n.startKaspad(ctx, attempt)
		if err == nil {
			break
		}
		if attempt == attempts || !errors.Is(err, errPortTaken) {
			return nil, err
		}
		n.log.Info("port taken, retrying with new ports", "err", err)
	}
	ok = true
	n.log.Info("kaspad ready", "rpc", n.rpcAddr, "p2p", n.p2pAddr, "pid", n.node.pid(),
		"took", time.Since(t1).Round(time.Millisecond))
	return n, nil
}

var errPortTaken = errors.New("port taken")

// startKaspad starts kaspad on two free ports and waits until it answers GetInfo.
func (n *Node) startKaspad(ctx context.Context, attempt int) error {
	ports, err := freePorts(2)
	if err != nil {
		return fmt.Errorf("devnet: choosing ports: %w", err)
	}
	n.p2pAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
	n.rpcAddr = "127.0.0.1:" + strconv.Itoa(ports[1])
	appDir := filepath.Join(n.dir, "kaspad")
	_ = os.RemoveAll(appDir) // what a failed attempt left
	p, err := startProcess("kaspad", filepath.Join(n.dir, fmt.Sprintf("kaspad-%d.log", attempt)), n.tee, n.env(),
		n.bins.Kaspad,
		"--devnet",
		"--appdir="+appDir,
		"--configfile="+filepath.Join(n.dir, "kaspad.conf"), // not ~/.kaspad/kaspad.conf
		"--listen="+n.p2pAddr,
		"--rpclisten="+n.rpcAddr,
		"--nodnsseed",
		"--outpeers=0",
		"--utxoindex",
		"--allow-submit-block-when-not-synced",
		"--override-dag-params-file="+n.paramsFile,
	)
	if err != nil {
		return err
	}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		if c, err := probeRPC(ctx, n.rpcAddr); err == nil {
			n.node, n.rpc = p, c
			return nil
		}
		select {
		case <-p.done:
			err := p.exitError(ErrNodeExited)
			if t := p.logTail(); strings.Contains(t, "address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		case <-ctx.Done():
			_, _ = p.stop()
			return fmt.Errorf("devnet: kaspad did not answer GetInfo on %s: %w; last lines of %s:\n%s",
				n.rpcAddr, context.Cause(ctx), p.logPath, p.logTail())
		case <-ticker.C:
		}
	}
}

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// env gives kaspad and kaspaminer a HOME of their own, so that neither reads or writes the
// real one through it. (Both find their default directories through the user database, not
// HOME: kaspad gets --configfile, kaspaminer KASPAMINER_APPDIR, see minerLogPatch.)
func (n *Node) env() []string {
	home := filepath.Join(n.dir, "home")
	env := []string{"HOME=" + home}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return env
}

// RPCAddress is kaspad's gRPC address, 127.0.0.1:port.
func (n *Node) RPCAddress() string { return n.rpcAddr }

// P2PAddress is kaspad's peer-to-peer address, 127.0.0.1:port.
func (n *Node) P2PAddress() string { return n.p2pAddr }

// Dir is the node's directory: kaspad/ (its appdir), the logs, dag-params.json.
func (n *Node) Dir() string { return n.dir }

// PID is kaspad's process id.
func (n *Node) PID() int { return n.node.pid() }

// Binaries are the programs the node and its miners run.
func (n *Node) Binaries() *Binaries { return n.bins }

// CoinbaseMaturity is the node's coinbase maturity in DAA scores: the consensus rule.
func (n *Node) CoinbaseMaturity() uint64 { return n.opts.coinbaseMaturity() }

// SpendMargin is how many DAA scores past the coinbase maturity SpendMaturity waits. kaspad's
// UTXO index can show a coinbase output with the DAA score of the chain block that accepted it
// first; when a parallel block (kaspaminer mines several from one template) takes over the
// selected chain, consensus gives the output the later score of its new accepting block, and
// the index catches up a moment after the virtual. An output the index calls just mature is
// then refused as "spends an immature UTXO". Forty scores are two seconds of mining at the
// default rate and far more than any such shift seen.
const SpendMargin = 40

// SpendMaturity is the coinbase maturity a spender on this node should assume:
// CoinbaseMaturity + SpendMargin. SpendableBalance, MineUntilSpendable and every test that
// picks a coinbase output to spend use it.
func (n *Node) SpendMaturity() uint64 { return n.opts.coinbaseMaturity() + SpendMargin }

// LogTail returns the last lines kaspad wrote.
func (n *Node) LogTail() string { return n.node.logTail() }

// Client returns a kaspad rpcclient connected to the node, for tests that want kaspad's own
// client. Close it, or leave it to Node.Close, which closes it before the node stops: an
// rpcclient whose node goes away first retries forever in a goroutine of its own.
//
// Like rpcclient.NewRPCClient, it takes up to 5 s to connect and 30 s for its first GetInfo.
func (n *Node) Client() (*rpcclient.RPCClient, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	c, err := rpcclient.NewRPCClient(n.rpcAddr)
	if err != nil {
		return nil, fmt.Errorf("devnet: rpcclient for %s: %w", n.rpcAddr, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed { // Close ran while we connected
		_ = c.Close()
		return nil, ErrClosed
	}
	n.clients = append(n.clients, c)
	return c, nil
}

// Close stops the miners (SIGINT, then SIGKILL after 15 s), closes the clients from Client,
// stops kaspad the same way and removes Dir if StartNode made it. It returns an error if
// kaspad had exited on its own before. Calling it again does nothing.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	miners := make([]*Miner, 0, len(n.miners))
	for m := range n.miners {
		miners = append(miners, m)
	}
	clients := n.clients
	n.clients = nil
	n.mu.Unlock()

	var errs []error
	for _, m := range miners {
		if err := m.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range clients {
		_ = c.Close() // fails only if the test closed it already
	}
	_ = n.rpc.close()
	if n.node.exited() {
		errs = append(errs, n.node.exitError(ErrNodeExited))
	} else {
		killed, err := n.node.stop()
		if err != nil {
			errs = append(errs, err)
		} else if killed {
			n.log.Warn("kaspad ignored SIGINT; killed", "pid", n.node.pid())
		}
	}
	if n.removeDir {
		if err := os.RemoveAll(n.dir); err != nil {
			errs = append(errs, fmt.Errorf("devnet: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (n *Node) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

type progressWriter func(string)

func (p progressWriter) Write(b []byte) (int, error) {
	p(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
