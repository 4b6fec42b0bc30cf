package relay_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/wallet"
)

const testMnemonic = "hunt bitter praise lift buyer topic crane leopard uniform network inquiry over grain pass match crush marine strike doll relax fortune trumpet sunny silk"

// cheapScrypt keeps tests fast; real wallets use the defaults.
var cheapScrypt = wallet.ScryptParams{LogN: 4, R: 8, P: 1}

var testPassword = []byte("relay test")

func createWallet(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.kloak")
	w, err := wallet.Create(path, testPassword, testMnemonic, wallet.CreateOptions{Network: address.Devnet, Scrypt: cheapScrypt})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	return path
}

func openWallet(t testing.TB, path string) *wallet.Wallet {
	t.Helper()
	w, err := wallet.Open(path, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestWalletFeeAddressesNeverRepeat: 10,000 addresses, handed out
// concurrently, then more after the wallet file is reopened (a restart):
// no address twice, each the wallet's receive address of its index.
func TestWalletFeeAddressesNeverRepeat(t *testing.T) {
	path := createWallet(t)
	w := openWallet(t, path)
	acct, err := w.Account()
	if err != nil {
		t.Fatal(err)
	}
	receive := map[string]uint32{}
	for i := range uint32(10_256 + 300) {
		k, err := acct.Receive(i)
		if err != nil {
			t.Fatal(err)
		}
		receive[k.Address.String()] = i
		k.Zero()
	}

	fees := relay.NewWalletFeeAddresses(w, 0)
	const workers, each = 8, 1250
	got := make([][]address.Address, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for range each {
				a, err := fees.NextFeeAddress(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				got[g] = append(got[g], a)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	var maxIndex uint32
	for _, as := range got {
		for _, a := range as {
			s := a.String()
			if seen[s] {
				t.Fatalf("%s handed out twice", s)
			}
			seen[s] = true
			i, ok := receive[s]
			if !ok {
				t.Fatalf("%s is not one of the wallet's first receive addresses", s)
			}
			maxIndex = max(maxIndex, i)
			if a.Network() != address.Devnet {
				t.Fatalf("%s is not a devnet address", s)
			}
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("%d addresses, want %d", len(seen), workers*each)
	}
	// 10,000 addresses are 40 batches of 256 (10,240 indexes), reserved
	// before use: the file says so.
	if next := w.NextReceiveIndex(); next != 10_240 || maxIndex != 9_999 {
		t.Fatalf("next receive index %d, highest handed out %d; want 10240, 9999", next, maxIndex)
	}

	// Restart: the unused rest of the last batch is skipped, nothing repeats.
	w.Close()
	w2 := openWallet(t, path)
	fees2 := relay.NewWalletFeeAddresses(w2, 0)
	for range 300 {
		a, err := fees2.NextFeeAddress(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s := a.String()
		if seen[s] {
			t.Fatalf("%s handed out again after a restart", s)
		}
		seen[s] = true
		if i := receive[s]; i < 10_240 {
			t.Fatalf("after a restart: index %d, want at least 10240", i)
		}
	}
	if next := w2.NextReceiveIndex(); next != 10_240+512 {
		t.Fatalf("next receive index %d after 300 more, want %d", next, 10_240+512)
	}
}

func TestWalletFeeAddressesErrors(t *testing.T) {
	path := createWallet(t)
	w := openWallet(t, path)
	fees := relay.NewWalletFeeAddresses(w, 4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fees.NextFeeAddress(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if _, err := fees.NextFeeAddress(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// Three left in the batch, then the closed wallet refuses.
	for range 3 {
		if _, err := fees.NextFeeAddress(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fees.NextFeeAddress(context.Background()); !errors.Is(err, wallet.ErrClosed) {
		t.Fatalf("closed wallet: %v", err)
	}
}

// BenchmarkWalletFeeAddresses is the cost of one fee address, a batch's
// derivation and save shared by 256 (the Python node: a full wallet
// re-encryption with scrypt per address, about 20 per second).
func BenchmarkWalletFeeAddresses(b *testing.B) {
	w := openWallet(b, createWallet(b))
	fees := relay.NewWalletFeeAddresses(w, 0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := fees.NextFeeAddress(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
