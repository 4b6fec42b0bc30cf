package discovery

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/kaspanet/kaspad/app/appmessage"
	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
)

// BenchmarkScan scans a devnet DAG of a few hundred blocks, mined by
// kaspaminer (so with parallel, merged blocks), over a window that holds
// them all, through a real gRPC client, walking (one GetBlock per block
// plus one chain request) and in batches (a few headers, one GetBlocks
// per 181 blocks, one chain request). Its blocks hold a coinbase each;
// BenchmarkScanFullBlocks scans blocks as full as mainnet's.
func BenchmarkScan(b *testing.B) {
	dev := devnet.Start(b, devnet.Options{BlocksPerSecond: 50})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := node.Dial(ctx, dev.RPCAddress(), node.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	miner := testkit.NewKey(b, address.Devnet, 0x44)
	const want = 400
	err = dev.MineUntil(ctx, miner.Addr.String(), func(ctx context.Context) (bool, error) {
		info, err := c.DAGInfo(ctx)
		return info.BlockCount >= want, err
	})
	if err != nil {
		b.Fatal(err)
	}
	benchScan(b, ctx, c)
}

// BenchmarkScanFullBlocks scans a devnet DAG in which 2,000 transactions
// (one input, one output, one in 20 a pulse) fill about ten blocks, as
// full as Go kaspad's block mass limit lets them be, among blocks that
// hold only a coinbase.
func BenchmarkScanFullBlocks(b *testing.B) {
	dev := devnet.Start(b, devnet.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := node.Dial(ctx, dev.RPCAddress(), node.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	bank, miner := testkit.NewKey(b, address.Devnet, 0x46), testkit.NewKey(b, address.Devnet, 0x47)
	const (
		fanouts = 10
		perFan  = 200
		coin    = 1_000_000 // sompi a small output
		fee     = 20_000    // sompi a small spend, well above Go kaspad's 1 sompi/gram
		fanFee  = 200_000   // sompi a fan-out
	)
	// Mine until the bank holds ten mature coinbase outputs, then fan each
	// out into 200 outputs (Go kaspad takes up to 100,000 grams a
	// transaction, about 240 outputs, and refuses as spam a transaction
	// with more than two extra outputs that pays less than 1 KAS each
	// unless it spends a coinbase output).
	var coins []txbuild.UTXO
	err = dev.MineUntil(ctx, bank.Addr.String(), func(ctx context.Context) (bool, error) {
		info, err := c.DAGInfo(ctx)
		if err != nil {
			return false, err
		}
		utxos, err := c.UTXOsByAddresses(ctx, []address.Address{bank.Addr})
		if err != nil {
			return false, err
		}
		coins = slices.DeleteFunc(utxos, func(u txbuild.UTXO) bool {
			return u.Entry.Amount < perFan*coin+fanFee || !u.Entry.IsCoinbase ||
				u.Entry.BlockDAAScore+dev.SpendMaturity() > info.VirtualDAAScore
		})
		return len(coins) >= fanouts, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	submit := func(tx *txbuild.Transaction, entries []txbuild.UTXOEntry) txbuild.Hash {
		for i := range tx.Inputs {
			if err := txbuild.SignInput(tx, entries, i, txbuild.SigHashAll, bank.Priv); err != nil {
				b.Fatal(err)
			}
		}
		id, err := c.SubmitTransaction(ctx, tx)
		if err != nil {
			b.Fatal(err)
		}
		return id
	}
	var small []txbuild.UTXO
	for _, u := range coins[:fanouts] {
		tx := &txbuild.Transaction{Inputs: []txbuild.Input{{PreviousOutpoint: u.Outpoint, SigOpCount: 1}}}
		for range perFan - 1 {
			tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: coin, ScriptPublicKey: bank.Addr.ScriptPublicKey()})
		}
		tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: u.Entry.Amount - fanFee - (perFan-1)*coin, ScriptPublicKey: bank.Addr.ScriptPublicKey()})
		id := submit(tx, []txbuild.UTXOEntry{u.Entry})
		for j, o := range tx.Outputs {
			small = append(small, txbuild.UTXO{Address: bank.Addr, Outpoint: txbuild.Outpoint{TransactionID: id, Index: uint32(j)},
				Entry: txbuild.UTXOEntry{Amount: o.Amount, ScriptPublicKey: o.ScriptPublicKey}})
		}
	}
	if len(small) < fanouts*perFan {
		b.Fatalf("the bank has %d small outputs, want %d", len(small), fanouts*perFan)
	}
	if err := dev.MineBlocks(ctx, miner.Addr.String(), 1); err != nil {
		b.Fatal(err)
	}
	// Spend each small output on its own: 2,000 transactions, 100 of them
	// pulses.
	var ids []txbuild.Hash
	for i, u := range small {
		tx := &txbuild.Transaction{
			Inputs:  []txbuild.Input{{PreviousOutpoint: u.Outpoint, SigOpCount: 1}},
			Outputs: []txbuild.Output{{Amount: u.Entry.Amount - fee, ScriptPublicKey: miner.Addr.ScriptPublicKey()}},
		}
		if i%20 == 0 {
			p, err := NewPayload(fmt.Sprintf("wss://relay%d.example.org/kpp", i), time.Now(), nil)
			if err != nil {
				b.Fatal(err)
			}
			tx.Payload = p.Encode()
		}
		ids = append(ids, submit(tx, []txbuild.UTXOEntry{u.Entry}))
	}
	for n := 0; ; n++ {
		if n == 60 {
			b.Fatal("transactions still in the mempool after 60 blocks")
		}
		if err := dev.MineBlocks(ctx, miner.Addr.String(), 1); err != nil {
			b.Fatal(err)
		}
		pending := 0
		for _, id := range sample(ids, 100) {
			in, err := c.InMempool(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if in {
				pending++
			}
		}
		if pending == 0 {
			break
		}
	}
	benchScan(b, ctx, c)
}

// benchScan scans the node's DAG over a window that holds it all, walking
// and in batches, and reports blocks/s, transactions a block, requests a
// block, and where the scan's wall time goes: in the node's calls (the
// request, kaspad's answer, gRPC and protobuf), in kloak's decoding of the
// answer (node's conversion of each transaction, every hex field checked)
// and in the walk and matching (the rest: queueing parents, reading
// payloads, dropping unaccepted pulses).
func benchScan(b *testing.B, ctx context.Context, c *node.Client) {
	b.Run("walk", func(b *testing.B) { benchScanChain(b, ctx, &timedChain{Chain: c}) })
	b.Run("batches", func(b *testing.B) {
		tc := &timedChain{Chain: c}
		benchScanChain(b, ctx, timedBatchChain{tc, c})
	})
}

func benchScanChain(b *testing.B, ctx context.Context, c interface{ timed() *timedChain }) {
	began := time.Now()
	opts := ScanOptions{Window: time.Hour, AllowLocalURLs: true, Now: func() time.Time { return began.Add(time.Minute) }}
	var last ScanProgress
	opts.Progress = func(p ScanProgress) { last = p }
	tc := c.timed()
	_, batches := c.(BatchChain)
	b.ResetTimer()
	blocks, requests := 0, 0
	for b.Loop() {
		if _, err := Scan(ctx, c.(Chain), opts); err != nil {
			b.Fatal(err)
		}
		if last.Batched != batches || last.Fallback != nil {
			b.Fatalf("batches %v: %+v", batches, last)
		}
		blocks += last.Blocks
		requests += last.Requests
	}
	wall := b.Elapsed() - tc.replica
	b.ReportMetric(float64(blocks)/wall.Seconds(), "blocks/s")
	b.ReportMetric(float64(last.Blocks), "blocks/op")
	b.ReportMetric(float64(tc.txs)/float64(tc.withTxs), "txs/block")
	b.ReportMetric(float64(tc.maxTxs), "max-txs/block")
	b.ReportMetric(float64(tc.decode.Microseconds())/float64(tc.txs), "µs-decode/tx")
	b.ReportMetric(float64(requests)/float64(blocks), "requests/block")
	b.ReportMetric(100*(tc.calls-tc.decode).Seconds()/wall.Seconds(), "%node")
	b.ReportMetric(100*tc.decode.Seconds()/wall.Seconds(), "%decode")
	b.ReportMetric(100*(wall-tc.calls).Seconds()/wall.Seconds(), "%walk")
}

// timedChain sums the wall time spent inside a Chain's calls. Of a block
// fetched with its transactions, it times node's conversion of them again
// on a copy (the replica), as node.Client does it inside Block, so that
// decoding can be told apart from the node's own time; the replica's time
// is taken off the totals.
type timedChain struct {
	Chain
	calls, decode, replica time.Duration
	txs, withTxs, maxTxs   int
}

func (t *timedChain) DAGInfo(ctx context.Context) (node.DAGInfo, error) {
	defer t.since(time.Now())
	return t.Chain.DAGInfo(ctx)
}

func (t *timedChain) timed() *timedChain { return t }

func (t *timedChain) Block(ctx context.Context, hash txbuild.Hash, withTxs bool) (*node.Block, error) {
	blks, err := t.timeBlocks(withTxs, func() ([]*node.Block, error) {
		blk, err := t.Chain.Block(ctx, hash, withTxs)
		return []*node.Block{blk}, err
	})
	if err != nil {
		return nil, err
	}
	return blks[0], nil
}

// timeBlocks adds call's time to t.calls, and then, if the blocks came
// with their transactions, times their decoding again (the replica).
func (t *timedChain) timeBlocks(withTxs bool, call func() ([]*node.Block, error)) ([]*node.Block, error) {
	began := time.Now()
	blks, err := call()
	returned := time.Now()
	t.calls += returned.Sub(began)
	if err != nil || !withTxs {
		return blks, err
	}
	defer func() { t.replica += time.Since(returned) }()
	for _, blk := range blks {
		if err := t.redecode(blk); err != nil {
			return nil, err
		}
	}
	return blks, nil
}

// redecode times node's conversion of blk's transactions, on a copy.
func (t *timedChain) redecode(blk *node.Block) error {
	rpc := make([]*appmessage.RPCTransaction, len(blk.Transactions))
	for i, tx := range blk.Transactions {
		rpc[i] = node.ToRPCTransaction(tx)
	}
	decodeBegan := time.Now()
	for _, r := range rpc {
		if _, err := node.FromRPCTransaction(r); err != nil {
			return err
		}
	}
	t.decode += time.Since(decodeBegan)
	t.txs += len(blk.Transactions)
	t.maxTxs = max(t.maxTxs, len(blk.Transactions))
	t.withTxs++
	return nil
}

// timedBatchChain is a timedChain that also times BlocksFrom.
type timedBatchChain struct {
	*timedChain
	batches BatchChain
}

func (t timedBatchChain) BlocksFrom(ctx context.Context, low txbuild.Hash, withTxs bool) ([]*node.Block, error) {
	return t.timeBlocks(withTxs, func() ([]*node.Block, error) { return t.batches.BlocksFrom(ctx, low, withTxs) })
}

func (t *timedChain) VirtualChainFromBlock(ctx context.Context, start txbuild.Hash, withAccepted bool) (node.VirtualChain, error) {
	defer t.since(time.Now())
	return t.Chain.VirtualChainFromBlock(ctx, start, withAccepted)
}

func (t *timedChain) since(began time.Time) { t.calls += time.Since(began) }

// BenchmarkReadBlock is kloak's own work on one mainnet-sized block
// inside the window: converting its transactions from the node's RPC form
// (every hex field checked) and reading each for a pulse. The block holds
// 300 ordinary transactions (2 inputs, 2 outputs; mainnet carries up to a
// few hundred a block at 10 blocks per second), 10 of them pulses, and a
// coinbase. The node's own time to serve GetBlock is not in it.
func BenchmarkReadBlock(b *testing.B) {
	k := testkit.NewKey(b, address.Mainnet, 0x45)
	var rpc []*appmessage.RPCTransaction
	coinbase := &txbuild.Transaction{
		Outputs:      []txbuild.Output{{Amount: 50_000_000_000, ScriptPublicKey: k.Addr.ScriptPublicKey()}},
		SubnetworkID: txbuild.SubnetworkCoinbase,
		Payload:      bytes.Repeat([]byte{7}, 60),
	}
	rpc = append(rpc, node.ToRPCTransaction(coinbase))
	p, err := NewPayload("wss://relay.example.org/kpp", time.Unix(1_700_000_000, 0), &kpp.FeePolicy{Min: 20_000_000, Unit: 10_000_000})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 300 {
		tx := &txbuild.Transaction{
			Inputs: []txbuild.Input{
				{PreviousOutpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{byte(i), 1}}, SignatureScript: bytes.Repeat([]byte{1}, 66), SigOpCount: 1},
				{PreviousOutpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{byte(i), 2}, Index: 1}, SignatureScript: bytes.Repeat([]byte{2}, 66), SigOpCount: 1},
			},
			Outputs: []txbuild.Output{
				{Amount: amount.Sompi(i+1) * 100_000_000, ScriptPublicKey: k.Addr.ScriptPublicKey()},
				{Amount: 7_654_321, ScriptPublicKey: k.Addr.ScriptPublicKey()},
			},
		}
		if i%30 == 0 {
			p.Timestamp += int64(i)
			tx.Payload = p.Encode()
		}
		rpc = append(rpc, node.ToRPCTransaction(tx))
	}
	blockTime := time.Unix(1_700_002_000, 0)
	w := &walk{opts: ScanOptions{}.withDefaults(), byTx: make(map[txbuild.Hash]*found)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.byTx)
		w.prog = ScanProgress{}
		for _, r := range rpc {
			tx, err := node.FromRPCTransaction(r)
			if err != nil {
				b.Fatal(err)
			}
			w.readPulse(tx, txbuild.Hash{9}, blockTime)
		}
		if w.prog.Pulses != 10 {
			b.Fatalf("found %d pulses, want 10", w.prog.Pulses)
		}
	}
	b.ReportMetric(float64(len(rpc)), "txs/block")
}

// sample returns every nth element of s.
func sample[T any](s []T, n int) []T {
	var out []T
	for i := 0; i < len(s); i += n {
		out = append(out, s[i])
	}
	return out
}
