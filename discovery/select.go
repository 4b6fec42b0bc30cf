package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
)

// Defaults of SelectOptions.
const (
	DefaultCandidates   = 3
	DefaultProbeTimeout = 3 * time.Second
)

// CacheFileName is the relay cache file's name in the Python original
// (node_cache.json, in its cache directory or at $KLOAK_NODE_CACHE_PATH).
const CacheFileName = "node_cache.json"

// SelectOptions configure Select. The zero value gives the defaults.
type SelectOptions struct {
	// Candidates is how many pulses, from the front of the list (Scan's
	// newest first), are probed. Default 3, as the original.
	Candidates int
	// Timeout bounds each probe: connect, WebSocket upgrade and the KPP
	// handshake's answer. Default 3 s.
	Timeout time.Duration
	// CacheFile, if set, is the relay cache, JSON
	// {"ws_url":..,"saved_at":<unix s>,"version":..} as the original's
	// node_cache.json: the winner is written to it (atomically), and it is
	// the fallback when no candidate answers.
	CacheFile string
	// HTTPClient makes the WebSocket connections (a proxy, TLS roots).
	// Default http.DefaultClient.
	HTTPClient *http.Client
}

func (o SelectOptions) withDefaults() SelectOptions {
	if o.Candidates <= 0 {
		o.Candidates = DefaultCandidates
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultProbeTimeout
	}
	return o
}

// Selected is the relay Select chose.
type Selected struct {
	URL     string
	Latency time.Duration // of the winning probe; 0 FromCache
	// FromCache is true when no candidate answered and URL is the cached
	// relay, not probed now.
	FromCache bool
	// CachedAt is when the cached relay was saved (FromCache only).
	CachedAt time.Time
	// Probes are the results of every probe, in candidate order.
	Probes []ProbeResult
}

// ProbeResult is one candidate's probe.
type ProbeResult struct {
	URL     string
	Latency time.Duration // when Err is nil
	Err     error
}

// Select probes the first opts.Candidates distinct relay URLs of pulses
// concurrently, each with a real KPP handshake (Probe), and returns the
// fastest that answers as a KPP relay. It writes the winner to
// opts.CacheFile, if set. When no candidate answers (or pulses is empty)
// it returns the cached relay, if the cache file names one, with
// FromCache set; otherwise an error wrapping ErrNoRelay with each
// candidate's failure. If writing the cache fails, Select returns the
// winner together with an error wrapping ErrCache.
//
// A relay that answers proves it speaks KPP, not that it is honest: the
// payjoin's own checks (package kpp) keep a wallet's coins safe from the
// relay, which only sees ciphertext, and a relay can always refuse
// service.
func Select(ctx context.Context, pulses []Pulse, opts SelectOptions) (Selected, error) {
	o := opts.withDefaults()
	var urls []string
	seen := make(map[string]bool)
	for _, p := range pulses {
		if len(urls) == o.Candidates {
			break
		}
		if k := urlKey(p.WSURL); !seen[k] {
			seen[k] = true
			urls = append(urls, p.WSURL)
		}
	}
	results := make([]ProbeResult, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			d, err := Probe(pctx, u, o.HTTPClient)
			results[i] = ProbeResult{URL: u, Latency: d, Err: err}
		})
	}
	wg.Wait()
	best := -1
	for i, r := range results {
		if r.Err == nil && (best < 0 || r.Latency < results[best].Latency) {
			best = i
		}
	}
	if best >= 0 {
		sel := Selected{URL: results[best].URL, Latency: results[best].Latency, Probes: results}
		if o.CacheFile != "" {
			if err := writeCache(o.CacheFile, sel.URL, time.Now()); err != nil {
				return sel, err
			}
		}
		return sel, nil
	}
	if err := ctx.Err(); err != nil {
		return Selected{Probes: results}, err
	}
	var errs []error
	for _, r := range results {
		errs = append(errs, r.Err)
	}
	if len(urls) == 0 {
		errs = append(errs, errors.New("no pulses to probe"))
	}
	if o.CacheFile != "" {
		c, err := readCache(o.CacheFile)
		switch {
		case err == nil:
			return Selected{URL: c.url, FromCache: true, CachedAt: c.savedAt, Probes: results}, nil
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("no cache file %s", o.CacheFile))
		default:
			errs = append(errs, err)
		}
	}
	return Selected{Probes: results}, fmt.Errorf("%w: %w", ErrNoRelay, errors.Join(errs...))
}

// probeReadLimit caps the relay's answer to a probe.
const probeReadLimit = 4 << 10

