package difftest

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/kaspanet/kaspad/domain/consensus/model/externalapi"
	"github.com/kaspanet/kaspad/domain/consensus/utils/consensushashing"
	"github.com/kaspanet/kaspad/domain/consensus/utils/utxo"
	"github.com/kaspanet/kaspad/util/txmass"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

const randomTransactions = 3000

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randomScript(r *rand.Rand) address.ScriptPublicKey {
	switch r.IntN(4) {
	case 0:
		return address.ScriptPublicKey{Script: append(append([]byte{0x20}, randomBytes(r, 32)...), 0xac)}
	case 1:
		return address.ScriptPublicKey{Script: append(append([]byte{0x21}, randomBytes(r, 33)...), 0xab)}
	case 2:
		return address.ScriptPublicKey{Script: append(append([]byte{0xaa, 0x20}, randomBytes(r, 32)...), 0x87)}
	default:
		return address.ScriptPublicKey{Version: uint16(r.IntN(3)), Script: randomBytes(r, r.IntN(120))}
	}
}

func randomAmount(r *rand.Rand) amount.Sompi {
	switch r.IntN(3) {
	case 0:
		return amount.Sompi(1 + r.Uint64N(1_000_000))
	case 1:
		return amount.Sompi(1 + r.Uint64N(1_000*amount.SompiPerKAS))
	default:
		return amount.Sompi(1 + r.Uint64N(uint64(amount.MaxSompi)/8))
	}
}

// randomTx returns a random non-coinbase transaction, its UTXO entries, and
// the same pair in kaspad's types.
func randomTx(r *rand.Rand) (*txbuild.Transaction, []txbuild.UTXOEntry, *externalapi.DomainTransaction) {
	tx := &txbuild.Transaction{Version: 0, LockTime: r.Uint64(), Gas: 0}
	if r.IntN(4) == 0 {
		copy(tx.SubnetworkID[:], randomBytes(r, 20))
		tx.SubnetworkID[0] |= 0x10 // neither native nor a built-in subnetwork
		tx.Gas = r.Uint64()
	}
	if r.IntN(2) == 0 {
		tx.Payload = randomBytes(r, r.IntN(200))
	}
	if r.IntN(3) == 0 {
		tx.Mass = r.Uint64N(1_000_000)
	}
	nIn, nOut := 1+r.IntN(5), 1+r.IntN(5)
	var utxos []txbuild.UTXOEntry
	for i := 0; i < nIn; i++ {
		var id txbuild.Hash
		copy(id[:], randomBytes(r, 32))
		in := txbuild.Input{
			PreviousOutpoint: txbuild.Outpoint{TransactionID: id, Index: r.Uint32N(10)},
			Sequence:         r.Uint64(),
			SigOpCount:       uint8(r.IntN(4)),
		}
		if r.IntN(2) == 0 {
			in.SignatureScript = randomBytes(r, r.IntN(100))
		}
		tx.Inputs = append(tx.Inputs, in)
		utxos = append(utxos, txbuild.UTXOEntry{Amount: randomAmount(r), ScriptPublicKey: randomScript(r), BlockDAAScore: r.Uint64N(1 << 40), IsCoinbase: r.IntN(5) == 0})
	}
	for i := 0; i < nOut; i++ {
		tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: randomAmount(r), ScriptPublicKey: randomScript(r)})
	}
	return tx, utxos, toKaspad(tx, utxos)
}

func toKaspad(tx *txbuild.Transaction, utxos []txbuild.UTXOEntry) *externalapi.DomainTransaction {
	d := &externalapi.DomainTransaction{
		Version:        tx.Version,
		LockTime:       tx.LockTime,
		SubnetworkID:   externalapi.DomainSubnetworkID(tx.SubnetworkID),
		Gas:            tx.Gas,
		Payload:        bytes.Clone(tx.Payload),
		MassCommitment: tx.Mass,
	}
	for i, in := range tx.Inputs {
		spk := &externalapi.ScriptPublicKey{Script: bytes.Clone(utxos[i].ScriptPublicKey.Script), Version: utxos[i].ScriptPublicKey.Version}
		d.Inputs = append(d.Inputs, &externalapi.DomainTransactionInput{
			PreviousOutpoint: externalapi.DomainOutpoint{TransactionID: *externalapi.NewDomainTransactionIDFromByteArray((*[32]byte)(&in.PreviousOutpoint.TransactionID)), Index: in.PreviousOutpoint.Index},
			SignatureScript:  bytes.Clone(in.SignatureScript),
			Sequence:         in.Sequence,
			SigOpCount:       in.SigOpCount,
			UTXOEntry:        utxo.NewUTXOEntry(uint64(utxos[i].Amount), spk, utxos[i].IsCoinbase, utxos[i].BlockDAAScore),
		})
	}
	for _, o := range tx.Outputs {
		d.Outputs = append(d.Outputs, &externalapi.DomainTransactionOutput{
			Value:           uint64(o.Amount),
			ScriptPublicKey: &externalapi.ScriptPublicKey{Script: bytes.Clone(o.ScriptPublicKey.Script), Version: o.ScriptPublicKey.Version},
		})
	}
	return d
}

