package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/cli/clitest"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

// inspection is `tx inspect`'s output. It is decoded with unknown fields
// disallowed, so a field added to the output fails these tests until they
// check it too.
type inspection struct {
	TransactionID   string   `json:"transactionId"`
	TransactionHash string   `json:"transactionHash"`
	SigHashes       []string `json:"sighashes"`
	ComputeMass     uint64   `json:"computeMass"`
	StorageMass     uint64   `json:"storageMass"`
	TransientMass   uint64   `json:"transientMass"`
	MinimumFee      uint64   `json:"minimumFee"`
	Signatures      []struct {
		Input int    `json:"input"`
		Valid bool   `json:"valid"`
		Error string `json:"error"`
	} `json:"signatures"`
	Problems []struct {
		Rule    string `json:"rule"`
		Message string `json:"message"`
	} `json:"problems"`
}

func (r inspection) rules() []string {
	var rules []string
	for _, p := range r.Problems {
		rules = append(rules, p.Rule)
	}
	return rules
}

func (r inspection) message(rule string) string {
	for _, p := range r.Problems {
		if p.Rule == rule {
			return p.Message
		}
	}
	return ""
}

// runStdin is run with stdin as standard input.
func runStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(kloakwallet, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return result{out.String(), errOut.String(), err}
}

// inspect runs `tx inspect` on input given as a file and decodes its
// output strictly.
func inspect(t *testing.T, input string, flags ...string) inspection {
	t.Helper()
	res := run(t, nil, append(append([]string{"tx", "inspect"}, flags...), writeFile(t, "tx.json", input))...)
	if res.err != nil {
		t.Fatalf("tx inspect %v: %v\n%s", flags, res.err, res.stderr)
	}
	return decodeInspection(t, res.stdout)
}

func decodeInspection(t *testing.T, out string) inspection {
	t.Helper()
	var r inspection
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	return r
}

// paymentKeys are the fixed keys the test transactions spend from: receive
// addresses 0 and 1 of account 0 of a fixed seed.
func paymentKeys(t *testing.T) [2]wallet.Key {
	t.Helper()
	acct, err := wallet.NewAccount(bytes.Repeat([]byte{0x42}, 64), 0, address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	var keys [2]wallet.Key
	for i := range keys {
		if keys[i], err = acct.Receive(uint32(i)); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// payment builds and signs a transaction spending 10 KAS and 5 KAS from the
// two payment keys: 12 KAS to a fixed address, the given extra outputs to
// it too, and the rest minus a 0.01 KAS fee back to key 0. The UTXO DAA
// scores and one sequence are above 2^53, so that a decoder going through
// float64 would change them (and the signature hashes).
func payment(t *testing.T, extra ...amount.Sompi) (*txbuild.Transaction, []txbuild.UTXOEntry) {
	t.Helper()
	keys := paymentKeys(t)
	to, err := address.Decode("kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	utxos := []txbuild.UTXOEntry{
		{Amount: 10 * amount.SompiPerKAS, ScriptPublicKey: keys[0].Address.ScriptPublicKey(), BlockDAAScore: 1<<53 + 1},
		{Amount: 5 * amount.SompiPerKAS, ScriptPublicKey: keys[1].Address.ScriptPublicKey(), BlockDAAScore: 88_123_456, IsCoinbase: true},
	}
	tx := &txbuild.Transaction{
		Inputs: []txbuild.Input{
			{PreviousOutpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{1, 2, 3}, Index: 0}, SigOpCount: 1},
			{PreviousOutpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{4, 5, 6}, Index: 7}, Sequence: 1<<63 + 3, SigOpCount: 1},
		},
		Outputs: []txbuild.Output{{Amount: 12 * amount.SompiPerKAS, ScriptPublicKey: to.ScriptPublicKey()}},
	}
	change := amount.Sompi(3*amount.SompiPerKAS - amount.SompiPerKAS/100)
	for _, a := range extra {
		tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: a, ScriptPublicKey: to.ScriptPublicKey()})
		change -= a
	}
	tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: change, ScriptPublicKey: keys[0].Address.ScriptPublicKey()})
	sign(t, tx, utxos)
	return tx, utxos
}

func sign(t *testing.T, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry) {
	t.Helper()
	keys := paymentKeys(t)
	for i := range tx.Inputs {
		priv, err := keys[i].PrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := txbuild.SignInput(tx, utxos, i, txbuild.SigHashAll, priv); err != nil {
			t.Fatal(err)
		}
	}
}

