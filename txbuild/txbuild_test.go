package txbuild

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/secp"
)

// testKey returns a deterministic private key and its Schnorr P2PK script.
func testKey(t testing.TB, seed byte) ([]byte, address.ScriptPublicKey) {
	t.Helper()
	priv := bytes.Repeat([]byte{seed}, 32)
	kp, err := secp.NewSchnorrKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub := kp.PublicKey()
	a, err := address.New(address.Mainnet, address.PubKey, pub[:])
	if err != nil {
		t.Fatal(err)
	}
	return priv, a.ScriptPublicKey()
}

func testECDSAKey(t testing.TB, seed byte) ([]byte, address.ScriptPublicKey) {
	t.Helper()
	priv := bytes.Repeat([]byte{seed}, 32)
	pub, err := secp.ECDSAPublicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	a, err := address.New(address.Mainnet, address.PubKeyECDSA, pub[:])
	if err != nil {
		t.Fatal(err)
	}
	return priv, a.ScriptPublicKey()
}

// kppShape returns an unsigned 2-input, 4-output transaction like a KPP
// payjoin, with the keys of its two inputs.
func kppShape(t testing.TB) (*Transaction, []UTXOEntry, [][]byte) {
	k1, s1 := testKey(t, 1)
	k2, s2 := testKey(t, 2)
	_, o1 := testKey(t, 3)
	_, o2 := testKey(t, 4)
	_, o3 := testKey(t, 5)
	_, o4 := testKey(t, 6)
	tx := &Transaction{
		Inputs: []Input{
			{PreviousOutpoint: Outpoint{TransactionID: Hash{1}, Index: 0}, SigOpCount: 1},
			{PreviousOutpoint: Outpoint{TransactionID: Hash{2}, Index: 3}, SigOpCount: 1},
		},
		Outputs: []Output{
			{Amount: 40 * amount.SompiPerKAS, ScriptPublicKey: o1},
			{Amount: 70 * amount.SompiPerKAS, ScriptPublicKey: o2},
			{Amount: 39*amount.SompiPerKAS + 80_000_000 - 500_000, ScriptPublicKey: o3},
			{Amount: 20_000_000, ScriptPublicKey: o4},
		},
	}
	utxos := []UTXOEntry{
		{Amount: 50 * amount.SompiPerKAS, ScriptPublicKey: s1},
		{Amount: 100 * amount.SompiPerKAS, ScriptPublicKey: s2},
	}
	return tx, utxos, [][]byte{k1, k2}
}

func TestSignAndVerify(t *testing.T) {
	tx, utxos, keys := kppShape(t)
	idBefore := tx.ID()
	for i, k := range keys {
		if err := SignInput(tx, utxos, i, SigHashAll, k); err != nil {
			t.Fatal(err)
		}
	}
	if tx.ID() != idBefore {
		t.Fatal("signing changed the transaction id")
	}
	for i := range tx.Inputs {
		if len(tx.Inputs[i].SignatureScript) != 66 || tx.Inputs[i].SignatureScript[0] != 0x41 || tx.Inputs[i].SignatureScript[65] != 1 {
			t.Fatalf("input %d: signature script %x", i, tx.Inputs[i].SignatureScript)
		}
		if err := VerifyInput(tx, utxos, i); err != nil {
			t.Fatal(err)
		}
	}
	// A flipped signature bit, another output amount, or another UTXO amount
	// each break the signature.
	bad := tx.Clone()
	bad.Inputs[0].SignatureScript[10] ^= 1
	if err := VerifyInput(bad, utxos, 0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("flipped bit: %v", err)
	}
	bad = tx.Clone()
	bad.Outputs[2].Amount++
	if err := VerifyInput(bad, utxos, 1); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed output: %v", err)
	}
	lying := append([]UTXOEntry(nil), utxos...)
	lying[1].Amount--
	if err := VerifyInput(tx, lying, 1); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed utxo amount: %v", err)
	}
	// The wrong key is refused before anything is signed.
	if err := SignInput(tx.Clone(), utxos, 0, SigHashAll, keys[1]); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("wrong key: %v", err)
	}
	if err := SignInput(tx.Clone(), utxos, 0, 0x03, keys[0]); !errors.Is(err, ErrBadSigHashType) {
		t.Fatalf("bad hash type: %v", err)
	}
	if err := SignInput(tx.Clone(), utxos[:1], 0, SigHashAll, keys[0]); !errors.Is(err, ErrUTXOCount) {
		t.Fatalf("missing utxo: %v", err)
	}
	if err := SignInput(tx.Clone(), utxos, 5, SigHashAll, keys[0]); err == nil {
		t.Fatal("input 5 of 2 signed")
	}
	noScript := tx.Clone()
	noScript.Inputs[0].SignatureScript = []byte{0x41, 1, 2}
	if err := VerifyInput(noScript, utxos, 0); !errors.Is(err, ErrBadSignatureScript) {
		t.Fatalf("short script: %v", err)
	}
}

