package discovery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/kpp"
)

// Protocol and Version are what kloak writes in the pulse payload's
// "protocol" and "version" fields, the Python original's values.
const (
	Protocol = "kloak"
	Version  = "1.0.0"
)

// MaxPayloadSize caps a pulse payload, in bytes. The original's is about
// 100 bytes; ours with the fee fields about 150.
const MaxPayloadSize = 1024

// Payload is the JSON a pulse carries as its transaction payload (the
// payload bytes are the UTF-8 JSON; RPC JSON shows them hex-encoded):
//
//	{"protocol": "kloak", "version": "1.0.0", "ws_url": "wss://relay.example/kpp", "timestamp": 1700000000}
//
// kloak nodes add the optional integer-sompi fields "fee_min", "fee_unit"
// and "fee_max" (PROTOCOL.md §6); a Python node omits them, which means
// kpp.DefaultFeePolicy.
type Payload struct {
	Protocol  string        `json:"protocol"`
	Version   string        `json:"version"`
	WSURL     string        `json:"ws_url"`
	Timestamp int64         `json:"timestamp"` // unix seconds, as the node claims it
	FeeMin    *amount.Sompi `json:"fee_min,omitempty"`
	FeeUnit   *amount.Sompi `json:"fee_unit,omitempty"`
	FeeMax    *amount.Sompi `json:"fee_max,omitempty"`
}

// NewPayload returns the payload announcing the relay at wsURL at time
// now, with policy's fee fields (none if policy is nil). wsURL must be a
// ws:// or wss:// URL with a host name or IP address (an IPv6 address in
// brackets), an optional port and the path /kpp (or a path ending in
// /kpp, behind a reverse proxy); no user, query or fragment.
func NewPayload(wsURL string, now time.Time, policy *kpp.FeePolicy) (Payload, error) {
	if err := CheckRelayURL(wsURL); err != nil {
		return Payload{}, err
	}
	p := Payload{Protocol: Protocol, Version: Version, WSURL: wsURL, Timestamp: now.Unix()}
	if p.Timestamp <= 0 {
		return Payload{}, fmt.Errorf("%w: timestamp %d is not after 1970", ErrPayload, p.Timestamp)
	}
	if policy != nil {
		if err := checkFeePolicy(*policy); err != nil {
			return Payload{}, err
		}
		fmin, unit, fmax := policy.Min, policy.Unit, policy.Max
		p.FeeMin, p.FeeUnit = &fmin, &unit
		if fmax != 0 {
			p.FeeMax = &fmax
		}
	}
	if n := len(p.Encode()); n > MaxPayloadSize {
		return Payload{}, fmt.Errorf("%w: %d bytes, over the %d-byte limit (the URL is too long)", ErrPayload, n, MaxPayloadSize)
	}
	return p, nil
}

func checkFeePolicy(p kpp.FeePolicy) error {
	if err := p.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrPayload, err)
	}
	return nil
}

// Encode returns the payload bytes: the JSON exactly as the Python
// original's json.dumps writes it (keys in this order, ", " and ": "
// separators, non-ASCII escaped), so that a pulse does not tell which
// implementation sent it beyond the optional fee fields, which follow the
// four original keys.
func (p Payload) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(`{"protocol": `)
	writePythonString(&b, p.Protocol)
	b.WriteString(`, "version": `)
	writePythonString(&b, p.Version)
	b.WriteString(`, "ws_url": `)
	writePythonString(&b, p.WSURL)
	b.WriteString(`, "timestamp": `)
	b.WriteString(strconv.FormatInt(p.Timestamp, 10))
	if p.FeeMin != nil {
		b.WriteString(`, "fee_min": `)
		b.WriteString(strconv.FormatUint(uint64(*p.FeeMin), 10))
	}
	if p.FeeUnit != nil {
		b.WriteString(`, "fee_unit": `)
		b.WriteString(strconv.FormatUint(uint64(*p.FeeUnit), 10))
	}
	if p.FeeMax != nil {
		b.WriteString(`, "fee_max": `)
		b.WriteString(strconv.FormatUint(uint64(*p.FeeMax), 10))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// writePythonString writes s as Python's json.dumps does with its default
// ensure_ascii=True: \" \\ \b \f \n \r \t, other control characters and
// everything beyond ASCII as \uXXXX (UTF-16, surrogate pairs above the
// BMP). Invalid UTF-8 is written as U+FFFD.
func writePythonString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hexDigits[(r>>shift)&0xf])
		}
	}
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			u4(r)
		case r >= 0x10000:
			r -= 0x10000
			u4(0xd800 + (r >> 10))
			u4(0xdc00 + (r & 0x3ff))
		default:
			b.WriteByte(byte(r))
		}
	}
	b.WriteByte('"')
}

