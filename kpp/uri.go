package kpp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
)

// PaymentRequest is what a receiver shows (as a QR code): where to meet,
// the session key, and what to pay.
type PaymentRequest struct {
	// Address is the receiver's first output address. A wallet without KPP
	// that scans the URI pays it directly. Zero in the legacy JSON form.
	Address address.Address
	Amount  amount.Sompi
	// Payload is free text; the original's default is "kpp".
	Payload string
	// RelayURL is the relay's WebSocket URL, e.g. ws://1.2.3.4:8765/kpp.
	RelayURL string
	Key      Key
	// Format tells which form was parsed: FormatURI or FormatLegacyJSON.
	Format string
}

// Forms of a payment request.
const (
	FormatURI        = "kaspa_uri"
	FormatLegacyJSON = "legacy_json"
)

// ErrPaymentRequest wraps every payment-request parsing error.
var ErrPaymentRequest = errors.New("kpp: invalid payment request")

// URI formats the request as the original does (§3.1):
// kaspa:<address>?amount=<KAS>&payload=<text>&ws_url=<url>&e2ee_key=<base64url>,
// with the amount as plain decimal (never an exponent). On mainnet the
// scheme is "kaspa" and the address follows without its prefix, exactly as
// the original writes it; on other networks the scheme is the network's
// prefix ("kaspadev:qq…").
func (r PaymentRequest) URI() string {
	var b strings.Builder
	b.WriteString(r.Address.String())
	b.WriteString("?amount=")
	b.WriteString(r.Amount.KAS())
	b.WriteString("&payload=")
	b.WriteString(quote(r.Payload))
	b.WriteString("&ws_url=")
	b.WriteString(quote(r.RelayURL))
	b.WriteString("&e2ee_key=")
	b.WriteString(base64.RawURLEncoding.EncodeToString(r.Key[:]))
	return b.String()
}

// quote percent-encodes s like Python's urllib.parse.quote(s, safe=":/").
func quote(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~:/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// MaxPaymentRequest bounds the text ParsePaymentRequest reads.
const MaxPaymentRequest = 4096

// ParsePaymentRequest parses a payment request in any of the original's
// forms (§3.2): the kaspa: URI (also with "&" where "?" belongs, the form
// of the original's wallet guide), and the legacy JSON object. The address
// must be a valid address of net; amounts convert to sompi exactly
// ("1e-05" is 1,000 sompi); the key must be 32 bytes.
func ParsePaymentRequest(s string, net address.Network) (PaymentRequest, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return PaymentRequest{}, fmt.Errorf("%w: empty", ErrPaymentRequest)
	}
	if len(s) > MaxPaymentRequest {
		return PaymentRequest{}, fmt.Errorf("%w: %d bytes is over %d", ErrPaymentRequest, len(s), MaxPaymentRequest)
	}
	scheme, _, ok := strings.Cut(s, ":")
	if ok {
		if _, err := address.ParseNetwork(strings.ToLower(scheme)); err == nil && !strings.HasPrefix(s, "{") {
			return parseURI(s, strings.ToLower(scheme), net)
		}
	}
	if strings.HasPrefix(s, "{") {
		return parseLegacyJSON(s)
	}
	return PaymentRequest{}, fmt.Errorf("%w: neither a kaspa: URI nor the legacy JSON form", ErrPaymentRequest)
}

func parseURI(s, scheme string, net address.Network) (PaymentRequest, error) {
	body := s[len(scheme)+1:]
	if !strings.Contains(body, "?") && strings.Contains(body, "&") {
		body = strings.Replace(body, "&", "?", 1)
	}
	addrText, query, _ := strings.Cut(body, "?")
	query, _, _ = strings.Cut(query, "#")
	params, err := parseQuery(query)
	if err != nil {
		return PaymentRequest{}, err
	}
	for _, k := range []string{"amount", "ws_url", "e2ee_key"} {
		if params[k] == "" {
			return PaymentRequest{}, fmt.Errorf("%w: incomplete KPP URI: no %s", ErrPaymentRequest, k)
		}
	}
	r := PaymentRequest{Format: FormatURI, Payload: params["payload"], RelayURL: params["ws_url"]}
	if !strings.Contains(addrText, ":") {
		addrText = scheme + ":" + addrText
	}
	if r.Address, err = address.Decode(addrText, net); err != nil {
		return PaymentRequest{}, fmt.Errorf("%w: %w", ErrPaymentRequest, err)
	}
	if r.Amount, err = parseAmount(params["amount"]); err != nil {
		return PaymentRequest{}, err
	}
	if r.Key, err = parseKey(params["e2ee_key"], base64.URLEncoding); err != nil {
		return PaymentRequest{}, err
	}
	if err := checkRelayURL(r.RelayURL); err != nil {
		return PaymentRequest{}, err
	}
	return r, nil
}

