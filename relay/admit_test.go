package relay

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"direct", "203.0.113.5:4000", nil, nil, "203.0.113.5"},
		{"header from an untrusted peer is ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, proxies, "203.0.113.5"},
		{"no trusted proxies configured", "10.0.0.2:4000", []string{"198.51.100.1"}, nil, "10.0.0.2"},
		{"trusted proxy", "10.0.0.2:4000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"client-written entries left of the proxy's are not believed", "10.0.0.2:4000", []string{"1.2.3.4, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"chain of trusted proxies", "10.0.0.2:4000", []string{"198.51.100.1, 10.1.1.1", "10.2.2.2"}, proxies, "198.51.100.1"},
		{"all trusted", "10.0.0.2:4000", []string{"10.1.1.1"}, proxies, "10.1.1.1"},
		{"malformed entry", "10.0.0.2:4000", []string{"bogus"}, proxies, "10.0.0.2"},
		{"malformed after a trusted hop", "10.0.0.2:4000", []string{"bogus, 10.3.3.3"}, proxies, "10.3.3.3"},
		{"IPv6 peer", "[::1]:4000", []string{"2001:db8::7"}, proxies, "2001:db8::7"},
		{"IPv4-mapped", "[::ffff:203.0.113.5]:4000", nil, nil, "203.0.113.5"},
		{"not an address", "pipe", nil, nil, "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddr(r, tc.trusted).String(); got != tc.want {
				t.Errorf("clientAddr = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLimitKey(t *testing.T) {
	a := limitKey(netip.MustParseAddr("2001:db8:1:2:aaaa::1"))
	b := limitKey(netip.MustParseAddr("2001:db8:1:2:bbbb::2"))
	c := limitKey(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c {
		t.Errorf("IPv6 keys %v %v %v: want one per /64", a, b, c)
	}
	if k := limitKey(netip.MustParseAddr("203.0.113.5")); k.Bits() != 32 {
		t.Errorf("IPv4 key %v", k)
	}
}

func TestAdmission(t *testing.T) {
	a := newAdmission(3, 2)
	x, y := limitKey(netip.MustParseAddr("192.0.2.1")), limitKey(netip.MustParseAddr("192.0.2.2"))
	for i, tc := range []struct {
		key  netip.Prefix
		want *refusal
	}{{x, nil}, {x, nil}, {x, refusePerIP}, {y, nil}, {y, refuseTotal}} {
		if got := a.admit(tc.key); got != tc.want {
			t.Fatalf("admit #%d: %v, want %v", i, got, tc.want)
		}
	}
	a.release(x)
	if got := a.admit(y); got != nil {
		t.Fatalf("after a release: %v", got)
	}
	idle := a.close()
	if got := a.admit(y); got != refuseClosing {
		t.Fatalf("after close: %v", got)
	}
	for _, k := range []netip.Prefix{x, y, y} {
		select {
		case <-idle:
			t.Fatal("idle before the last release")
		default:
		}
		a.release(k)
	}
	<-idle
	if len(a.perIP) != 0 {
		t.Errorf("per-address counts left: %v", a.perIP)
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.2:4000", "1.2.3.4, 10.1.1.1")
	f.Add("[::1]:1", "")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		limitKey(clientAddr(r, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::/0")}))
	})
}