// ParsePayload parses and checks a pulse payload. It is strict: at most
// MaxPayloadSize bytes of UTF-8 holding one JSON object, with the exact
// keys (matched case-sensitively, unlike encoding/json) "protocol" ==
// "kloak", "version" 1.x ("1", "1.N" or "1.N.N"), "ws_url" a relay URL as
// CheckRelayURL wants it, "timestamp" an integer > 0, and, if present,
// "fee_min", "fee_unit" and "fee_max" integers in sompi (fee_unit > 0,
// fee_max 0 or at least fee_min) or null.
// Other keys are ignored, so that a later 1.x may add some. It accepts the
// Python original's json.dumps form (spaces after the separators, no fee
// fields). It never panics, whatever b holds.
func ParsePayload(b []byte) (Payload, error) {
	if len(b) == 0 {
		return Payload{}, fmt.Errorf("%w: empty", ErrPayload)
	}
	if len(b) > MaxPayloadSize {
		return Payload{}, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrPayload, len(b), MaxPayloadSize)
	}
	if !utf8.Valid(b) {
		return Payload{}, fmt.Errorf("%w: not UTF-8", ErrPayload)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return Payload{}, fmt.Errorf("%w: not a JSON object", ErrPayload)
	}
	var p Payload
	str := func(key string, dst *string) error {
		raw, ok := fields[key]
		if !ok {
			return fmt.Errorf("%w: no %q", ErrPayload, key)
		}
		if err := json.Unmarshal(raw, dst); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return fmt.Errorf("%w: %q is not a string", ErrPayload, key)
		}
		return nil
	}
	if err := str("protocol", &p.Protocol); err != nil {
		return Payload{}, err
	}
	if p.Protocol != Protocol {
		return Payload{}, fmt.Errorf("%w: protocol %q, want %q", ErrPayload, p.Protocol, Protocol)
	}
	if err := str("version", &p.Version); err != nil {
		return Payload{}, err
	}
	if !isVersion1(p.Version) {
		return Payload{}, fmt.Errorf("%w: version %q, want 1.x", ErrPayload, p.Version)
	}
	if err := str("ws_url", &p.WSURL); err != nil {
		return Payload{}, err
	}
	if err := CheckRelayURL(p.WSURL); err != nil {
		return Payload{}, fmt.Errorf("%w: ws_url: %w", ErrPayload, err)
	}
	raw, ok := fields["timestamp"]
	if !ok {
		return Payload{}, fmt.Errorf("%w: no \"timestamp\"", ErrPayload)
	}
	if err := json.Unmarshal(raw, &p.Timestamp); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return Payload{}, fmt.Errorf("%w: timestamp %s is not an integer number of seconds", ErrPayload, clip(raw))
	}
	if p.Timestamp <= 0 {
		return Payload{}, fmt.Errorf("%w: timestamp %d is not after 1970", ErrPayload, p.Timestamp)
	}
	for _, f := range []struct {
		key string
		dst **amount.Sompi
	}{{"fee_min", &p.FeeMin}, {"fee_unit", &p.FeeUnit}, {"fee_max", &p.FeeMax}} {
		raw, ok := fields[f.key]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return Payload{}, fmt.Errorf("%w: %s %s is not an integer number of sompi", ErrPayload, f.key, clip(raw))
		}
	}
	pol := p.FeePolicy()
	if err := checkFeePolicy(pol); err != nil {
		return Payload{}, err
	}
	return p, nil
}