func TestSignECDSAAndAllTypes(t *testing.T) {
	tx, utxos, keys := kppShape(t)
	ek, espk := testECDSAKey(t, 7)
	utxos[1].ScriptPublicKey = espk
	keys[1] = ek
	for _, ht := range []SigHashType{0x01, 0x02, 0x04, 0x81, 0x82, 0x84} {
		c := tx.Clone()
		for i, k := range keys {
			if err := SignInput(c, utxos, i, ht, k); err != nil {
				t.Fatalf("type %#x input %d: %v", ht, i, err)
			}
		}
		for i := range c.Inputs {
			if err := VerifyInput(c, utxos, i); err != nil {
				t.Fatalf("type %#x input %d: %v", ht, i, err)
			}
		}
	}
	// P2SH outputs have no key to sign with.
	p2sh, _ := address.New(address.Mainnet, address.ScriptHash, make([]byte, 32))
	utxos[0].ScriptPublicKey = p2sh.ScriptPublicKey()
	if err := SignInput(tx.Clone(), utxos, 0, SigHashAll, keys[0]); !errors.Is(err, ErrUnsupportedScript) {
		t.Fatalf("p2sh: %v", err)
	}
}

func TestKPPShapeMass(t *testing.T) {
	tx, utxos, keys := kppShape(t)
	for i, k := range keys {
		if err := SignInput(tx, utxos, i, SigHashAll, k); err != nil {
			t.Fatal(err)
		}
	}
	// kloak-v1-python.md §4.2 and §9.2: 538 bytes, 3,978 grams.
	if got := SerializedSize(tx); got != 538 {
		t.Errorf("size %d, want 538", got)
	}
	if got := ComputeMass(tx); got != 3978 {
		t.Errorf("compute mass %d, want 3978", got)
	}
	if got := TransientMass(tx); got != 4*538 {
		t.Errorf("transient mass %d", got)
	}
	m, err := CalcMasses(tx, utxos)
	if err != nil {
		t.Fatal(err)
	}
	// General formula: Σ C/o − 2·C/mean(in).
	want := -2 * (StorageMassParameter / (75 * amount.SompiPerKAS))
	for _, o := range tx.Outputs {
		want += StorageMassParameter / int(o.Amount)
	}
	if m.Storage != uint64(want) {
		t.Errorf("storage mass %d, want %d", m.Storage, want)
	}
	// Mainnet after Toccata: 100 sompi × max(3,978, 2 × 538).
	main := PolicyFor(address.Mainnet)
	if got := main.MinimumRelayFee(tx); got != 397_800 {
		t.Errorf("mainnet floor %d, want 397800", got)
	}
	if got := PolicyFor(address.Devnet).MinimumRelayFee(tx); got != 3978 {
		t.Errorf("devnet floor %d, want 3978", got)
	}
	// The 0.2 KAS output alone costs 50,000 grams (KASPA.md), so a high
	// fee rate makes storage mass set the fee.
	if got := main.RequiredFee(tx, m, SompiPerGram(1000)); got != 1000*m.Storage {
		t.Errorf("required fee at 1000 sompi/gram = %d, want %d", got, 1000*m.Storage)
	}
}

