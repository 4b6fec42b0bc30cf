package txbuild

import "testing"

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
