package discovery

import (
	"bytes"
	"testing"
)

// FuzzParsePayload: no input makes ParsePayload panic, and whatever it
// accepts encodes to a payload it accepts again with the same fields.
func FuzzParsePayload(f *testing.F) {
	_, python := loadPythonPulse(f)
	f.Add(python)
	f.Add([]byte(`{"protocol":"kloak","version":"1.2","ws_url":"wss://[2001:db8::1]:443/x/kpp","timestamp":1,"fee_min":0,"fee_unit":1}`))
	f.Add([]byte(`{"protocol": "kloak", "version": "1.0.0", "ws_url": "ws://h/kpp", "timestamp": 1e9}`))
	f.Add([]byte(`{"protocol": "kloak", "Protocol": "x", "version": "1", "ws_url": "ws://h.example./kpp", "timestamp": 5, "fee_unit": null}`))
	f.Add([]byte(`{"protocol": "kl\u006fak", "version": "1.0.0", "ws_url": "ws:\/\/h\/kpp", "timestamp": 5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePayload(b)
		if err != nil {
			return
		}
		enc := p.Encode()
		q, err := ParsePayload(enc)
		if err != nil {
			t.Fatalf("%q parsed, its encoding %q does not: %v", b, enc, err)
		}
		if !bytes.Equal(q.Encode(), enc) || q.FeePolicy() != p.FeePolicy() || q.WSURL != p.WSURL || q.Timestamp != p.Timestamp || q.Version != p.Version {
			t.Fatalf("%q: round trip changed %+v into %+v", b, p, q)
		}
		if isLocalURL(p.WSURL) && !isLocalURL(q.WSURL) {
			t.Fatal("locality changed")
		}
	})
}