// parseQuery decodes a query like Python's parse_qs: "+" is a space,
// blank values are dropped, and the first of duplicate keys wins.
func parseQuery(q string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("%w: bad percent-encoding in %q", ErrPaymentRequest, k)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: bad percent-encoding in %s", ErrPaymentRequest, key)
		}
		if _, seen := out[key]; !seen && val != "" {
			out[key] = val
		}
	}
	return out, nil
}

func parseAmount(s string) (amount.Sompi, error) {
	a, err := amount.ParseKASNumber(s)
	if err != nil {
		return 0, fmt.Errorf("%w: amount: %w", ErrPaymentRequest, err)
	}
	if a == 0 {
		return 0, fmt.Errorf("%w: amount is 0", ErrPaymentRequest)
	}
	return a, nil
}

// parseKey decodes a base64 key, padded or not; like the original it also
// takes the other alphabet's two characters.
func parseKey(s string, enc *base64.Encoding) (Key, error) {
	s = strings.TrimRight(s, "=")
	if enc == base64.URLEncoding {
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	} else {
		s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	}
	b, err := enc.WithPadding(base64.NoPadding).DecodeString(s)
	if err != nil {
		return Key{}, fmt.Errorf("%w: e2ee_key is not base64: %v", ErrPaymentRequest, err)
	}
	if len(b) != 32 {
		return Key{}, fmt.Errorf("%w: e2ee_key is %d bytes, want 32", ErrPaymentRequest, len(b))
	}
	return Key(b), nil
}

func checkRelayURL(s string) error {
	if scheme, _, ok := strings.Cut(s, "://"); ok && scheme != "ws" && scheme != "wss" && scheme != "http" && scheme != "https" {
		return fmt.Errorf("%w: ws_url %q is not a ws:// or wss:// URL", ErrPaymentRequest, s)
	}
	u, err := url.Parse(NormalizeRelayURL(s))
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("%w: ws_url %q is not a ws:// or wss:// URL", ErrPaymentRequest, s)
	}
	return nil
}

// NormalizeRelayURL completes a relay address the way the original's
// wallets do: a missing scheme becomes ws://, and /kpp is appended when the
// URL does not contain it. Unlike the original, an http(s):// URL becomes
// ws(s):// instead of "ws://http://…".
func NormalizeRelayURL(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "ws://"), strings.HasPrefix(s, "wss://"):
	case strings.HasPrefix(s, "http://"):
		s = "ws://" + strings.TrimPrefix(s, "http://")
	case strings.HasPrefix(s, "https://"):
		s = "wss://" + strings.TrimPrefix(s, "https://")
	default:
		s = "ws://" + s
	}
	if !strings.Contains(s, "/kpp") {
		s = strings.TrimRight(s, "/") + "/kpp"
	}
	return s
}

func parseLegacyJSON(s string) (PaymentRequest, error) {
	var j struct {
		Protocol string          `json:"protocol"`
		WSURL    string          `json:"ws_url"`
		Key      string          `json:"e2ee_key"`
		Amount   json.RawMessage `json:"amount"`
	}
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return PaymentRequest{}, fmt.Errorf("%w: legacy JSON: %v", ErrPaymentRequest, err)
	}
	if j.Protocol != "kpp" {
		return PaymentRequest{}, fmt.Errorf("%w: legacy JSON protocol %q, want \"kpp\"", ErrPaymentRequest, j.Protocol)
	}
	if j.WSURL == "" || j.Key == "" || len(j.Amount) == 0 {
		return PaymentRequest{}, fmt.Errorf("%w: incomplete legacy JSON request", ErrPaymentRequest)
	}
	r := PaymentRequest{Format: FormatLegacyJSON, RelayURL: j.WSURL}
	var err error
	if r.Amount, err = parseAmount(strings.Trim(string(j.Amount), `"`)); err != nil {
		return PaymentRequest{}, err
	}
	if r.Key, err = parseKey(j.Key, base64.StdEncoding); err != nil {
		return PaymentRequest{}, err
	}
	if err := checkRelayURL(r.RelayURL); err != nil {
		return PaymentRequest{}, err
	}
	return r, nil
}