// probeHandshake is the probe's first message: a sender's handshake
// without a session id. Every KPP relay refuses it at once with the
// original's {"error": "Missing session_id"} (kloak-v1-python.md §1.3;
// kpp.ParseHandshake), before it touches its session table.
//
// A handshake with a random session id, answered by "No matching receiver
// waiting", would prove the same, but a kloak relay holds such a sender
// for relay.Config.SenderWait (10 s by default) in case its receiver is
// about to arrive, which is longer than a probe may take, and the probe
// would occupy one of the relay's waiting-sender slots meanwhile.
var probeHandshake = []byte(`{"role":"sender","session_id":""}`)

// Probe checks that the relay at wsURL speaks KPP and measures how fast it
// answers: it connects and sends a sender's handshake without a session
// id, {"role":"sender","session_id":""}, which every KPP relay, Python or
// kloak, refuses at once with {"error":"Missing session_id"}
// (kpp.ErrTextMissingSessionID); "No matching receiver waiting" is taken
// too. The latency runs from the start of the dial to that answer: TCP
// connect, TLS, WebSocket upgrade and one KPP round trip, none of which
// the relay can answer before it is asked. A plain TCP or WebSocket
// server that answers anything else fails with ErrNotRelay. ctx bounds
// the probe; client may be nil.
func Probe(ctx context.Context, wsURL string, client *http.Client) (time.Duration, error) {
	if err := CheckRelayURL(wsURL); err != nil {
		return 0, err
	}
	start := time.Now()
	ws, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		if resp != nil {
			return 0, fmt.Errorf("%s: WebSocket upgrade refused: HTTP %s", wsURL, resp.Status)
		}
		return 0, fmt.Errorf("%s: %w", wsURL, err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(probeReadLimit)
	if err := ws.Write(ctx, websocket.MessageText, probeHandshake); err != nil {
		return 0, fmt.Errorf("%s: send handshake: %w", wsURL, err)
	}
	_, msg, err := ws.Read(ctx)
	latency := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: no answer to the handshake: %w", ErrNotRelay, wsURL, err)
	}
	var re kpp.RelayError
	if json.Unmarshal(msg, &re) != nil || (re.Code != kpp.ErrTextMissingSessionID && re.Code != kpp.ErrTextNoReceiver) {
		return 0, fmt.Errorf("%w: %s answered %q, not %q", ErrNotRelay, wsURL, clipString(string(msg)), kpp.ErrTextMissingSessionID)
	}
	return latency, nil
}

// maxCacheSize caps the cache file read.
const maxCacheSize = 64 << 10

type cacheEntry struct {
	url     string
	savedAt time.Time
}

// readCache reads the relay cache. The original writes saved_at as a
// float (time.time()); kloak writes an integer; both are read.
func readCache(path string) (cacheEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return cacheEntry{}, fmt.Errorf("%w: %w", ErrCache, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCacheSize+1))
	if err != nil {
		return cacheEntry{}, fmt.Errorf("%w: %s: %w", ErrCache, path, err)
	}
	if len(b) > maxCacheSize {
		return cacheEntry{}, fmt.Errorf("%w: %s is over %d bytes", ErrCache, path, maxCacheSize)
	}
	var j struct {
		WSURL   string      `json:"ws_url"`
		SavedAt json.Number `json:"saved_at"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return cacheEntry{}, fmt.Errorf("%w: %s: %v", ErrCache, path, err)
	}
	if err := CheckRelayURL(j.WSURL); err != nil {
		return cacheEntry{}, fmt.Errorf("%w: %s: %w", ErrCache, path, err)
	}
	e := cacheEntry{url: j.WSURL}
	if j.SavedAt != "" {
		if s, err := j.SavedAt.Float64(); err == nil && s > 0 && s < math.MaxInt32*4 {
			sec, frac := math.Modf(s)
			e.savedAt = time.Unix(int64(sec), int64(frac*1e9))
		}
	}
	return e, nil
}

// writeCache writes the relay cache atomically: a temporary file in the
// same directory, synced, renamed over path.
func writeCache(path, wsURL string, now time.Time) (err error) {
	b, _ := json.Marshal(struct {
		WSURL   string `json:"ws_url"`
		SavedAt int64  `json:"saved_at"`
		Version string `json:"version"`
	}{wsURL, now.Unix(), Version})
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
			err = fmt.Errorf("%w: writing %s: %w", ErrCache, path, err)
		}
	}()
	if _, err = f.Write(append(b, '\n')); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