// protojsonFields are the uint64 fields of RpcTransaction, its inputs and
// outputs, and RpcUtxoEntry: protojson writes them as decimal strings.
var protojsonFields = map[string]bool{"amount": true, "sequence": true, "lockTime": true, "gas": true, "mass": true, "blockDaaScore": true}

// protojsonInput returns tx inspect's input for tx in the form kaspactl
// prints: protojson with EmitUnpopulated, so 64-bit integers are strings,
// verboseData is null and an unset mass is "0".
func protojsonInput(t *testing.T, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry) string {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"transaction": tx, "utxoEntries": utxos})
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	txm := v["transaction"].(map[string]any)
	txm["verboseData"] = nil
	if _, ok := txm["mass"]; !ok {
		txm["mass"] = json.Number("0")
	}
	for _, list := range []string{"inputs", "outputs"} {
		for _, x := range txm[list].([]any) {
			x.(map[string]any)["verboseData"] = nil
		}
	}
	var stringify func(x any)
	stringify = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				if n, ok := e.(json.Number); ok && protojsonFields[k] {
					x[k] = string(n)
				} else {
					stringify(e)
				}
			}
		case []any:
			for _, e := range x {
				stringify(e)
			}
		}
	}
	stringify(v)
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// floorFee is the relay floor as PolicyFor documents it: FloorRate ×
// max(compute mass, FloorBytesWeight × serialized size); 100 sompi and 2
// grams a byte on mainnet, 1 sompi and compute mass only on devnet.
func floorFee(tx *txbuild.Transaction, net address.Network) uint64 {
	if net == address.Devnet {
		return txbuild.ComputeMass(tx)
	}
	return 100 * max(txbuild.ComputeMass(tx), 2*txbuild.SerializedSize(tx))
}

// rateFee is ceil(milliSompiPerGram / 1000 × max(compute, storage mass)).
func rateFee(t *testing.T, tx *txbuild.Transaction, utxos []txbuild.UTXOEntry, milliSompiPerGram uint64) uint64 {
	storage, err := txbuild.TxStorageMass(tx, utxos)
	if err != nil {
		t.Fatal(err)
	}
	return (milliSompiPerGram*max(txbuild.ComputeMass(tx), storage) + 999) / 1000
}

func TestTxInspectValid(t *testing.T) {
	tx, utxos := payment(t)
	input := protojsonInput(t, tx, utxos)
	for _, want := range []string{`"amount": "1000000000"`, `"blockDaaScore": "9007199254740993"`, `"sequence": "9223372036854775811"`, `"verboseData": null`, `"mass": "0"`, `"index": 7`} {
		if !strings.Contains(input, want) {
			t.Fatalf("input lacks %s:\n%s", want, input)
		}
	}
	storage, err := txbuild.TxStorageMass(tx, utxos)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		net   address.Network
		flags []string
		fee   uint64
	}{
		{address.Mainnet, nil, max(floorFee(tx, address.Mainnet), rateFee(t, tx, utxos, 1000))},
		{address.Mainnet, []string{"--network", "mainnet", "--feerate", "1"}, max(floorFee(tx, address.Mainnet), rateFee(t, tx, utxos, 1000))},
		{address.Devnet, []string{"--network", "devnet"}, max(floorFee(tx, address.Devnet), rateFee(t, tx, utxos, 1000))},
		{address.Devnet, []string{"--network", "devnet", "--feerate", "2.5"}, max(floorFee(tx, address.Devnet), rateFee(t, tx, utxos, 2500))},
	} {
		r := inspect(t, input, tt.flags...)
		where := fmt.Sprint(tt.flags)
		if r.TransactionID != tx.ID().String() || r.TransactionHash != tx.Hash().String() {
			t.Errorf("%s: id %s hash %s, want %s %s", where, r.TransactionID, r.TransactionHash, tx.ID(), tx.Hash())
		}
		if len(r.SigHashes) != len(tx.Inputs) {
			t.Fatalf("%s: %d sighashes for %d inputs", where, len(r.SigHashes), len(tx.Inputs))
		}
		for i, got := range r.SigHashes {
			want, err := txbuild.SignatureHash(tx, utxos, i, txbuild.SigHashAll)
			if err != nil {
				t.Fatal(err)
			}
			if got != want.String() {
				t.Errorf("%s: sighash %d = %s, want %s", where, i, got, want)
			}
		}
		if r.ComputeMass != txbuild.ComputeMass(tx) || r.StorageMass != storage || r.TransientMass != txbuild.TransientMass(tx) {
			t.Errorf("%s: masses %d/%d/%d, want %d/%d/%d", where, r.ComputeMass, r.StorageMass, r.TransientMass, txbuild.ComputeMass(tx), storage, txbuild.TransientMass(tx))
		}
		if r.StorageMass == 0 || r.ComputeMass == 0 {
			t.Errorf("%s: zero mass in %+v", where, r)
		}
		if r.MinimumFee != tt.fee {
			t.Errorf("%s: minimum fee %d, want %d", where, r.MinimumFee, tt.fee)
		}
		if len(r.Signatures) != 2 || r.Signatures[0].Input != 0 || r.Signatures[1].Input != 1 {
			t.Fatalf("%s: signatures %+v", where, r.Signatures)
		}
		for _, s := range r.Signatures {
			if !s.Valid || s.Error != "" {
				t.Errorf("%s: signature %+v", where, s)
			}
		}
		if r.Problems == nil || len(r.Problems) != 0 {
			t.Errorf("%s: problems %+v, want []", where, r.Problems)
		}
	}
	// The mainnet floor is far above devnet's: 100 sompi a gram.
	if floorFee(tx, address.Mainnet) < 100*floorFee(tx, address.Devnet) {
		t.Errorf("mainnet floor %d, devnet %d", floorFee(tx, address.Mainnet), floorFee(tx, address.Devnet))
	}
}

