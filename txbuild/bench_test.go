package txbuild

import (
	"testing"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/analysis"
)

// Benchmarks on a 2-input, 4-output KPP-shaped transaction. Figures and the
// command that produced them are in BENCHMARKS.md.

func BenchmarkSigHash2In4Out(b *testing.B) {
	tx, utxos, _ := kppShape(b)
	b.ReportAllocs()
	for b.Loop() {
		s, _ := NewSigHasher(tx, utxos)
		if _, err := s.Schnorr(0, SigHashAll); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Schnorr(1, SigHashAll); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignInput(b *testing.B) {
	tx, utxos, keys := kppShape(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := SignInput(tx, utxos, 0, SigHashAll, keys[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyInput(b *testing.B) {
	tx, utxos, keys := kppShape(b)
	if err := SignInput(tx, utxos, 0, SigHashAll, keys[0]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyInput(tx, utxos, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMasses2In4Out(b *testing.B) {
	tx, utxos, _ := kppShape(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CalcMasses(tx, utxos); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPayjoinBuildAndCheck is a whole KPP transaction's local work:
// Build2In4Out, the receiver's checks, its signature, the sender's checks
// of the returned transaction, the sender's signature and the final check
// before broadcast. Target: under 1 ms.
func BenchmarkPayjoinBuildAndCheck(b *testing.B) {
	const kas = amount.SompiPerKAS
	f := newPayjoin(b, 50*kas, 100*kas, 1_055_000_000, 1)
	b.ReportAllocs()
	for b.Loop() {
		pj, err := Build2In4Out(f.params)
		if err != nil {
			b.Fatal(err)
		}
		if err := VerifyAsReceiver(pj.Tx, f.terms(pj)); err != nil {
			b.Fatal(err)
		}
		signed := pj.Tx.Clone()
		if err := SignInput(signed, pj.UTXOs, pj.ReceiverInput, SigHashAll, f.recvKey); err != nil {
			b.Fatal(err)
		}
		if err := VerifyAsSender(pj, signed); err != nil {
			b.Fatal(err)
		}
		if err := SignInput(signed, pj.UTXOs, pj.SenderInput, SigHashAll, f.senderKey); err != nil {
			b.Fatal(err)
		}
		if err := VerifySigned(pj, signed, f.params.Policy, f.params.FeeRate); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPayjoinBuildPrivate is Build2In4Out as kpp's sender calls it
// with a kloak node: five coins to weigh and a node fee range, so that it
// aims F too (private.go). About 150 candidates, each settled (masses and
// fee) and read by the analyst.
func BenchmarkPayjoinBuildPrivate(b *testing.B) {
	const kas = amount.SompiPerKAS
	f := newPayjoin(b, 50*kas, 100*kas, 1_055_000_000, 1)
	f.params.FeeRule = analysis.FeeRule{Kind: analysis.FeeRange, Min: kas / 5, Unit: kas / 10, Max: 3 * kas / 10}
	f.params.NodeFee = 25_000_000
	for i, a := range []amount.Sompi{40, 80, 120, 300} {
		u := f.params.Sender
		u.Outpoint.Index = uint32(10 + i)
		u.Entry.Amount = a * kas
		f.params.SenderAlternatives = append(f.params.SenderAlternatives, u)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build2In4Out(f.params); err != nil {
			b.Fatal(err)
		}
	}
}
