package discovery

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/node"
)

// BenchmarkScan scans a devnet DAG of a few hundred blocks, mined by
// kaspaminer (so with parallel, merged blocks), over a window that holds
// them all, through a real gRPC client: the cost is one GetBlock per
// block plus one chain request. It reports blocks/s and requests per
// block.
func BenchmarkScan(b *testing.B) {
	dev := devnet.Start(b, devnet.Options{BlocksPerSecond: 50})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := node.Dial(ctx, dev.RPCAddress(), node.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	miner := newTestKey(b, address.Devnet, 0x44)
	const want = 400
	err = dev.MineUntil(ctx, miner.addr.String(), func(ctx context.Context) (bool, error) {
		info, err := c.DAGInfo(ctx)
		return info.BlockCount >= want, err
	})
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	opts := ScanOptions{Window: time.Hour, Now: func() time.Time { return began.Add(time.Minute) }}
	var last ScanProgress
	opts.Progress = func(p ScanProgress) { last = p }
	b.ResetTimer()
	blocks, requests := 0, 0
	for b.Loop() {
		if _, err := Scan(ctx, c, opts); err != nil {
			b.Fatal(err)
		}
		blocks += last.Blocks
		requests += last.Requests
	}
	b.ReportMetric(float64(blocks)/b.Elapsed().Seconds(), "blocks/s")
	b.ReportMetric(float64(last.Blocks), "blocks/op")
	b.ReportMetric(float64(requests)/float64(blocks), "requests/block")
}