// clip shortens a raw JSON value for an error message.
func clip(raw json.RawMessage) string {
	const n = 40
	s := string(raw)
	if len(s) > n {
		return strconv.Quote(s[:n]) + "…"
	}
	return strconv.Quote(s)
}

// isVersion1 accepts "1", "1.N" and "1.N.N" with decimal N.
func isVersion1(v string) bool {
	parts := strings.Split(v, ".")
	if parts[0] != "1" || len(parts) > 3 {
		return false
	}
	for _, part := range parts[1:] {
		if part == "" || len(part) > 9 {
			return false
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// FeePolicy returns the fee policy the payload announces, with
// kpp.DefaultFeePolicy's values where a field is absent.
func (p Payload) FeePolicy() kpp.FeePolicy {
	f := kpp.DefaultFeePolicy
	if p.FeeMin != nil {
		f.Min = *p.FeeMin
	}
	if p.FeeUnit != nil {
		f.Unit = *p.FeeUnit
	}
	if p.FeeMax != nil {
		f.Max = *p.FeeMax
	}
	return f
}

// maxURLLen caps a relay URL; a payload must fit in MaxPayloadSize anyway.
const maxURLLen = 512

// CheckRelayURL reports whether s is a relay URL a pulse may carry: ws://
// or wss://, a host (a DNS name, an IPv4 address, or an IPv6 address in
// brackets), an optional port 1–65535, a path that is /kpp or ends in
// /kpp, and no user, query or fragment; printable ASCII only. The error
// wraps ErrRelayURL and says what is wrong.
func CheckRelayURL(s string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %q: %s", ErrRelayURL, clipString(s), fmt.Sprintf(format, args...))
	}
	if len(s) > maxURLLen {
		return bad("%d bytes, over %d", len(s), maxURLLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return bad("holds a space, a control character or non-ASCII (use punycode for a non-ASCII host)")
		}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "ws" && scheme != "wss") {
		return bad("not a ws:// or wss:// URL")
	}
	authority, _, _ := strings.Cut(rest, "/")
	if strings.Count(authority, ":") > 1 && !strings.HasPrefix(authority, "[") {
		return bad("an IPv6 address must be in brackets, e.g. ws://[2001:db8::1]:8765/kpp")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("%v", err)
	}
	switch {
	case u.User != nil:
		return bad("has a user part")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("has a query")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return bad("has a fragment")
	case u.Opaque != "":
		return bad("not a ws:// or wss:// URL")
	}
	host := u.Hostname()
	if host == "" {
		return bad("no host")
	}
	if strings.HasPrefix(u.Host, "[") {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return bad("%q in brackets is not an IPv6 address", host)
		}
	} else if !isHostName(host) {
		return bad("host %q is not a DNS name or an IPv4 address", host)
	}
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return bad("port %q is not 1-65535", port)
		}
	}
	if u.Path != "/kpp" && !strings.HasSuffix(u.Path, "/kpp") {
		return bad("path %q does not end in /kpp, the relay's path", u.Path)
	}
	if u.RawPath != "" || strings.Contains(u.Path, "//") {
		return bad("path %q is not plain", u.Path)
	}
	return nil
}

// isHostName accepts an IPv4 address or a DNS name of letters, digits,
// hyphens and underscores in labels of 1–63 characters.
func isHostName(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Is4()
	}
	if len(h) > 253 {
		return false
	}
	h = strings.TrimSuffix(h, ".")
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// A name of digits and dots only would be an IPv4 address written
	// wrongly (e.g. 1.2.3.999).
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

func clipString(s string) string {
	const n = 80
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// isLocalURL reports whether the relay URL's host can only mean the
// wallet's own machine or network: localhost, or a loopback, private,
// link-local, unspecified or multicast address. A DNS name is not
// resolved.
func isLocalURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return true
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) // carrier-grade NAT
}

// urlKey is the form of a relay URL under which Scan and Select count two
// URLs as one relay: scheme and host in lower case, the default port
// dropped.
func urlKey(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if (u.Scheme == "ws" && port == "80") || (u.Scheme == "wss" && port == "443") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return strings.ToLower(u.Scheme) + "://" + host + u.Path
}
