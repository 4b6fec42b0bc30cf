package discovery

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaspanet/kaspad/app/appmessage"
	"github.com/kaspanet/kaspad/domain/consensus/model/externalapi"
	"github.com/kaspanet/kaspad/domain/consensus/utils/consensushashing"
	"github.com/kaspanet/kaspad/domain/consensus/utils/merkle"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

func newTestPulser(t *testing.T, e *env, url string, w PulseWallet, logs *logRecorder) *Pulser {
	t.Helper()
	p, err := NewPulser(PulserConfig{
		Chain: e.client, Wallet: w, Network: address.Devnet, PublicURL: url,
		FeePolicy: &kpp.FeePolicy{Min: 25_000_000, Unit: 5_000_000},
		Logger:    slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPulserOnDevnet: a node funded by mining pulses at the start of Run
// on the patched devnet; a Trigger within 30 s of it is ignored; PulseNow
// pulses again, spending the first pulse's output; each pulse lands in a
// block; Scan finds the newest of the two with its block's own time, and
// finds a Python node's pulse (the original's payload, byte for byte)
// beside it.
func TestPulserOnDevnet(t *testing.T) {
	e := newEnv(t, devnet.Options{}, 2)
	funds := e.nodeWallet("node")
	e.mine(1)
	begin := time.Now()

	logs := &logRecorder{}
	const url = "ws://203.0.113.7:8765/kpp"
	p := newTestPulser(t, e, url, funds, logs)
	ctx, stop := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	e.until(30*time.Second, "pulsed at start", func() bool { s := p.Status(); return s.Sent == 1 && !s.NextAt.IsZero() })
	first := p.Status()
	if first.LastTx.IsZero() || first.LastErr != nil || first.NextAt.Before(first.LastAt.Add(DefaultPulseInterval-time.Second)) {
		t.Fatalf("status after the first pulse: %+v", first)
	}
	p.Trigger()
	e.until(5*time.Second, "the trigger ignored", func() bool { return logs.count(slog.LevelDebug, "pulse request ignored") == 1 })
	if s := p.Status(); s.Sent != 1 {
		t.Fatalf("a trigger 30 s after a pulse pulsed: %+v", s)
	}
	e.mine(1)

	second, err := p.PulseNow(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.mine(1)
	pyID := e.plant(loadPythonPayload(t))
	e.mine(1)

	pulses, err := Scan(e.ctx, e.client, ScanOptions{Window: time.Since(begin) + time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(pulses) != 2 {
		t.Fatalf("%d pulses, want 2: %+v", len(pulses), pulses)
	}
	py, ours := pulses[0], pulses[1]
	if py.TransactionID != pyID || py.WSURL != "ws://1.2.3.4:8765/kpp" || py.Timestamp != 1_700_000_000 || py.FeePolicy() != kpp.DefaultFeePolicy {
		t.Errorf("the Python pulse: %+v", py)
	}
	if ours.TransactionID != second || ours.WSURL != url || ours.FeePolicy() != (kpp.FeePolicy{Min: 25_000_000, Unit: 5_000_000}) {
		t.Errorf("our pulse: %+v, want tx %s", ours, second)
	}
	for _, pl := range pulses {
		bt, _ := e.blockTime(pl.BlockHash)
		if !pl.BlockTime.Equal(bt) || pl.BlockTime.Before(begin.Add(-time.Second)) {
			t.Errorf("pulse %s: block time %v, the block says %v", pl.TransactionID, pl.BlockTime, bt)
		}
		blk, err := e.client.Block(e.ctx, pl.BlockHash, true)
		if err != nil || !slices.ContainsFunc(blk.Transactions, func(tx *txbuild.Transaction) bool { return tx.ID() == pl.TransactionID }) {
			t.Errorf("block %s does not hold %s: %v", pl.BlockHash, pl.TransactionID, err)
		}
	}
	if !ours.BlockTime.Before(py.BlockTime) {
		t.Errorf("ranked %v before %v", py.BlockTime, ours.BlockTime)
	}
	if s := p.Status(); s.Sent != 2 || s.LastTx != second || s.PayloadRefused || s.LastErr != nil {
		t.Errorf("status %+v", s)
	}
	if n := logs.count(slog.LevelInfo, "pulse sent"); n != 2 {
		t.Errorf("%d \"pulse sent\" lines, want 2", n)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := p.Status(); !s.NextAt.IsZero() {
		t.Errorf("NextAt %v after Run returned", s.NextAt)
	}
}

func loadPythonPayload(t *testing.T) []byte {
	_, raw := loadPythonPulse(t)
	return raw
}

// TestScanRanksPulses: two nodes pulse with different URLs, one of them
// twice, one of its pulses in a block the selected chain merges but does
// not run through; a malformed pulse and a future-dated one are planted
// beside them, and a miner's forged pulse (spending an output that does
// not exist) sits in a block without ever being accepted. Scan returns
// exactly the two nodes, newest block first, each with its newest pulse.
func TestScanRanksPulses(t *testing.T) {
	e := newEnv(t, devnet.Options{}, 4)
	fundsA, fundsB := e.nodeWallet("a"), e.nodeWallet("b")
	e.mine(1)
	begin := time.Now()

	const urlA, urlB = "wss://relay-a.example.com/kpp", "ws://[2001:db8::7]:8765/kpp"
	a := newTestPulser(t, e, urlA, fundsA, &logRecorder{})
	b := newTestPulser(t, e, urlB, fundsB, &logRecorder{})
	if _, err := a.PulseNow(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.mine(1)
	var idB txbuild.Hash
	side := e.mineBeside(func() {
		var err error
		if idB, err = b.PulseNow(e.ctx); err != nil {
			t.Fatal(err)
		}
	})
	idA, err := a.PulseNow(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.mine(1)
	bad := `{"protocol": "kloak", "version": "1.0.0", "ws_url": "http://relay-c.example/kpp", "timestamp": ` + strconv.FormatInt(time.Now().Unix(), 10) + `}`
	e.plant([]byte(bad))
	future, err := NewPayload("wss://relay-d.example/kpp", time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.plant(future.Encode())
	e.mine(1)
	forged := e.mineForged(e.bank, "wss://relay-e.example/kpp")
	e.mine(100) // a DAG big enough to compare the costs of walk and batches
	e.mergeAll()

	var last ScanProgress
	pulses, err := Scan(e.ctx, e.client, ScanOptions{Window: time.Since(begin) + time.Second, Progress: func(p ScanProgress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if len(pulses) != 2 || pulses[0].TransactionID != idA || pulses[1].TransactionID != idB {
		for _, p := range pulses {
			t.Logf("got %s %s at %v in %s", p.TransactionID, p.WSURL, p.BlockTime, p.BlockHash)
		}
		t.Logf("forged block %s, progress %+v", forged, last)
		t.Fatalf("%d pulses, want a's %s then b's %s", len(pulses), idA, idB)
	}
	if pulses[1].BlockHash != side {
		t.Errorf("b's pulse found in %s, want the side block %s", pulses[1].BlockHash, side)
	}
	if _, chain := e.blockTime(side); chain {
		t.Errorf("the side block %s is a chain block", side)
	}
	if !pulses[0].BlockTime.After(pulses[1].BlockTime) {
		t.Errorf("ranked %v before %v", pulses[0].BlockTime, pulses[1].BlockTime)
	}
	// Dropped: the malformed, the future-dated and the forged pulse (and
	// a's first pulse is only superseded, not dropped).
	if !last.Done || last.Dropped != 3 || last.Pulses != 4 {
		t.Errorf("progress %+v", last)
	}
	t.Logf("forged pulse %s dropped; progress %+v", forged, last)

	// The same scan walking block by block finds the same, with far more
	// requests: the batches read up to 181 blocks each (Go kaspad's
	// merge-set size limit + 1), after a few headers to find the first
	// batch's low.
	if !last.Batched || last.Fallback != nil {
		t.Errorf("Scan did not read in batches: %+v", last)
	}
	var walked ScanProgress
	walkedPulses, err := Scan(e.ctx, walkOnly{e.client}, ScanOptions{Window: time.Since(begin) + time.Second, Progress: func(p ScanProgress) { walked = p }})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(walkedPulses, pulses) || walked.Dropped != last.Dropped || walked.Pulses != last.Pulses {
		t.Fatalf("the walk found %v (%+v), the batches %v (%+v)", walkedPulses, walked, pulses, last)
	}
	if walked.Blocks < 150 || last.Requests*10 > walked.Requests {
		t.Errorf("batches: %d requests for %d blocks; walk: %d for %d", last.Requests, last.Blocks, walked.Requests, walked.Blocks)
	}
	t.Logf("batches: %d requests for %d blocks; walk: %d requests for %d blocks", last.Requests, last.Blocks, walked.Requests, walked.Blocks)
	tip, err := e.client.DAGInfo(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hdr, err := e.client.Block(e.ctx, tip.VirtualParents[0], false); err == nil {
		levels := make([]int, len(hdr.ParentsByLevel))
		for i, ps := range hdr.ParentsByLevel {
			levels[i] = len(ps)
		}
		t.Logf("the tip's parents by level: %v", levels)
	}

	// A window with no pulses: it ends before the first.
	empty, err := Scan(e.ctx, e.client, ScanOptions{Now: func() time.Time { return begin.Add(-time.Second) }, Window: 5 * time.Second})
	if err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("empty window: %v, %v", empty, err)
	}
}

// TestPulserRefusedPayload: on the unpatched devnet (pre-Crescendo rules)
// the pulser says once that kaspad refuses payloads, stops trying and
// keeps running; Scan finds nothing there.
func TestPulserRefusedPayload(t *testing.T) {
	e := newEnv(t, devnet.Options{Unpatched: true}, 1)
	funds := e.nodeWallet("node")
	e.mine(1)
	logs := &logRecorder{}
	p := newTestPulser(t, e, "wss://relay.example.com/kpp", funds, logs)
	ctx, stop := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	e.until(30*time.Second, "refused", func() bool { return p.Status().PayloadRefused })
	const msg = "this kaspad refuses transaction payloads (pre-Crescendo rules): pulses are off, relaying continues"
	if _, err := p.PulseNow(e.ctx); !errors.Is(err, ErrPayloadRefused) {
		t.Fatalf("PulseNow after the refusal: %v", err)
	}
	p.Trigger()
	p.Trigger()
	select {
	case err := <-done:
		t.Fatalf("Run returned %v after the refusal", err)
	case <-time.After(300 * time.Millisecond):
	}
	if n := logs.count(slog.LevelWarn, msg); n != 1 {
		t.Fatalf("%d warnings %q, want 1", n, msg)
	}
	if n := logs.count(slog.LevelWarn, ""); n != 1 {
		t.Fatalf("%d warnings in all, want 1", n)
	}
	s := p.Status()
	if s.Sent != 0 || !errors.Is(s.LastErr, ErrPayloadRefused) || !s.NextAt.IsZero() {
		t.Fatalf("status %+v", s)
	}
	t.Logf("kaspad said: %v", s.LastErr)
	e.mine(2)
	pulses, err := Scan(e.ctx, e.client, ScanOptions{})
	if err != nil || len(pulses) != 0 {
		t.Fatalf("Scan: %v, %v", pulses, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// mergeAll mines until the DAG has one tip, so that every block is merged
// (a block template kaspad cached before a block arrived does not build
// on it).
func (e *env) mergeAll() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mine(1)
		info, err := e.client.DAGInfo(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(info.TipHashes) == 1 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d tips after 10 s of mining", len(info.TipHashes))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// template asks the node for a block template paying the miner, with
// extra coinbase data so that two templates differ.
func (e *env) template(extra string) *externalapi.DomainBlock {
	e.t.Helper()
	c, err := e.dev.Client()
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := c.GetBlockTemplate(e.miner.Addr.String(), extra)
	if err != nil {
		e.t.Fatal(err)
	}
	blk, err := appmessage.RPCBlockToDomainBlock(r.Block)
	if err != nil {
		e.t.Fatal(err)
	}
	return blk
}

func (e *env) submitBlock(b *externalapi.DomainBlock) {
	e.t.Helper()
	c, err := e.dev.Client()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := c.SubmitBlock(b); err != nil {
		e.t.Fatalf("SubmitBlock: %v", err)
	}
}

func toHash(h *externalapi.DomainHash) txbuild.Hash { return txbuild.Hash(*h.ByteArray()) }

// mineBeside puts what submit adds to the mempool into a block that the
// DAG merges but does not take into its selected chain: two sibling
// blocks on the same parents, the one with the transactions given the
// smaller hash (kaspad selects the larger on equal blue work), then a
// block on both. It returns the side block's hash.
func (e *env) mineBeside(submit func()) txbuild.Hash {
	e.t.Helper()
	plain := e.template("plain")
	submit()
	var side *externalapi.DomainBlock
	deadline := time.Now().Add(5 * time.Second)
	for {
		side = e.template("side")
		if len(side.Transactions) > 1 {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatal("no block template holds the submitted transaction")
		}
		time.Sleep(100 * time.Millisecond) // kaspad caches a template for up to a second
	}
	if !slices.EqualFunc(side.Header.DirectParents(), plain.Header.DirectParents(), func(a, b *externalapi.DomainHash) bool { return a.Equal(b) }) {
		e.t.Fatal("the DAG moved between the two templates")
	}
	plainHash := consensushashing.BlockHash(plain)
	for nonce := uint64(1); ; nonce++ {
		h := side.Header.ToMutable()
		h.SetNonce(nonce)
		side.Header = h.ToImmutable()
		if consensushashing.BlockHash(side).Less(plainHash) {
			break
		}
	}
	e.submitBlock(side)
	e.submitBlock(plain)
	e.mergeAll()
	return toHash(consensushashing.BlockHash(side))
}

// mineForged mines a block that carries a pulse spending an output that
// does not exist: the block is valid (kaspad checks a block's
// transactions against the UTXO set only when the chain accepts them),
// the transaction is never accepted. It returns the block's hash.
func (e *env) mineForged(k testkit.Key, url string) txbuild.Hash {
	e.t.Helper()
	payload, err := NewPayload(url, time.Now(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	ghost := txbuild.UTXO{
		Outpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{0xde, 0xad}, Index: 7},
		Entry:    txbuild.UTXOEntry{Amount: 5 * 100_000_000, ScriptPublicKey: k.Addr.ScriptPublicKey()},
	}
	tx, utxos, err := BuildPulse(ghost, k.Addr, payload, txbuild.PolicyFor(address.Devnet), txbuild.SompiPerGram(1))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := txbuild.SignInput(tx, utxos, 0, txbuild.SigHashAll, k.Priv); err != nil {
		e.t.Fatal(err)
	}
	dtx, err := appmessage.RPCTransactionToDomainTransaction(node.ToRPCTransaction(tx))
	if err != nil {
		e.t.Fatal(err)
	}
	blk := e.template("forged")
	blk.Transactions = append(blk.Transactions, dtx)
	h := blk.Header.ToMutable()
	h.SetHashMerkleRoot(merkle.CalculateHashMerkleRoot(blk.Transactions))
	blk.Header = h.ToImmutable()
	e.submitBlock(blk)
	return toHash(consensushashing.BlockHash(blk))
}

// TestPulserNeverSpendsReceived: a node wallet whose only coin came to a
// receive address (as a relay fee output does) does not pulse, and says
// why; once the operator sends a coin to a change address it pulses with
// that, and the received coin stays unspent.
func TestPulserNeverSpendsReceived(t *testing.T) {
	e := newEnv(t, devnet.Options{}, 2)
	w := testkit.NewWallet(t, "node")
	funds := w.Funds(e.client, wallet.FundsOptions{CoinbaseMaturity: e.dev.SpendMaturity()})
	recv, err := funds.FreshAddresses(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.pay(recv[0])
	e.mine(1)
	var received []txbuild.UTXO
	e.until(10*time.Second, "the received coin in the UTXO index", func() bool {
		received, err = funds.UTXOs(e.ctx)
		return err == nil && len(received) == 1
	})

	p := newTestPulser(t, e, "wss://relay.example.com/kpp", funds, &logRecorder{})
	if _, err := p.PulseNow(e.ctx); !errors.Is(err, wallet.ErrNoFunds) || !strings.Contains(err.Error(), "on its change chain") {
		t.Fatalf("PulseNow with only a received coin: %v", err)
	}

	change, err := funds.ChangeAddress(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.pay(change)
	e.mine(1)
	e.until(10*time.Second, "the change coin in the UTXO index", func() bool {
		_, err := funds.SelectChangeUTXO(e.ctx, PulseInputMin)
		return err == nil
	})
	id, err := p.PulseNow(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.mine(2)
	if in, err := e.client.InMempool(e.ctx, id); err != nil || in {
		t.Fatalf("pulse %s still in the mempool: %v, %v", id, in, err)
	}
	if _, err := e.client.LookupUTXO(e.ctx, recv[0], received[0].Outpoint); err != nil {
		t.Errorf("the received coin after the pulse: %v", err)
	}
}