var sigHashTypes = []txbuild.SigHashType{0x01, 0x02, 0x04, 0x81, 0x82, 0x84}

// TestTransactionsAgainstKaspad compares ids, hashes, every signature hash
// (Schnorr and ECDSA, all six types) and the masses of random transactions
// with kaspad's consensushashing and txmass.
func TestTransactionsAgainstKaspad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	calc := txmass.NewCalculator(txbuild.MassPerTxByte, txbuild.MassPerScriptPubKeyByte, txbuild.MassPerSigOp)
	var sighashes int
	for n := 0; n < randomTransactions; n++ {
		tx, utxos, d := randomTx(r)
		if got, want := tx.ID(), consensushashing.TransactionID(d); got != kh(want.ByteArray()) {
			t.Fatalf("tx %d: id %s, kaspad %s", n, got, want)
		}
		if got, want := tx.Hash(), consensushashing.TransactionHash(d); got != kh(want.ByteArray()) {
			t.Fatalf("tx %d: hash %s, kaspad %s", n, got, want)
		}
		s, err := txbuild.NewSigHasher(tx, utxos)
		if err != nil {
			t.Fatal(err)
		}
		reused := &consensushashing.SighashReusedValues{}
		for i := range tx.Inputs {
			for _, ht := range sigHashTypes {
				got, err := s.Schnorr(i, ht)
				if err != nil {
					t.Fatal(err)
				}
				want, err := consensushashing.CalculateSignatureHashSchnorr(d, i, consensushashing.SigHashType(ht), reused)
				if err != nil {
					t.Fatal(err)
				}
				if got != kh(want.ByteArray()) {
					t.Fatalf("tx %d input %d type %#x: schnorr sighash %s, kaspad %s", n, i, ht, got, want)
				}
				gotE, _ := s.ECDSA(i, ht)
				wantE, err := consensushashing.CalculateSignatureHashECDSA(d, i, consensushashing.SigHashType(ht), reused)
				if err != nil {
					t.Fatal(err)
				}
				if gotE != kh(wantE.ByteArray()) {
					t.Fatalf("tx %d input %d type %#x: ecdsa sighash %s, kaspad %s", n, i, ht, gotE, wantE)
				}
				sighashes += 2
			}
		}
		if got, want := txbuild.ComputeMass(tx), calc.CalculateTransactionMass(d); got != want {
			t.Fatalf("tx %d: compute mass %d, kaspad %d", n, got, want)
		}
		// kaspad's storage mass predates plurality; they agree wherever every
		// script has plurality 1, which is every script up to 37 bytes.
		if maxScriptLen(tx, utxos) <= 37 {
			got, err := txbuild.TxStorageMass(tx, utxos)
			if err != nil {
				t.Fatal(err)
			}
			if want := calc.CalculateTransactionStorageMass(d); got != want {
				t.Fatalf("tx %d: storage mass %d, kaspad %d", n, got, want)
			}
		}
	}
	t.Logf("%d transactions, %d signature hashes equal to kaspad's", randomTransactions, sighashes)
}

func maxScriptLen(tx *txbuild.Transaction, utxos []txbuild.UTXOEntry) int {
	m := 0
	for _, o := range tx.Outputs {
		m = max(m, len(o.ScriptPublicKey.Script))
	}
	for _, u := range utxos {
		m = max(m, len(u.ScriptPublicKey.Script))
	}
	return m
}

func kh(b *[32]byte) txbuild.Hash { return txbuild.Hash(*b) }
