package discovery

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/txbuild"
)

func testUTXO(k testkit.Key, amt amount.Sompi) txbuild.UTXO {
	return txbuild.UTXO{
		Address:  k.Addr,
		Outpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{1, 2, 3}, Index: 1},
		Entry:    txbuild.UTXOEntry{Amount: amt, ScriptPublicKey: k.Addr.ScriptPublicKey(), BlockDAAScore: 7},
	}
}

// TestBuildPulseFee: the pulse's masses are those of its real size, and
// its fee is the policy's: mainnet's floor of 100 sompi × max(compute,
// 2 × bytes), or the feerate × mass when that is more; devnet's 1
// sompi/gram. The expected numbers are worked out here from the mass
// formulas (KASPA.md), not taken from txbuild.
func TestBuildPulseFee(t *testing.T) {
	_, python := loadPythonPulse(t)
	payload, err := ParsePayload(python) // 101 bytes, the original's form
	if err != nil {
		t.Fatal(err)
	}
	if len(python) != 101 {
		t.Fatalf("vector payload is %d bytes", len(python))
	}
	// 10 (version, input count) + 118 (outpoint 36, script length 8, the
	// 66-byte signature script, sequence 8) + 8 (output count) + 52
	// (amount 8, script version 2, length 8, script 34) + 76 (lock time,
	// subnetwork, gas, payload hash, payload length) + the payload.
	const size = 10 + 118 + 8 + 52 + 76 + 101
	const compute = size + (2+34)*10 + 1000
	if compute != 1725 {
		t.Fatalf("compute %d", compute)
	}
	for _, c := range []struct {
		name    string
		net     address.Network
		rate    txbuild.FeeRate
		in      amount.Sompi
		wantFee uint64
	}{
		{"mainnet floor", address.Mainnet, txbuild.SompiPerGram(1), amount.SompiPerKAS, 100 * max(compute, 2*size)},
		{"mainnet high feerate", address.Mainnet, txbuild.SompiPerGram(150), amount.SompiPerKAS, 150 * compute},
		{"mainnet fractional feerate", address.Mainnet, txbuild.FeeRate(100_500), amount.SompiPerKAS, (100_500*compute + 999) / 1000},
		{"devnet", address.Devnet, txbuild.SompiPerGram(1), amount.SompiPerKAS, compute},
		{"devnet small input", address.Devnet, txbuild.SompiPerGram(1), 20_000_000, compute},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, to := testkit.NewKey(t, c.net, 1), testkit.NewKey(t, c.net, 2)
			policy := txbuild.PolicyFor(c.net)
			u := testUTXO(k, c.in)
			tx, utxos, err := BuildPulse(u, to.Addr, payload, policy, c.rate)
			if err != nil {
				t.Fatal(err)
			}
			if len(tx.Inputs) != 1 || len(tx.Outputs) != 1 || tx.Inputs[0].PreviousOutpoint != u.Outpoint ||
				len(tx.Inputs[0].SignatureScript) != 0 || tx.Inputs[0].SigOpCount != 1 ||
				!tx.Outputs[0].ScriptPublicKey.Equal(to.Addr.ScriptPublicKey()) ||
				!bytes.Equal(tx.Payload, python) || tx.SubnetworkID != (txbuild.SubnetworkID{}) || tx.Version != 0 {
				t.Fatalf("pulse %+v", tx)
			}
			if len(utxos) != 1 || utxos[0].Amount != u.Entry.Amount || !utxos[0].ScriptPublicKey.Equal(u.Entry.ScriptPublicKey) {
				t.Fatalf("utxos %+v", utxos)
			}
			fee, err := txbuild.Fee(tx, utxos)
			if err != nil || uint64(fee) != c.wantFee {
				t.Fatalf("fee %d, %v; want %d", fee, err, c.wantFee)
			}
			if err := txbuild.SignInput(tx, utxos, 0, txbuild.SigHashAll, k.Priv); err != nil {
				t.Fatal(err)
			}
			if got := txbuild.SerializedSize(tx); got != size {
				t.Fatalf("signed size %d, want %d", got, size)
			}
			m, err := txbuild.CalcMasses(tx, utxos)
			if err != nil {
				t.Fatal(err)
			}
			// KIP-9 for one input and one output: C/out − C/in.
			wantStorage := txbuild.StorageMassParameter/uint64(tx.Outputs[0].Amount) - txbuild.StorageMassParameter/uint64(c.in)
			if m.Compute != compute || m.Storage != wantStorage || m.Transient != 4*size {
				t.Fatalf("masses %+v, want compute %d storage %d transient %d", m, compute, wantStorage, 4*size)
			}
			if probs := policy.Check(tx, utxos, c.rate); len(probs) != 0 {
				t.Fatalf("signed pulse breaks rules: %v", probs)
			}
			t.Logf("%s: fee %d sompi, masses %+v", c.name, fee, m)
		})
	}
}

func TestBuildPulseRefuses(t *testing.T) {
	k, to := testkit.NewKey(t, address.Mainnet, 1), testkit.NewKey(t, address.Mainnet, 2)
	payload, err := NewPayload("wss://relay.example/kpp", time.Unix(1_750_000_000, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	mainnet, devnet := txbuild.PolicyFor(address.Mainnet), txbuild.PolicyFor(address.Devnet)
	one := txbuild.SompiPerGram(1)
	for _, c := range []struct {
		name   string
		in     amount.Sompi
		policy txbuild.Policy
	}{
		{"cannot pay the fee", 100_000, mainnet},
		{"storage mass over the budget", 500_000, mainnet},
		{"dust on devnet", 2_000, devnet},
		{"empty", 0, mainnet},
	} {
		_, _, err := BuildPulse(testUTXO(k, c.in), to.Addr, payload, c.policy, one)
		if !errors.Is(err, ErrPulseInput) {
			t.Errorf("%s: %v, want ErrPulseInput", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	bad := payload
	bad.WSURL = "http://relay.example/kpp"
	if _, _, err := BuildPulse(testUTXO(k, amount.SompiPerKAS), to.Addr, bad, mainnet, one); !errors.Is(err, ErrPayload) {
		t.Errorf("malformed payload: %v", err)
	}
	if _, _, err := BuildPulse(testUTXO(k, amount.SompiPerKAS), address.Address{}, payload, mainnet, one); err == nil {
		t.Error("no destination: no error")
	}
}
