package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/relay"
)

// startRelay runs a real kloak relay on a loopback port and returns its URL
// and a function that stops it.
func startRelay(t *testing.T) (string, func()) {
	t.Helper()
	fee, err := address.Parse("kaspa:qptuunqxj5vlq9j4sdyfq0a7r3wgp697ymvym7cky3aaz7mfwtx47sraf8r5g")
	if err != nil {
		t.Fatal(err)
	}
	r := testkit.StartRelay(t, relay.Config{
		FeeAddresses: relay.FeeAddressFunc(func(context.Context) (address.Address, error) { return fee, nil }),
		Logger:       slog.New(slog.DiscardHandler),
	})
	return r.URL, r.Stop
}

// serveHTTP serves h on a loopback port and returns its relay-shaped URL.
func serveHTTP(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "ws://" + ln.Addr().String() + "/kpp"
}

// deadURL is a loopback port nobody listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "ws://" + ln.Addr().String() + "/kpp"
	ln.Close()
	return u
}

// silentURL accepts TCP connections and never answers: an open port that
// the original's TCP-connect test would have taken for a relay.
func silentURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "ws://" + ln.Addr().String() + "/kpp"
}

func pulsesFor(urls ...string) []Pulse {
	var ps []Pulse
	for _, u := range urls {
		ps = append(ps, Pulse{Payload: Payload{Protocol: Protocol, Version: Version, WSURL: u, Timestamp: 1}})
	}
	return ps
}

// TestSelect: two real relays among a dead port, a silent port, a
// WebSocket echo server and a plain web server; Select picks a relay by a
// real KPP handshake, writes the cache, and falls back on it when every
// candidate is gone.
func TestSelect(t *testing.T) {
	relay1, stop1 := startRelay(t)
	relay2, stop2 := startRelay(t)
	echo := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, b, err := c.Read(r.Context())
		if err == nil {
			c.Write(r.Context(), typ, b)
		}
		c.Close(websocket.StatusNormalClosure, "")
	})
	web := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	dead, silent := deadURL(t), silentURL(t)

	dir := t.TempDir()
	cache := filepath.Join(dir, "sub", CacheFileName)
	pulses := pulsesFor(dead, relay1, silent, echo, relay2, web)
	opts := SelectOptions{Candidates: 6, Timeout: time.Second, CacheFile: cache}
	began := time.Now()
	sel, err := Select(context.Background(), pulses, opts)
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if (sel.URL != relay1 && sel.URL != relay2) || sel.FromCache || sel.Latency <= 0 || len(sel.Probes) != 6 {
		t.Fatalf("selected %+v", sel)
	}
	if took > 3*time.Second {
		t.Errorf("Select took %v with a 1 s probe timeout: probes are not concurrent", took)
	}
	for _, p := range sel.Probes {
		live := p.URL == relay1 || p.URL == relay2
		if live != (p.Err == nil) {
			t.Errorf("probe of %s: %v", p.URL, p.Err)
		}
		t.Logf("%s: %v %v", p.URL, p.Latency, p.Err)
	}
	for _, u := range []string{echo} {
		i := slices.IndexFunc(sel.Probes, func(p ProbeResult) bool { return p.URL == u })
		if !errors.Is(sel.Probes[i].Err, ErrNotRelay) {
			t.Errorf("%s: %v, want ErrNotRelay", u, sel.Probes[i].Err)
		}
	}
	b, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		WSURL   string `json:"ws_url"`
		SavedAt int64  `json:"saved_at"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.WSURL != sel.URL || c.Version != Version || time.Since(time.Unix(c.SavedAt, 0)) > time.Minute {
		t.Fatalf("cache %s: %v", b, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(cache)); len(ents) != 1 {
		t.Fatalf("cache directory holds %d files", len(ents))
	}

	// Three candidates by default: the first three distinct URLs.
	sel3, err := Select(context.Background(), pulsesFor(dead, dead, relay1, silent, relay2), SelectOptions{Timeout: time.Second})
	if err != nil || sel3.URL != relay1 || len(sel3.Probes) != 3 {
		t.Fatalf("default candidates: %+v, %v", sel3, err)
	}

	// Every relay gone: the cache answers.
	stop1()
	stop2()
	fb, err := Select(context.Background(), pulses, opts)
	if err != nil || !fb.FromCache || fb.URL != sel.URL || fb.Latency != 0 || time.Since(fb.CachedAt) > time.Minute {
		t.Fatalf("fallback: %+v, %v", fb, err)
	}
	for _, p := range fb.Probes {
		if p.Err == nil {
			t.Errorf("a stopped relay answered: %+v", p)
		}
	}
	// No pulses at all: the cache answers too.
	if fb, err := Select(context.Background(), nil, opts); err != nil || !fb.FromCache {
		t.Fatalf("no pulses: %+v, %v", fb, err)
	}

	// The original's cache file, saved_at a float.
	pyCache := filepath.Join(dir, "python.json")
	os.WriteFile(pyCache, []byte(`{"ws_url": "ws://1.2.3.4:8765/kpp", "saved_at": 1700000000.25, "version": "1.0.0"}`), 0o600)
	fb, err = Select(context.Background(), pulsesFor(dead), SelectOptions{CacheFile: pyCache})
	if err != nil || fb.URL != "ws://1.2.3.4:8765/kpp" || !fb.CachedAt.Equal(time.Unix(1_700_000_000, 250_000_000)) {
		t.Fatalf("Python cache: %+v, %v", fb, err)
	}

	// Nothing reachable and no usable cache: a clear error.
	for name, content := range map[string]string{"missing": "", "corrupt": "{", "bad URL": `{"ws_url": "http://x/kpp"}`} {
		path := filepath.Join(dir, "none-"+strings.ReplaceAll(name, " ", "-")+".json")
		if content != "" {
			os.WriteFile(path, []byte(content), 0o600)
		}
		_, err := Select(context.Background(), pulsesFor(dead, silent), SelectOptions{Timeout: 200 * time.Millisecond, CacheFile: path})
		if !errors.Is(err, ErrNoRelay) || !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), silent) {
			t.Errorf("%s cache: %v", name, err)
		}
		if content != "" && !errors.Is(err, ErrCache) {
			t.Errorf("%s cache: %v, want ErrCache in it", name, err)
		}
		t.Logf("%s cache: %v", name, err)
	}
	if _, err := Select(context.Background(), nil, SelectOptions{}); !errors.Is(err, ErrNoRelay) {
		t.Errorf("nothing at all: %v", err)
	}
}

// TestProbeRealRelay: a kloak relay with its default configuration, which
// holds a sender whose receiver is not there yet for 10 s, answers the
// probe at once, with the original's text.
func TestProbeRealRelay(t *testing.T) {
	u, _ := startRelay(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := Probe(ctx, u, nil)
	if err != nil || d <= 0 || d > time.Second {
		t.Fatalf("probe: %v, %v", d, err)
	}
	if _, err := Probe(ctx, "http://127.0.0.1:1/kpp", nil); !errors.Is(err, ErrRelayURL) {
		t.Fatalf("probe of an http URL: %v", err)
	}
}