func TestStorageMassEdges(t *testing.T) {
	one := func(a ...uint64) []StorageCell {
		c := make([]StorageCell, len(a))
		for i, v := range a {
			c[i] = StorageCell{Amount: v, Plurality: 1}
		}
		return c
	}
	// KASPA.md: one 0.1 KAS output alone costs 100,000 grams; 0.2 KAS, 50,000.
	if m, _ := StorageMass(one(1e15), one(10_000_000)); m != 100_000 {
		t.Errorf("0.1 KAS output from 10M KAS: %d", m)
	}
	if _, err := StorageMass(one(100), one(0)); !errors.Is(err, ErrZeroOutput) {
		t.Errorf("zero output: %v", err)
	}
	if _, err := StorageMass(nil, one(1)); !errors.Is(err, ErrNoInputs) {
		t.Errorf("no inputs: %v", err)
	}
	if _, err := StorageMass(one(1), []StorageCell{{Amount: 1, Plurality: 1 << 20}}); !errors.Is(err, ErrStorageMassIncomputable) {
		t.Errorf("overflow: %v", err)
	}
	if _, err := StorageMass(one(1), one(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)); err != nil {
		t.Errorf("20 outputs of 1 sompi: %v", err)
	}
}

func TestCheckNamesEveryProblem(t *testing.T) {
	tx, utxos, keys := kppShape(t)
	rate := SompiPerGram(1)
	// Pay the mainnet floor exactly: the signed transaction breaks nothing.
	signAll := func(tx *Transaction) {
		for i, k := range keys {
			if err := SignInput(tx, utxos, i, SigHashAll, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	signAll(tx)
	fee, _ := Fee(tx, utxos)
	if fee != 500_000 {
		t.Fatalf("fee %d", fee)
	}
	if p := PolicyFor(address.Mainnet).Check(tx, utxos, rate); len(p) != 0 {
		t.Fatalf("clean transaction has problems: %v", p)
	}
	rules := func(p []Problem) string {
		var s []string
		for _, x := range p {
			s = append(s, x.Rule)
		}
		return strings.Join(s, ",")
	}
	// A 0.05 KAS output breaks the 100,000 budget; the fee is then under
	// the feerate too at 10 sompi/gram; a tampered input is a bad signature.
	small, _, _ := kppShape(t)
	small.Outputs[3].Amount = 5_000_000
	small.Outputs[2].Amount += 15_000_000
	signAll(small)
	small.Inputs[1].SignatureScript[5] ^= 0xff
	p := PolicyFor(address.Mainnet).Check(small, utxos, SompiPerGram(10))
	if got := rules(p); got != "mass-budget,fee-below-feerate,bad-signature" {
		t.Fatalf("rules %q: %v", got, p)
	}
	if !strings.Contains(p[0].Message, "storage mass 200") || !strings.Contains(p[0].Message, "output 3 of 0.05 KAS alone costs 200000 grams") {
		t.Errorf("mass message: %s", p[0].Message)
	}
	// Under the floor, an unsigned input, a dust output on devnet, and a
	// zero output.
	cheap, _, _ := kppShape(t)
	cheap.Outputs[2].Amount += 500_000 - 1000
	cheap.Outputs[3].Amount = 500
	cheap.Outputs[1].Amount += 20_000_000 - 500
	if err := SignInput(cheap, utxos, 0, SigHashAll, keys[0]); err != nil {
		t.Fatal(err)
	}
	p = PolicyFor(address.Devnet).Check(cheap, utxos, rate)
	if got := rules(p); got != "dust-output,consensus-mass-limit,fee-below-floor,unsigned-input" {
		t.Fatalf("rules %q: %v", got, p)
	}
	cheap.Outputs[3].Amount = 0
	p = PolicyFor(address.Mainnet).Check(cheap, utxos, rate)
	if !strings.HasPrefix(rules(p), "zero-output,") {
		t.Fatalf("rules %q", rules(p))
	}
	over, _, _ := kppShape(t)
	over.Outputs[0].Amount += 10 * amount.SompiPerKAS
	if got := rules(PolicyFor(address.Mainnet).Check(over, utxos, rate)); got != "outputs-exceed-inputs,unsigned-input,unsigned-input" {
		t.Fatalf("rules %q", got)
	}
	if got := rules(PolicyFor(address.Mainnet).Check(over, utxos[:1], rate)); got != "utxo-entries" {
		t.Fatalf("rules %q", got)
	}
}

func TestInspect(t *testing.T) {
	tx, utxos, keys := kppShape(t)
	if err := SignInput(tx, utxos, 1, SigHashAll, keys[1]); err != nil {
		t.Fatal(err)
	}
	r := PolicyFor(address.Mainnet).Inspect(tx, utxos, SompiPerGram(1))
	if r.TransactionID != tx.ID() || r.TransactionHash != tx.Hash() || len(r.SigHashes) != 2 {
		t.Fatalf("%+v", r)
	}
	h, _ := SignatureHash(tx, utxos, 0, SigHashAll)
	if r.SigHashes[0] != h {
		t.Fatal("sighash 0 differs")
	}
	if len(r.Signatures) != 1 || r.Signatures[0].Input != 1 || !r.Signatures[0].Valid {
		t.Fatalf("signatures %+v", r.Signatures)
	}
	if r.ComputeMass != ComputeMass(tx) || r.MinimumFee != 100*max(r.ComputeMass, 2*SerializedSize(tx)) {
		t.Fatalf("%+v", r)
	}
	if len(r.Problems) != 1 || r.Problems[0].Rule != RuleUnsigned {
		t.Fatalf("problems %+v", r.Problems)
	}
}

func TestTransactionJSON(t *testing.T) {
	tx, utxos, keys := kppShape(t)
	tx.Payload = []byte("kloak")
	tx.Mass = 7
	for i, k := range keys {
		if err := SignInput(tx, utxos, i, SigHashAll, k); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(tx)
	if err != nil {
		t.Fatal(err)
	}
	var back Transaction
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Hash() != tx.Hash() || back.Mass != 7 || !bytes.Equal(back.Payload, tx.Payload) {
		t.Fatal("round trip changed the transaction")
	}
	// kaspactl's protojson: 64-bit integers as strings, verboseData null.
	kaspactl := `{"version":0,"inputs":[{"previousOutpoint":{"transactionId":"` + strings.Repeat("ab", 32) + `","index":1},
	  "signatureScript":"","sequence":"0","sigOpCount":1,"verboseData":null}],
	  "outputs":[{"amount":"100000000","scriptPublicKey":{"version":0,"scriptPublicKey":"` + hex.EncodeToString(utxos[0].ScriptPublicKey.Script) + `"},"verboseData":null}],
	  "lockTime":"0","subnetworkId":"0000000000000000000000000000000000000000","gas":"0","payload":"","mass":"0","verboseData":null}`
	var k Transaction
	if err := json.Unmarshal([]byte(kaspactl), &k); err != nil {
		t.Fatal(err)
	}
	if k.Outputs[0].Amount != amount.SompiPerKAS || k.Inputs[0].PreviousOutpoint.Index != 1 {
		t.Fatalf("%+v", k)
	}
	bad := []struct{ name, edit, want string }{
		{"unknown field", `"gas":"0",`, `"gas":"0","fee":1,`},
		{"missing field", `"lockTime":"0",`, ``},
		{"bad hex", `"payload":""`, `"payload":"zz"`},
		{"odd hex", `"payload":""`, `"payload":"abc"`},
		{"short txid", `"transactionId":"abab`, `"transactionId":"ab`},
		{"negative", `"sequence":"0"`, `"sequence":-1`},
		{"float", `"sequence":"0"`, `"sequence":1.5`},
		{"sigop range", `"sigOpCount":1`, `"sigOpCount":256`},
		{"index range", `"index":1`, `"index":4294967296`},
		{"amount above supply", `"amount":"100000000"`, `"amount":"18446744073709551615"`},
		{"missing spk version", `{"version":0,"scriptPublicKey"`, `{"scriptPublicKey"`},
		{"null inputs", `"inputs":[`, `"inputs":null,"x":[`},
		{"duplicate key", `"lockTime":"0",`, `"lockTime":"0","lockTime":"5",`},
		{"case variant", `"lockTime":"0",`, `"LockTime":"0",`},
		{"case-variant duplicate", `"lockTime":"0",`, `"lockTime":"0","LOCKTIME":"9",`},
	}
	for _, c := range bad {
		text := strings.Replace(kaspactl, c.edit, c.want, 1)
		if text == kaspactl {
			t.Fatalf("%s: edit did not apply", c.name)
		}
		var x Transaction
		if err := json.Unmarshal([]byte(text), &x); err == nil {
			t.Errorf("%s: decoded without error", c.name)
		}
	}
	var x Transaction
	err = json.Unmarshal([]byte(strings.Replace(kaspactl, `"lockTime":"0",`, "", 1)), &x)
	if err == nil || !strings.Contains(err.Error(), "lockTime: missing") {
		t.Errorf("missing lockTime error: %v", err)
	}
	err = json.Unmarshal([]byte(strings.Replace(kaspactl, `"sequence":"0"`, `"sequence":"-5"`, 1)), &x)
	if err == nil || !strings.Contains(err.Error(), "inputs[0].sequence: want an unsigned integer") {
		t.Errorf("bad integer error: %v", err)
	}
	// UTXO entries.
	var u UTXOEntry
	if err := json.Unmarshal([]byte(`{"amount":"5","scriptPublicKey":{"version":0,"scriptPublicKey":"20ac"},"blockDaaScore":"9","isCoinbase":true}`), &u); err != nil || u.Amount != 5 || !u.IsCoinbase || u.BlockDAAScore != 9 {
		t.Fatalf("%+v %v", u, err)
	}
	if err := json.Unmarshal([]byte(`{"amount":"5","scriptPublicKey":{"version":0,"scriptPublicKey":"20ac"},"blockDaaScore":"9"}`), &u); err == nil {
		t.Error("utxo without isCoinbase decoded")
	}
}

func TestFeeRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want FeeRate
	}{{"1", 1000}, {"1.5", 1500}, {"0.001", 1}, {"100", 100_000}} {
		got, err := ParseFeeRate(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseFeeRate(%q) = %d, %v", c.in, got, err)
		}
	}
	for _, in := range []string{"", "1.0001", "-1", "1e3", ".5", "1.", "x"} {
		if _, err := ParseFeeRate(in); err == nil {
			t.Errorf("ParseFeeRate(%q) accepted", in)
		}
	}
	if f := FeeRate(1500).Fee(3); f != 5 { // 4.5 rounds up
		t.Errorf("fee %d", f)
	}
	if r, err := FeeRateFromFloat(1.0000001); err != nil || r != 1001 {
		t.Errorf("FeeRateFromFloat = %d, %v", r, err)
	}
	if _, err := FeeRateFromFloat(-1); err == nil {
		t.Error("negative rate accepted")
	}
}

func FuzzTransactionJSON(f *testing.F) {
	tx, utxos, keys := kppShape(f)
	for i, k := range keys {
		if err := SignInput(tx, utxos, i, SigHashAll, k); err != nil {
			f.Fatal(err)
		}
	}
	b, _ := json.Marshal(tx)
	f.Add(b)
	f.Add([]byte(`{"version":0,"inputs":[],"outputs":[],"lockTime":"0","subnetworkId":"0000000000000000000000000000000000000000","gas":0,"payload":""}`))
	f.Add([]byte(`{"version":"1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tx Transaction
		if err := json.Unmarshal(b, &tx); err != nil {
			return
		}
		// Whatever decodes re-encodes to an equal transaction, and every
		// computation on it terminates without panicking.
		out, err := json.Marshal(tx)
		if err != nil {
			t.Fatal(err)
		}
		var back Transaction
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if back.Hash() != tx.Hash() || back.ID() != tx.ID() {
			t.Fatal("round trip changed the transaction")
		}
		utxos := make([]UTXOEntry, len(tx.Inputs))
		for i := range utxos {
			utxos[i] = UTXOEntry{Amount: 1 + amount.Sompi(i)}
		}
		PolicyFor(address.Mainnet).Inspect(&tx, utxos, SompiPerGram(1))
	})
}