func TestTxInspectProblems(t *testing.T) {
	t.Run("flipped signature byte", func(t *testing.T) {
		tx, utxos := payment(t)
		tx.Inputs[1].SignatureScript[20] ^= 0x01
		for _, net := range []string{"mainnet", "devnet"} {
			r := inspect(t, protojsonInput(t, tx, utxos), "--network", net)
			if !slices.Equal(r.rules(), []string{txbuild.RuleBadSignature}) {
				t.Fatalf("%s: problems %+v", net, r.Problems)
			}
			if msg := r.message(txbuild.RuleBadSignature); !strings.Contains(msg, "input 1") {
				t.Errorf("%s: message %q does not name input 1", net, msg)
			}
			if len(r.Signatures) != 2 || !r.Signatures[0].Valid || r.Signatures[1].Valid || r.Signatures[1].Error == "" {
				t.Errorf("%s: signatures %+v", net, r.Signatures)
			}
			// The id does not cover signature scripts; the hash does.
			if r.TransactionID != tx.ID().String() || r.TransactionHash != tx.Hash().String() {
				t.Errorf("%s: id %s hash %s", net, r.TransactionID, r.TransactionHash)
			}
		}
	})

	t.Run("dust on devnet", func(t *testing.T) {
		tx, utxos := payment(t, 500)
		r := inspect(t, protojsonInput(t, tx, utxos), "--network", "devnet")
		msg := r.message(txbuild.RuleDust)
		// 600 sompi = 3 × (8 + 2 + 8 + 34-byte script + 148), Go kaspad's rule.
		for _, want := range []string{"output 1", amount.Sompi(500).String(), amount.Sompi(600).String()} {
			if !strings.Contains(msg, want) {
				t.Errorf("dust message %q lacks %q", msg, want)
			}
		}
		// A 500-sompi output also has a storage mass of 2*10^9 grams, which
		// Check reports on devnet too (consensus mass limit, and the fee
		// rate over it); nothing else may be wrong.
		for _, rule := range r.rules() {
			if rule != txbuild.RuleDust && rule != txbuild.RuleConsensusMass && rule != txbuild.RuleFeeRate {
				t.Errorf("unexpected problem %s: %s", rule, r.message(rule))
			}
		}
		// Mainnet has no dust rule.
		if m := inspect(t, protojsonInput(t, tx, utxos), "--network", "mainnet"); m.message(txbuild.RuleDust) != "" || m.message(txbuild.RuleConsensusMass) == "" {
			t.Errorf("mainnet problems %+v", m.Problems)
		}
	})

	t.Run("0.05 KAS output on mainnet", func(t *testing.T) {
		tx, utxos := payment(t, 5_000_000)
		storage, err := txbuild.TxStorageMass(tx, utxos)
		if err != nil {
			t.Fatal(err)
		}
		if storage <= txbuild.MaximumStandardMass || storage > txbuild.BlockStorageMassLimit {
			t.Fatalf("storage mass %d is not between the budget and the block limit", storage)
		}
		input := protojsonInput(t, tx, utxos)
		r := inspect(t, input, "--network", "mainnet")
		if !slices.Equal(r.rules(), []string{txbuild.RuleMassBudget}) {
			t.Fatalf("problems %+v", r.Problems)
		}
		msg := r.message(txbuild.RuleMassBudget)
		for _, want := range []string{"storage mass", fmt.Sprint(storage), "100000", fmt.Sprint(storage - 100000), "output 1", "200000 grams"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
		if r.StorageMass != storage || r.MinimumFee != max(floorFee(tx, address.Mainnet), storage) {
			t.Errorf("storage mass %d, minimum fee %d", r.StorageMass, r.MinimumFee)
		}
		// At 5 sompi a gram the 0.01 KAS fee no longer covers the storage mass.
		r = inspect(t, input, "--network", "mainnet", "--feerate", "5")
		if !slices.Equal(r.rules(), []string{txbuild.RuleMassBudget, txbuild.RuleFeeRate}) {
			t.Fatalf("at 5 sompi/gram: problems %+v", r.Problems)
		}
		need := 5 * storage
		msg = r.message(txbuild.RuleFeeRate)
		for _, want := range []string{"1000000", fmt.Sprint(need), fmt.Sprint(need - 1_000_000), "5 sompi/gram"} {
			if !strings.Contains(msg, want) {
				t.Errorf("fee rate message %q lacks %q", msg, want)
			}
		}
		if r.MinimumFee != need {
			t.Errorf("minimum fee %d, want %d", r.MinimumFee, need)
		}
	})

	t.Run("all at once on devnet", func(t *testing.T) {
		tx, utxos := payment(t, 500)
		tx.Inputs[0].SignatureScript[64] ^= 0x80
		r := inspect(t, protojsonInput(t, tx, utxos), "--network", "devnet")
		if r.message(txbuild.RuleDust) == "" || !strings.Contains(r.message(txbuild.RuleBadSignature), "input 0") {
			t.Fatalf("problems %+v", r.Problems)
		}
	})

	t.Run("unsigned input", func(t *testing.T) {
		tx, utxos := payment(t)
		tx.Inputs[0].SignatureScript = nil
		r := inspect(t, protojsonInput(t, tx, utxos))
		if !slices.Equal(r.rules(), []string{txbuild.RuleUnsigned}) || !strings.Contains(r.Problems[0].Message, "input 0") {
			t.Fatalf("problems %+v", r.Problems)
		}
		if len(r.Signatures) != 1 || r.Signatures[0].Input != 1 || !r.Signatures[0].Valid {
			t.Errorf("signatures %+v", r.Signatures)
		}
	})
}

// TestTxInspectUTXOCount: a wrong number of UTXO entries is not an error
// but a problem in the output, with the id, hash and masses that need no
// UTXOs and, as the minimum fee, the relay floor alone.
func TestTxInspectUTXOCount(t *testing.T) {
	tx, utxos := payment(t)
	for _, n := range []int{0, 1, 3} {
		us := slices.Repeat(utxos, 2)[:n]
		r := inspect(t, protojsonInput(t, tx, us))
		if !slices.Equal(r.rules(), []string{txbuild.RuleUTXOs}) {
			t.Fatalf("%d entries: problems %+v", n, r.Problems)
		}
		if msg, want := r.Problems[0].Message, fmt.Sprintf("2 inputs but %d UTXO entries", n); !strings.Contains(msg, want) {
			t.Errorf("%d entries: message %q, want %q", n, msg, want)
		}
		if r.TransactionID != tx.ID().String() || r.TransactionHash != tx.Hash().String() || r.ComputeMass != txbuild.ComputeMass(tx) || r.TransientMass != txbuild.TransientMass(tx) {
			t.Errorf("%d entries: %+v", n, r)
		}
		if len(r.SigHashes) != 0 || len(r.Signatures) != 0 || r.StorageMass != 0 || r.MinimumFee != floorFee(tx, address.Mainnet) {
			t.Errorf("%d entries: sighashes %v signatures %v storage %d minimum fee %d", n, r.SigHashes, r.Signatures, r.StorageMass, r.MinimumFee)
		}
	}
}

func TestTxInspectInputs(t *testing.T) {
	tx, utxos := payment(t)
	input := protojsonInput(t, tx, utxos)
	want := inspect(t, input) // from a file
	for _, args := range [][]string{{"tx", "inspect", "-"}, {"tx", "inspect"}, {"tx", "inspect", "--network", "mainnet", "-"}} {
		res := runStdin(t, input, args...)
		if res.err != nil {
			t.Fatalf("%v: %v\n%s", args, res.err, res.stderr)
		}
		got := decodeInspection(t, res.stdout)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%v: %+v\nfrom a file: %+v", args, got, want)
		}
	}
	// Plain numbers (txbuild's own JSON form) read the same as protojson.
	plain, err := json.Marshal(map[string]any{"transaction": tx, "utxoEntries": utxos})
	if err != nil {
		t.Fatal(err)
	}
	if got := inspect(t, string(plain)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("plain JSON: %+v\nprotojson: %+v", got, want)
	}
}

