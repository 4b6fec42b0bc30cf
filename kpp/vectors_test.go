package kpp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
)

// The Python original's vectors (testdata/kloak-v1-vectors.json, a copy of
// shared/reference/kloak-v1-vectors.json, computed by running the original
// functions of kloakprotocol/kloak_node at commit 01b8fc4).
type pythonVectors struct {
	URI struct {
		KeyHex    string `json:"e2ee_key_hex"`
		SessionID string `json:"session_id"`
		URI       string `json:"uri"`
		Small     string `json:"uri_small_amount"`
		Parsed    struct {
			Address, WSURL, Payload, Key string
		} `json:"parsed"`
	} `json:"uri_vector"`
	Normalize map[string]string `json:"normalize"`
}

func loadPython(t *testing.T) pythonVectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "kloak-v1-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v pythonVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestURIVectors(t *testing.T) {
	v := loadPython(t)
	var key Key
	if _, err := hex.Decode(key[:], []byte(v.URI.KeyHex)); err != nil {
		t.Fatal(err)
	}
	if got := key.SessionID(); got != v.URI.SessionID {
		t.Fatalf("session id %s, want %s", got, v.URI.SessionID)
	}
	r, err := ParsePaymentRequest(v.URI.URI, address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	if r.Address.String() != "kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea" || r.Amount != 1_050_000_000 ||
		r.Payload != "kpp" || r.RelayURL != "ws://1.2.3.4:8765/kpp" || r.Key != key || r.Format != FormatURI {
		t.Fatalf("parsed %+v", r)
	}
	// Formatting it again gives the original's exact text.
	if got := r.URI(); got != v.URI.URI {
		t.Fatalf("URI()\n got %s\nwant %s", got, v.URI.URI)
	}
	small, err := ParsePaymentRequest(v.URI.Small, address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	if small.Amount != 1000 || small.Payload != "a b&c=d" || small.RelayURL != "wss://n.example:443/kpp?x=1" || small.Key != key {
		t.Fatalf("parsed small %+v", small)
	}
	// kloak writes the amount as plain decimal, the rest as the original.
	want := strings.Replace(v.URI.Small, "amount=1e-05", "amount=0.00001", 1)
	if got := small.URI(); got != want {
		t.Fatalf("URI()\n got %s\nwant %s", got, want)
	}
	for in, want := range v.Normalize {
		if in == "http://h" {
			// The original makes ws://http://h/kpp; kloak makes ws://h/kpp.
			want = "ws://h/kpp"
		}
		if got := NormalizeRelayURL(in); got != want {
			t.Errorf("NormalizeRelayURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURIForms(t *testing.T) {
	key := Key{1, 2, 3}
	a, _ := address.Decode("kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea", address.Mainnet)
	r := PaymentRequest{Address: a, Amount: 123_456_789, Payload: "kpp", RelayURL: "ws://h:1/kpp", Key: key}
	u := r.URI()
	// The &-only form of the original's wallet guide.
	amp := strings.Replace(u, "?", "&", 1)
	legacy := `{"protocol":"kpp","version":"1.0.0","ws_url":"ws://h:1/kpp","e2ee_key":"AQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","amount":1.23456789}`
	for _, in := range []string{u, amp, " " + u + "\n", strings.ToUpper(u[:5]) + u[5:]} {
		got, err := ParsePaymentRequest(in, address.Mainnet)
		if err != nil || got.Amount != r.Amount || got.Key != key || !got.Address.Equal(a) {
			t.Errorf("parse %q: %+v, %v", in, got, err)
		}
	}
	got, err := ParsePaymentRequest(legacy, address.Mainnet)
	if err != nil || got.Format != FormatLegacyJSON || got.Amount != r.Amount || got.Key != key || got.RelayURL != "ws://h:1/kpp" || !got.Address.IsZero() {
		t.Fatalf("legacy: %+v, %v", got, err)
	}
	// Another network: the scheme is its prefix.
	d, _ := address.New(address.Devnet, address.PubKey, make([]byte, 32))
	dr := PaymentRequest{Address: d, Amount: 1, RelayURL: "ws://127.0.0.1:9/kpp", Key: key}
	if !strings.HasPrefix(dr.URI(), "kaspadev:") {
		t.Fatal(dr.URI())
	}
	if got, err := ParsePaymentRequest(dr.URI(), address.Devnet); err != nil || !got.Address.Equal(d) {
		t.Fatalf("devnet: %v", err)
	}
	bad := []struct{ in, want string }{
		{"", "empty"},
		{"bitcoin:abc", "neither"},
		{strings.Replace(u, "amount=1.23456789", "amount=-1", 1), "negative"},
		{strings.Replace(u, "amount=1.23456789", "amount=nan", 1), "not a decimal"},
		{strings.Replace(u, "amount=1.23456789", "amount=0.123456789", 1), "8 decimal"},
		{strings.Replace(u, "amount=1.23456789", "amount=0", 1), "amount is 0"},
		{strings.Replace(u, "amount=1.23456789&", "", 1), "no amount"},
		{strings.Replace(u, "&e2ee_key=", "&e2ee_key=AAAA&x=", 1), "3 bytes"},
		{strings.Replace(u, "ws_url=ws://h:1/kpp", "ws_url=ftp://h/kpp", 1), "not a ws://"},
		{strings.Replace(u, "qqudhfpw", "qqudhfpq", 1), "checksum"},
		{u, "another Kaspa network"}, // parsed as testnet below
		{`{"protocol":"kpp","ws_url":"ws://h/kpp","e2ee_key":"AQID","amount":0}`, "amount is 0"},
		{`{"protocol":"x"}`, "protocol"},
		{"kaspa:" + strings.Repeat("q", 5000), "over"},
	}
	for i, c := range bad {
		net := address.Mainnet
		if c.want == "another Kaspa network" {
			net = address.Testnet
		}
		_, err := ParsePaymentRequest(c.in, net)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: %q: error %v, want it to mention %q", i, c.in, err, c.want)
		}
	}
}

func TestEnvelopeVector(t *testing.T) {
	// kloak-v1-python.md §2: key 00..1f, nonce bytes 100..111, the
	// original's json.dumps of a broadcast_success message.
	var key Key
	for i := range key {
		key[i] = byte(i)
	}
	nonce := make([]byte, 12)
	for i := range nonce {
		nonce[i] = byte(100 + i)
	}
	plaintext := []byte(`{"type": "broadcast_success", "transaction_id": "` + strings.Repeat("ab", 32) + `"}`)
	const want = "ZGVmZ2hpamtsbW5vTzPPs+jAVGjb/HcNnei88BG15mvsJYjOo0yFkNYS7oe42NyTzlk+GvCBlYSMgdLo5rrtfH0KVIg83on3ZtczkHAtVwX91AIJiScO2ra+ca4Dc/p0xRxXTcPqH4sPmG122il8zpoQBn1d5EUI+eD9TkMq3p0+vYRLo0lsBYgwvOoOvZk="
	got, err := Seal(key, plaintext, bytes.NewReader(nonce))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Seal\n got %s\nwant %s", got, want)
	}
	back, err := Open(key, want)
	if err != nil || !bytes.Equal(back, plaintext) {
		t.Fatalf("Open: %q, %v", back, err)
	}
	// Any flipped byte, another key, or garbage is ErrEnvelope.
	raw := []byte(want)
	raw[20] ^= 1
	if _, err := Open(key, string(raw)); err == nil {
		t.Fatal("flipped byte opened")
	}
	if _, err := Open(Key{9}, want); err != ErrEnvelope {
		t.Fatalf("other key: %v", err)
	}
	for _, g := range []string{"", "!!!", "AAAA", strings.Repeat("A", MaxEnvelope+4)} {
		if _, err := Open(key, g); err == nil {
			t.Fatalf("%q opened", g)
		}
	}
}

func TestFeePolicy(t *testing.T) {
	cases := []struct{ p, want amount.Sompi }{
		{1_055_000_000, 25_000_000}, // 10.55 KAS: debit 10.8
		{1_050_000_000, 20_000_000}, // 10.5: debit 10.7
		{1, 29_999_999},             // debit 0.3
		{100_000_000, 20_000_000},
	}
	for _, c := range cases {
		got, err := DefaultFeePolicy.Fee(c.p)
		if err != nil || got != c.want {
			t.Errorf("Fee(%d) = %d, %v; want %d", c.p, got, err, c.want)
		}
		if (c.p+got)%DefaultFeePolicy.Unit != 0 || got < DefaultFeePolicy.Min {
			t.Errorf("Fee(%d) = %d breaks the rule", c.p, got)
		}
	}
	if _, err := (FeePolicy{Min: 1}).Fee(5); err == nil {
		t.Error("unit 0 accepted")
	}
	m := NewFeeAddress("kaspa:x", FeePolicy{Min: 3, Unit: 7})
	if string(m.Marshal()) != `{"type":"dust_address","address":"kaspa:x","fee_min":3,"fee_unit":7}` {
		t.Fatal(string(m.Marshal()))
	}
	var py FeeAddress
	if err := json.Unmarshal([]byte(`{"type": "dust_address", "address": "kaspa:x"}`), &py); err != nil || py.Policy() != DefaultFeePolicy {
		t.Fatalf("python message policy %+v %v", py.Policy(), err)
	}
}

func TestHandshake(t *testing.T) {
	id := strings.Repeat("ab", 32)
	h, err := ParseHandshake([]byte(`{"role": "sender", "session_id": "` + strings.ToUpper(id) + `"}`))
	if err != nil || h.Role != RoleSender || h.SessionID != id {
		t.Fatalf("%+v %v", h, err)
	}
	for in, want := range map[string]string{
		`{"role":"sender"}`:                        "Missing session_id",
		`{"role":"sender","session_id":""}`:        "Missing session_id",
		`{"role":"sender","session_id":12}`:        "Invalid session_id",
		`{"role":"sender","session_id":"abc"}`:     "Invalid session_id",
		`{"role":"spy","session_id":"` + id + `"}`: "Invalid role",
		`not json`: "Invalid handshake",
	} {
		_, err := ParseHandshake([]byte(in))
		re, ok := err.(*RelayError)
		if !ok || re.Code != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
}
