package address

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type vectorFile struct {
	Source json.RawMessage `json:"source"`
	Valid  []struct {
		Address      string `json:"address"`
		Prefix       string `json:"prefix"`
		Version      byte   `json:"version"`
		Payload      string `json:"payload"`
		Script       string `json:"scriptPublicKey"`
		TestOnly     bool   `json:"testOnlyPrefix"`
		ExampleOnly  bool   `json:"exampleOnly"`
		ScriptVerion uint16 `json:"scriptPublicKeyVersion"`
	} `json:"valid"`
	Invalid []struct {
		Address  string  `json:"address"`
		Why      string  `json:"why"`
		Expected *string `json:"decodeWithExpectedPrefix"`
	} `json:"invalid"`
	EncodeInvalid []struct {
		Prefix  string `json:"prefix"`
		Version byte   `json:"version"`
		Payload string `json:"payload"`
	} `json:"encodeInvalid"`
	ScriptCases []struct {
		Version byte   `json:"version"`
		Payload string `json:"payload"`
		Script  string `json:"scriptPublicKey"`
	} `json:"scriptCases"`
	ScriptInvalid []struct {
		Name    string `json:"name"`
		Script  string `json:"scriptPublicKey"`
		Version uint16 `json:"scriptPublicKeyVersion"`
	} `json:"scriptInvalid"`
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors runs the address vectors of rusty-kaspa crypto/addresses and
// txscript/standard.rs and kaspad util/address_test.go and
// txscript/standard_test.go (testdata/addresses.json).
func TestVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "addresses.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Source) == 0 || len(v.Valid) < 20 || len(v.Invalid) < 10 {
		t.Fatalf("vector file too small: %d valid, %d invalid", len(v.Valid), len(v.Invalid))
	}
	for _, c := range v.Valid {
		payload := mustHex(t, c.Payload)
		data := append([]byte{c.Version}, payload...)
		if got := encode(c.Prefix, data); got != c.Address {
			t.Errorf("encode(%s, %d, %s) = %s, want %s", c.Prefix, c.Version, c.Payload, got, c.Address)
		}
		prefix, got, err := decode(c.Address)
		if err != nil || prefix != c.Prefix || hex.EncodeToString(got) != hex.EncodeToString(data) {
			t.Errorf("decode(%s) = %s, %x, %v", c.Address, prefix, got, err)
		}
		if c.TestOnly {
			continue
		}
		net, err := ParseNetwork(c.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Decode(c.Address, net)
		if err != nil {
			t.Errorf("Decode(%s): %v", c.Address, err)
			continue
		}
		if byte(a.Version()) != c.Version || hex.EncodeToString(a.Payload()) != c.Payload || a.String() != c.Address {
			t.Errorf("Decode(%s) = %v %x", c.Address, a.Version(), a.Payload())
		}
		if c.Script != "" {
			spk := a.ScriptPublicKey()
			if hex.EncodeToString(spk.Script) != c.Script || spk.Version != c.ScriptVerion {
				t.Errorf("%s: script %x, want %s", c.Address, spk.Script, c.Script)
			}
			back, err := FromScriptPublicKey(spk, net)
			if err != nil || !back.Equal(a) {
				t.Errorf("%s: FromScriptPublicKey = %v, %v", c.Address, back, err)
			}
		}
	}
	wantErr := map[string]error{
		"checksum":        ErrChecksum,
		"charset":         ErrMalformed,
		"prefix":          ErrUnknownPrefix,
		"missing-prefix":  ErrMalformed,
		"version":         ErrVersion,
		"prefix-mismatch": ErrWrongNetwork,
		"length":          ErrPayloadLength,
	}
	for _, c := range v.Invalid {
		var err error
		if c.Expected != nil {
			net, nerr := ParseNetwork(*c.Expected)
			if nerr != nil {
				t.Fatal(nerr)
			}
			_, err = Decode(c.Address, net)
		} else {
			_, err = Parse(c.Address)
		}
		if want := wantErr[c.Why]; want == nil || !errors.Is(err, want) {
			t.Errorf("%q (%s): error %v, want %v", c.Address, c.Why, err, want)
		}
	}
	for _, c := range v.EncodeInvalid {
		net, _ := ParseNetwork(c.Prefix)
		if _, err := New(net, Version(c.Version), mustHex(t, c.Payload)); !errors.Is(err, ErrPayloadLength) {
			t.Errorf("New(%s, %d, %s): %v", c.Prefix, c.Version, c.Payload, err)
		}
	}
	for _, c := range v.ScriptCases {
		a, err := New(Mainnet, Version(c.Version), mustHex(t, c.Payload))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(a.ScriptPublicKey().Script); got != c.Script {
			t.Errorf("script of %d/%s = %s, want %s", c.Version, c.Payload, got, c.Script)
		}
		back, err := FromScriptPublicKey(ScriptPublicKey{Script: mustHex(t, c.Script)}, Mainnet)
		if err != nil || !back.Equal(a) {
			t.Errorf("FromScriptPublicKey(%s) = %v, %v", c.Script, back, err)
		}
	}
	for _, c := range v.ScriptInvalid {
		if _, err := FromScriptPublicKey(ScriptPublicKey{Version: c.Version, Script: mustHex(t, c.Script)}, Mainnet); !errors.Is(err, ErrNonStandardScript) {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

// TestPythonOriginalAddresses decodes the addresses of the Python original's
// vectors (../shared/reference/kloak-v1-vectors.json, which the test reads
// when the shared folder is beside the repository).
func TestPythonOriginalAddresses(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "reference", "kloak-v1-vectors.json"))
	if err != nil {
		t.Skip("shared/reference not beside the repository:", err)
	}
	var v struct {
		Keys []struct {
			Address string `json:"address"`
		} `json:"kloak_derivation"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Keys) != 3 {
		t.Fatalf("%d keys", len(v.Keys))
	}
	for _, k := range v.Keys {
		a, err := Decode(k.Address, Mainnet)
		if err != nil || a.String() != k.Address || a.Version() != PubKey {
			t.Errorf("%s: %v", k.Address, err)
		}
	}
}

func TestErrorsNameTheProblem(t *testing.T) {
	good := "kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea"
	a, err := Decode(good, Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	if up, err := Decode(strings.ToUpper(good), Mainnet); err != nil || !up.Equal(a) {
		t.Errorf("upper case: %v", err)
	}
	cases := []struct {
		in   string
		net  Network
		want error
		text string
	}{
		{good, Testnet, ErrWrongNetwork, `want testnet (prefix "kaspatest:")`},
		{"Kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", Mainnet, ErrMalformed, "mixes upper and lower case"},
		{strings.Replace(good, "qqud", "qqup", 1), Mainnet, ErrChecksum, "checksum"},
		{"kaspa:" + strings.Repeat("q", 200), Mainnet, ErrMalformed, "too long"},
		{"kaspa:qqq", Mainnet, ErrMalformed, "too short"},
		{"qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", Mainnet, ErrMalformed, "no prefix"},
		{":qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", Mainnet, ErrUnknownPrefix, "empty prefix"},
		{"", Mainnet, ErrMalformed, "no prefix"},
	}
	for _, c := range cases {
		_, err := Decode(c.in, c.net)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Decode(%q): %v, want %v containing %q", c.in, err, c.want, c.text)
		}
	}
}

func TestScriptPublicKeyJSON(t *testing.T) {
	s := ScriptPublicKey{Version: 0, Script: []byte{0x20, 0xac}}
	b, _ := json.Marshal(s)
	if string(b) != `{"version":0,"scriptPublicKey":"20ac"}` {
		t.Fatal(string(b))
	}
	var back ScriptPublicKey
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(s) {
		t.Fatal(err)
	}
	for _, bad := range []string{`{"scriptPublicKey":"20ac"}`, `{"version":0}`, `{"version":0,"scriptPublicKey":"2"}`, `{"version":0,"scriptPublicKey":"20ac","x":1}`, `{"version":70000,"scriptPublicKey":""}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func TestNetworks(t *testing.T) {
	for _, n := range []Network{Mainnet, Testnet, Simnet, Devnet} {
		for _, name := range []string{n.String(), n.Prefix()} {
			got, err := ParseNetwork(name)
			if err != nil || got != n {
				t.Errorf("ParseNetwork(%q) = %v, %v", name, got, err)
			}
		}
	}
	if _, err := ParseNetwork("bitcoin"); err == nil {
		t.Error("bitcoin is a network")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea",
		"kaspatest:qxaqrlzlf6wes72en3568khahq66wf27tuhfxn5nytkd8tcep2c0vrse6gdmpks",
		"kaspa:prq20q4qd9ulr044cauyy9wtpeupqpjv67pn2vyc6acly7xqkrjdzmh8rj9f4",
		"kaspa:", "a:qqeq69uvrh", "kaspa:qqqqqqqqqqqqq\x81qq",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		// What parses re-encodes to the same text, in lower case.
		if a.String() != strings.ToLower(s) {
			t.Fatalf("Parse(%q).String() = %q", s, a.String())
		}
		if _, err := FromScriptPublicKey(a.ScriptPublicKey(), a.Network()); err != nil {
			t.Fatalf("script of %q: %v", s, err)
		}
	})
}