func TestTxInspectErrors(t *testing.T) {
	tx, utxos := payment(t)
	good := protojsonInput(t, tx, utxos)
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(good), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	input := func(m map[string]any, i int) map[string]any {
		return m["transaction"].(map[string]any)["inputs"].([]any)[i].(map[string]any)
	}
	for _, tt := range []struct {
		name  string
		input string
		flags []string
		want  []string
	}{
		{"unknown top-level field", edit(func(m map[string]any) { m["fee"] = "1" }), nil, []string{`unknown field "fee"`}},
		{"unknown transaction field", edit(func(m map[string]any) { m["transaction"].(map[string]any)["fee"] = "1" }), nil, []string{"transaction", `unknown field "fee"`}},
		{"unknown utxo field", edit(func(m map[string]any) { m["utxoEntries"].([]any)[1].(map[string]any)["address"] = "x" }), nil, []string{"utxoEntry", `unknown field "address"`}},
		{"missing utxoEntries", edit(func(m map[string]any) { delete(m, "utxoEntries") }), nil, []string{`missing "utxoEntries"`, "one RpcUtxoEntry per input"}},
		{"null utxoEntries", edit(func(m map[string]any) { m["utxoEntries"] = nil }), nil, []string{`missing "utxoEntries"`}},
		{"missing transaction", edit(func(m map[string]any) { delete(m, "transaction") }), nil, []string{`missing "transaction"`}},
		{"bad hex signature script", edit(func(m map[string]any) { input(m, 1)["signatureScript"] = "41zz" }), nil, []string{"inputs[1].signatureScript", "bad hex"}},
		{"bad hex transaction id", edit(func(m map[string]any) {
			input(m, 0)["previousOutpoint"].(map[string]any)["transactionId"] = "0102"
		}), nil, []string{"inputs[0].previousOutpoint.transactionId", "want 32 bytes, got 2"}},
		{"amount not a number", edit(func(m map[string]any) { m["utxoEntries"].([]any)[0].(map[string]any)["amount"] = "10 KAS" }), nil, []string{"utxoEntry", "unsigned integer", "10 KAS"}},
		{"not JSON", "transaction: {}", nil, []string{"invalid character"}},
		{"trailing object", good + "\n{}", nil, []string{"trailing data"}},
		{"trailing bracket", good + "]", nil, []string{"trailing data"}},
		{"empty", "", nil, []string{"EOF"}},
		{"unknown network", good, []string{"--network", "moon"}, []string{`unknown Kaspa network "moon"`}},
		{"feerate with 4 decimals", good, []string{"--feerate", "1.0001"}, []string{`fee rate "1.0001"`, "at most 3 decimals"}},
		{"negative feerate", good, []string{"--feerate", "-1"}, []string{`fee rate "-1"`}},
		{"feerate exponent", good, []string{"--feerate", "1e3"}, []string{`fee rate "1e3"`}},
	} {
		res := runStdin(t, tt.input, append(append([]string{"tx", "inspect"}, tt.flags...), "-")...)
		if code := clitest.ExitCode(res.err); code != 1 {
			t.Errorf("%s: exit %d, want 1; stdout %q", tt.name, code, res.stdout)
		}
		for _, want := range tt.want {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("%s: stderr %q lacks %q", tt.name, res.stderr, want)
			}
		}
		if res.stdout != "" {
			t.Errorf("%s: printed %q", tt.name, res.stdout)
		}
	}

	// Files: a missing one names the file; a second argument is refused.
	missing := t.TempDir() + "/none.json"
	if res := run(t, nil, "tx", "inspect", missing); clitest.ExitCode(res.err) != 1 || !strings.Contains(res.stderr, "no such file") {
		t.Errorf("missing file: %v %q", res.err, res.stderr)
	}
	f := writeFile(t, "tx.json", good)
	if res := run(t, nil, "tx", "inspect", f, f); clitest.ExitCode(res.err) != 1 || !strings.Contains(res.stderr, "accepts at most 1 arg") {
		t.Errorf("two files: %v %q", res.err, res.stderr)
	}
	// The name of the file is in its decoding errors.
	bad := writeFile(t, "bad.json", `{"transaction":{}}`)
	if res := run(t, nil, "tx", "inspect", bad); clitest.ExitCode(res.err) != 1 || !strings.Contains(res.stderr, "bad.json") {
		t.Errorf("bad file: %v %q", res.err, res.stderr)
	}
}
