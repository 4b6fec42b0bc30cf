package discovery

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
)

type pythonPulse struct {
	Source     string `json:"source"`
	PayloadHex string `json:"payload_hex"`
	Want       struct {
		Protocol  string `json:"protocol"`
		Version   string `json:"version"`
		WSURL     string `json:"ws_url"`
		Timestamp int64  `json:"timestamp"`
	} `json:"want"`
}

func loadPythonPulse(t testing.TB) (pythonPulse, []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/python-pulse.json")
	if err != nil {
		t.Fatal(err)
	}
	var v pythonPulse
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(v.PayloadHex)
	if err != nil {
		t.Fatal(err)
	}
	return v, raw
}

// TestPythonPayload: the original's pulse payload parses, and NewPayload
// with the same values encodes to the same bytes (json.dumps's form).
func TestPythonPayload(t *testing.T) {
	v, raw := loadPythonPulse(t)
	p, err := ParsePayload(raw)
	if err != nil {
		t.Fatalf("%s: %v", v.Source, err)
	}
	if p.Protocol != v.Want.Protocol || p.Version != v.Want.Version || p.WSURL != v.Want.WSURL || p.Timestamp != v.Want.Timestamp {
		t.Fatalf("parsed %+v, want %+v", p, v.Want)
	}
	if p.FeeMin != nil || p.FeeUnit != nil {
		t.Fatalf("fee fields from a payload without them: %+v", p)
	}
	if got := p.FeePolicy(); got != kpp.DefaultFeePolicy {
		t.Fatalf("fee policy %+v, want the default %+v", got, kpp.DefaultFeePolicy)
	}
	q, err := NewPayload(v.Want.WSURL, time.Unix(v.Want.Timestamp, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Encode(); string(got) != string(raw) {
		t.Fatalf("Encode:\n got %s\nwant %s", got, raw)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	pol := kpp.FeePolicy{Min: 30_000_000, Unit: 5_000_000}
	for _, u := range []string{
		"ws://1.2.3.4:8765/kpp",
		"wss://relay.example.com/kpp",
		"wss://relay.example.com:443/kpp",
		"ws://[2001:db8::1]:8765/kpp",
		"wss://proxy.example.org/relays/eu/kpp",
		"ws://localhost:8765/kpp",
	} {
		for _, policy := range []*kpp.FeePolicy{nil, &pol} {
			p, err := NewPayload(u, time.Unix(1_750_000_000, 0), policy)
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			b := p.Encode()
			q, err := ParsePayload(b)
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if q.WSURL != u || q.Timestamp != 1_750_000_000 || q.Protocol != Protocol || q.Version != Version {
				t.Fatalf("round trip of %s gave %+v", b, q)
			}
			want := kpp.DefaultFeePolicy
			if policy != nil {
				want = *policy
			}
			if q.FeePolicy() != want {
				t.Fatalf("%s: fee policy %+v, want %+v", b, q.FeePolicy(), want)
			}
			// Go's own encoding of the struct parses the same.
			g, _ := json.Marshal(p)
			if r, err := ParsePayload(g); err != nil || r.FeePolicy() != want || r.WSURL != u {
				t.Fatalf("compact %s: %+v, %v", g, r, err)
			}
		}
	}
	p, _ := NewPayload("wss://r.example/kpp", time.Unix(1_750_000_000, 0), &pol)
	want := `{"protocol": "kloak", "version": "1.0.0", "ws_url": "wss://r.example/kpp", "timestamp": 1750000000, "fee_min": 30000000, "fee_unit": 5000000}`
	if got := string(p.Encode()); got != want {
		t.Fatalf("Encode:\n got %s\nwant %s", got, want)
	}
}

// TestEncodeLikePython: strings are escaped as json.dumps(ensure_ascii=True)
// escapes them (the expected texts are Python 3's output).
func TestEncodeLikePython(t *testing.T) {
	for in, want := range map[string]string{
		`a"b\c`:      `"a\"b\\c"`,
		"t\tn\nr\r":  `"t\tn\nr\r"`,
		"\x01\x7f":   `"\u0001\u007f"`,
		"é€":         `"\u00e9\u20ac"`,
		"😀":          `"\ud83d\ude00"`,
		"</script>&": `"</script>&"`,
	} {
		p := Payload{Protocol: in}
		got := string(p.Encode())
		if !strings.HasPrefix(got, `{"protocol": `+want+`, `) {
			t.Errorf("%q encodes as %s, want %s", in, got, want)
		}
		// And it is JSON that decodes back to the string.
		var back struct{ Protocol string }
		if err := json.Unmarshal([]byte(got), &back); err != nil || back.Protocol != in {
			t.Errorf("%q: %s decodes to %q, %v", in, got, back.Protocol, err)
		}
	}
}

func TestParsePayloadRejects(t *testing.T) {
	ok := `{"protocol": "kloak", "version": "1.0.0", "ws_url": "ws://1.2.3.4:8765/kpp", "timestamp": 1700000000}`
	if _, err := ParsePayload([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	with := func(old, new string) string { return strings.Replace(ok, old, new, 1) }
	cases := map[string]string{
		"empty":               ``,
		"not JSON":            `kloak`,
		"array":               `["kloak"]`,
		"null":                `null`,
		"trailing data":       ok + `x`,
		"two objects":         ok + ok,
		"invalid UTF-8":       with("kloak\"", "kloak\xff\""),
		"too large":           with(`"timestamp"`, `"pad": "`+strings.Repeat("x", MaxPayloadSize)+`", "timestamp"`),
		"other protocol":      with(`"kloak"`, `"kloak2"`),
		"protocol upper":      with(`"kloak"`, `"KLOAK"`),
		"protocol number":     with(`"kloak"`, `1`),
		"protocol null":       with(`"kloak"`, `null`),
		"key case":            with(`"protocol"`, `"Protocol"`),
		"no protocol":         with(`"protocol": "kloak", `, ``),
		"version 2":           with(`"1.0.0"`, `"2.0.0"`),
		"version 1.x":         with(`"1.0.0"`, `"1.x"`),
		"version 10":          with(`"1.0.0"`, `"10.0"`),
		"version 1.0.0.0":     with(`"1.0.0"`, `"1.0.0.0"`),
		"version number":      with(`"1.0.0"`, `1.0`),
		"no version":          with(`"version": "1.0.0", `, ``),
		"no ws_url":           with(`"ws_url": "ws://1.2.3.4:8765/kpp", `, ``),
		"ws_url empty":        with(`ws://1.2.3.4:8765/kpp`, ``),
		"ws_url http":         with(`ws://1.2.3.4:8765/kpp`, `http://1.2.3.4:8765/kpp`),
		"ws_url no scheme":    with(`ws://1.2.3.4:8765/kpp`, `1.2.3.4:8765`),
		"ws_url python http":  with(`ws://1.2.3.4:8765/kpp`, `ws://http://h/kpp`),
		"ws_url bare IPv6":    with(`ws://1.2.3.4:8765/kpp`, `ws://2001:db8::1:8765/kpp`),
		"ws_url no path":      with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.4:8765`),
		"ws_url other path":   with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.4:8765/admin`),
		"ws_url query":        with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.4:8765/kpp?x=1`),
		"ws_url fragment":     with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.4:8765/kpp#x`),
		"ws_url user":         with(`ws://1.2.3.4:8765/kpp`, `ws://u:p@1.2.3.4:8765/kpp`),
		"ws_url port 0":       with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.4:0/kpp`),
		"ws_url port 70000":   with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.4:70000/kpp`),
		"ws_url empty port":   with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.4:/kpp`),
		"ws_url space":        with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.4:8765/k pp`),
		"ws_url bad IPv4":     with(`ws://1.2.3.4:8765/kpp`, `ws://1.2.3.999:8765/kpp`),
		"ws_url bad host":     with(`ws://1.2.3.4:8765/kpp`, `ws://-bad-.example/kpp`),
		"ws_url unicode":      with(`ws://1.2.3.4:8765/kpp`, `ws://b\u00fccher.example/kpp`),
		"ws_url number":       with(`"ws://1.2.3.4:8765/kpp"`, `8765`),
		"no timestamp":        with(`, "timestamp": 1700000000`, ``),
		"timestamp 0":         with(`1700000000`, `0`),
		"timestamp negative":  with(`1700000000`, `-5`),
		"timestamp float":     with(`1700000000`, `1700000000.5`),
		"timestamp exponent":  with(`1700000000`, `1.7e9`),
		"timestamp string":    with(`1700000000`, `"1700000000"`),
		"timestamp null":      with(`1700000000`, `null`),
		"timestamp overflow":  with(`1700000000`, `99999999999999999999`),
		"fee_unit 0":          with(`}`, `, "fee_unit": 0}`),
		"fee_min negative":    with(`}`, `, "fee_min": -1}`),
		"fee_min string":      with(`}`, `, "fee_min": "0.2"}`),
		"fee_min float":       with(`}`, `, "fee_min": 0.2}`),
		"fee_unit above max":  with(`}`, `, "fee_unit": 2900000000000000001}`),
		"fee_min over uint64": with(`}`, `, "fee_min": 18446744073709551616}`),
	}
	for name, in := range cases {
		p, err := ParsePayload([]byte(in))
		if !errors.Is(err, ErrPayload) {
			t.Errorf("%s: %s: got %+v, %v; want ErrPayload", name, in, p, err)
		}
	}
	// Accepted variations.
	for name, in := range map[string]string{
		"compact":         `{"protocol":"kloak","version":"1.0.0","ws_url":"ws://1.2.3.4:8765/kpp","timestamp":1700000000}`,
		"version 1":       with(`"1.0.0"`, `"1"`),
		"version 1.2":     with(`"1.0.0"`, `"1.2"`),
		"version 1.7.12":  with(`"1.0.0"`, `"1.7.12"`),
		"unknown key":     with(`}`, `, "region": "eu"}`),
		"fee fields null": with(`}`, `, "fee_min": null, "fee_unit": null}`),
		"reordered":       `{"timestamp": 1700000000, "ws_url": "ws://1.2.3.4:8765/kpp", "version": "1.0.0", "protocol": "kloak"}`,
		"escaped slash":   with(`ws://1.2.3.4:8765/kpp`, `ws:\/\/1.2.3.4:8765\/kpp`),
		"fee_min 0":       with(`}`, `, "fee_min": 0, "fee_unit": 1}`),
	} {
		if _, err := ParsePayload([]byte(in)); err != nil {
			t.Errorf("%s: %s: %v", name, in, err)
		}
	}
}

func TestNewPayloadRejects(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	for _, u := range []string{
		"", "1.2.3.4:8765", "http://relay.example/kpp", "ws://relay.example", "ws://relay.example/",
		"ws://::1:8765/kpp", "ws://[::1", "ws://[fe80::1%25eth0]:8765/kpp", "wss://relay.example/kpp?token=1",
		"ws://relay.example:99999/kpp", "ws:///kpp", "WS://relay.example/kpp",
		"ws://relay.example/" + strings.Repeat("a", MaxPayloadSize) + "/kpp",
	} {
		if _, err := NewPayload(u, now, nil); err == nil {
			t.Errorf("NewPayload(%q) succeeded", u)
		} else if !errors.Is(err, ErrRelayURL) {
			t.Errorf("NewPayload(%q): %v, want ErrRelayURL", u, err)
		}
	}
	if _, err := NewPayload("ws://::1:8765/kpp", now, nil); err == nil || !strings.Contains(err.Error(), "brackets") {
		t.Errorf("bare IPv6: %v, want a hint about brackets", err)
	}
	if _, err := NewPayload("ws://1.2.3.4:8765/kpp", time.Unix(0, 0), nil); !errors.Is(err, ErrPayload) {
		t.Errorf("timestamp 0: %v", err)
	}
	if _, err := NewPayload("ws://1.2.3.4:8765/kpp", now, &kpp.FeePolicy{Min: 1}); !errors.Is(err, ErrPayload) {
		t.Errorf("fee_unit 0: %v", err)
	}
	if _, err := NewPayload("ws://1.2.3.4:8765/kpp", now, &kpp.FeePolicy{Min: amount.MaxSompi + 1, Unit: 1}); !errors.Is(err, ErrPayload) {
		t.Errorf("fee_min above max: %v", err)
	}
}

func TestLocalURLs(t *testing.T) {
	for u, want := range map[string]bool{
		"ws://localhost:8765/kpp":           true,
		"ws://relay.localhost/kpp":          true,
		"ws://127.0.0.1:8765/kpp":           true,
		"ws://10.1.2.3/kpp":                 true,
		"ws://192.168.1.10:8765/kpp":        true,
		"ws://172.16.0.1/kpp":               true,
		"ws://169.254.1.1/kpp":              true,
		"ws://100.64.0.1/kpp":               true,
		"ws://0.0.0.0:8765/kpp":             true,
		"ws://[::1]:8765/kpp":               true,
		"ws://[fd00::1]/kpp":                true,
		"ws://[fe80::1]/kpp":                true,
		"ws://[::ffff:127.0.0.1]/kpp":       true,
		"ws://1.2.3.4:8765/kpp":             false,
		"wss://relay.example.com/kpp":       false,
		"ws://[2001:4860:4860::8888]/kpp":   false,
		"ws://203.0.113.7:8765/kpp":         false,
		"wss://localhost.example.com/kpp":   false,
		"wss://relay.example.com:8443/kpp":  false,
		"ws://172.32.0.1/kpp":               false,
		"wss://RELAY.Example.COM.:443/kpp":  false,
		"ws://100.128.0.1:8765/kpp":         false,
		"wss://relay.example.com/x/y/z/kpp": false,
	} {
		if got := isLocalURL(u); got != want {
			t.Errorf("isLocalURL(%q) = %v, want %v", u, got, want)
		}
	}
	for a, b := range map[string]string{
		"wss://RELAY.Example.COM.:443/kpp": "wss://relay.example.com/kpp",
		"ws://relay.example.com:80/kpp":    "ws://relay.example.com/kpp",
		"ws://[2001:DB8::1]:8765/kpp":      "ws://[2001:db8::1]:8765/kpp",
	} {
		if urlKey(a) != urlKey(b) {
			t.Errorf("urlKey(%q) = %q, urlKey(%q) = %q; want equal", a, urlKey(a), b, urlKey(b))
		}
	}
	if urlKey("ws://relay.example.com/kpp") == urlKey("wss://relay.example.com/kpp") {
		t.Error("ws and wss are one relay")
	}
}
