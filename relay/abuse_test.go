package relay_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/relay"
)

// The limits TestRelayUnderAbuse runs the relay with: small, so that a few
// hundred connections reach every one of them, and short, so that every
// timeout fires within seconds. A session in progress lasts 50 ms or so,
// far within each of them.
const (
	abusePerIP          = 8
	abuseTotal          = 80
	abuseWaitingSenders = 8
	abuseMaxMessage     = 4 << 10 // a real KPP message is 0.2 to 2 KB
	abuseQueued         = 4
	abuseHandshake      = time.Second
	abuseBlob           = time.Second
	abuseSenderWait     = time.Second
	abusePendingTTL     = 3 * time.Second
	abuseLifetime       = 3 * time.Second
)

// How many of each abuse TestRelayUnderAbuse sends.
const (
	honestWorkers   = 6  // wallets running complete sessions back to back, each from its own address
	lingerers       = 8  // receivers that never pair: one address full
	perIPFlood      = 16 // more connections from that address
	slowClients     = 8  // no handshake (6) or no blob (2)
	unknownSenders  = 16 // senders for ids nobody opened, twice MaxWaitingSenders
	floodAddresses  = 12 // the total flood: abusePerIP connections from each
	floodDials      = floodAddresses * abusePerIP
	heldDuringFlood = lingerers + 2 // open from before the flood until after it: lingerers, the idle bridge
)

// Close reasons the relay gives (relay/errors.go), checked where they tell
// which limit ended a connection.
const (
	reasonHandshakeLate = "handshake timeout"
	reasonBlobLate      = "timeout waiting for the encrypted blob"
	reasonExpired       = "no sender connected in time"
	reasonQueueFull     = "too many messages before a sender connected"
	reasonLifetime      = "session lifetime limit reached"
	reasonPeerGone      = "the other wallet disconnected"
	reasonCollision     = "session collision"
	reasonNoReceiver    = "no matching receiver waiting"
	reasonInvalid       = "invalid handshake"
)

const collisionNotice = `{"error":"Session collision","message":"Please regenerate QR code and try again"}`

// TestRelayUnderAbuse runs, at once and on real sockets, every abuse the
// relay has a limit for, next to wallets running complete KPP sessions:
//
//   - receivers that never pair, filling their address's connection limit,
//     and a burst of further connections from that address (429);
//   - a flood of connections from many addresses past the total limit (503);
//   - slow clients that send no handshake or no blob, and raw clients that
//     send half a frame (1008 at the handshake or blob timeout);
//   - garbage, binary and wrong JSON handshakes, bad roles and session ids
//     (their notices, 1008), oversized messages (1009), a receiver sending
//     too much before it is paired (1008);
//   - a second receiver for a waiting id (Session collision), senders for
//     ids nobody opened, twice as many as may be held (No matching receiver
//     waiting, at once or after SenderWait), senders for an id that is
//     bridged or whose session is over (No matching receiver waiting, at
//     once);
//   - a bridged pair that never finishes (1008 at SessionLifetime).
//
// Every honest session completes, each within its own timeouts; an honest
// wallet retries only what the relay tells it to retry: a dial refused
// with 503 while the total limit is reached (Retry-After), and, as kpp's
// sender does (Timeouts.PairRetry), a "No matching receiver waiting" that
// came before its receiver's offer was filed (all MaxWaitingSenders are
// taken by the abuse). Afterwards the relay's counters are back to zero,
// it still serves, its memory is back to where it started, and, once it
// is shut down, none of its goroutines is left.
func TestRelayUnderAbuse(t *testing.T) {
	needLoopbackAddresses(t)
	base := runtime.NumGoroutine()
	r := startRelay(t, relay.Config{
		MaxConnections:      abuseTotal,
		MaxConnectionsPerIP: abusePerIP,
		MaxWaitingSenders:   abuseWaitingSenders,
		MaxMessageSize:      abuseMaxMessage,
		MaxQueuedMessages:   abuseQueued,
		HandshakeTimeout:    abuseHandshake,
		BlobTimeout:         abuseBlob,
		SenderWait:          abuseSenderWait,
		PendingTTL:          abusePendingTTL,
		SessionLifetime:     abuseLifetime,
		// Info and above only: Debug would log every one of the
		// thousand connections; a warning or an error is worth seeing.
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	a := &abuse{t: t, r: r, msgs: newSessionMessages(t), hostport: strings.TrimSuffix(strings.TrimPrefix(r.url, "ws://"), relay.Path)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Warm up, so that what any relay holds after its first sessions (pools,
	// the parker, maps) is in the baseline; keep one finished id for later.
	warm := newSource(0, 1)
	var doneID string
	for range 3 {
		id, err := a.honestSession(ctx, warm, false)
		if err != nil {
			t.Fatalf("warm-up session: %v", err)
		}
		doneID = id
	}
	a.waitStats(ctx, "warm-up connections gone", relay.Stats{Served: 3})
	heapBefore := measureHeap()

	stats := a.sampleStats()
	// Before the rest starts, the lingering receivers fill one address and
	// the idle bridge is up, so that a burst or a collision can be aimed
	// at them.
	lingering := a.lingeringReceivers(ctx, newSource(0, 2))
	bridgeID, idleBridge := a.idleBridge(ctx, newSource(0, 3))

	abuseOver := make(chan struct{})
	var honest, established, abusers sync.WaitGroup
	for w := range honestWorkers {
		honest.Go(func() { a.honestWorker(ctx, newSource(1, byte(w+1)), abuseOver) })
	}
	// Garbage, like the honest sessions, goes on until the other abuse,
	// which ends by itself, is over.
	honest.Go(func() { a.garbage(ctx, newSource(0, 9), abuseOver) })
	established.Go(func() { a.perIPBurst(ctx, newSource(0, 2)) })
	established.Go(func() { a.wrongIDs(ctx, newSource(0, 10), lingering[0].id, bridgeID, doneID) })
	abusers.Go(func() { a.slowClients(ctx, newSource(0, 4), &established) })
	abusers.Go(func() { a.halfFrames(ctx, newSource(0, 5), &established) })
	abusers.Go(func() { a.unknownSenders(ctx, []*source{newSource(0, 6), newSource(0, 7)}, &established) })
	abusers.Go(func() { a.expectLingeringExpire(ctx, lingering) })
	abusers.Go(func() { idleBridge(ctx) })

	// The total flood comes once every other abuse is under way, so that
	// the refusals above are the per-address ones they should be.
	established.Wait()
	heapPeak := a.totalFlood(ctx)

	// The abuse is over once every abuser has seen its end.
	timed := make(chan struct{})
	go func() { abusers.Wait(); close(timed) }()
	select {
	case <-timed:
	case <-ctx.Done():
		t.Fatal("abusers still running after 60 s")
	}
	close(abuseOver)
	honest.Wait()
	stats.stop()
	if t.Failed() {
		t.FailNow()
	}

	// The relay is back to nothing, and has allocated a fee address for
	// each pairing alone: the warm-up, the honest sessions, the idle
	// bridge and the garbage rounds' oversized bridge.
	served := uint64(3 + a.honestDone.Load() + 1 + a.garbageRounds.Load())
	a.waitStats(ctx, "every connection gone after the abuse", relay.Stats{Served: served})
	if n := r.fees.n.Load(); n != served {
		t.Errorf("%d fee addresses allocated for %d pairings", n, served)
	}
	heapAfter := measureHeap()
	// And it still serves.
	if _, err := a.honestSession(ctx, warm, true); err != nil {
		t.Fatalf("session after the abuse: %v", err)
	}
	select {
	case err := <-r.done:
		t.Fatalf("Serve returned %v during the abuse", err)
	default:
	}

	a.report(stats, heapBefore, heapPeak, heapAfter)
	a.checkCounts(stats)
	// Memory. At the peak, abuseTotal connections are open, each with
	// both its ends in this process (the test's clients too), and the
	// refused dials are in flight: 64 KiB a connection is about twice
	// what that costs. Afterwards what stays is what any relay keeps
	// (the ids of the last minute's sessions, pooled buffers) and the
	// spans that the live objects left scattered; what each of the
	// thousand and more connections held, had it stayed, would exceed
	// 1 MiB.
	const perConnection = 64 << 10
	if growth := int64(heapPeak.inUse) - int64(heapBefore.inUse); growth > abuseTotal*perConnection {
		t.Errorf("heap in use grew by %.1f MiB at the peak, more than %d connections × %d KiB", mib(growth), abuseTotal, perConnection>>10)
	}
	if kept := int64(heapAfter.live) - int64(heapBefore.live); kept > 1<<20 {
		t.Errorf("live heap %.1f MiB above its start once the abuse is over, want at most 1 MiB", mib(kept))
	}
	if kept := int64(heapAfter.inUse) - int64(heapBefore.inUse); kept > 3<<20 {
		t.Errorf("heap in use %.1f MiB above its start once the abuse is over, want at most 3 MiB", mib(kept))
	}

	r.stop(t)
	checkNoGoroutineLeft(t, base)
}

// abuse is TestRelayUnderAbuse's state: the relay, and what each wallet
// saw.
type abuse struct {
	t        *testing.T
	r        *testRelay
	msgs     sessionMessages
	hostport string

	mu       sync.Mutex
	outcomes map[string]int // what abusers saw, by kind

	honestDone       atomic.Int64 // complete honest sessions
	honestBusy       atomic.Int64 // honest dials refused with 503 and retried
	honestPairRetry  atomic.Int64 // honest senders told "No matching receiver waiting" and retried
	honestInFlood    atomic.Int64 // honest sessions under way while the flood held the relay full
	honestLongest    atomic.Int64 // the longest honest session, in ns
	garbageRounds    atomic.Int64
	floodStart       atomic.Int64 // unix ns
	floodEnd         atomic.Int64 // unix ns, once the flood's connections are closed
	floodBurst       time.Duration
	unknownAtOnce    atomic.Int64
	unknownAfterWait atomic.Int64
}

func (a *abuse) saw(kind string) { a.add(kind, 1) }

func (a *abuse) add(kind string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outcomes == nil {
		a.outcomes = make(map[string]int)
	}
	a.outcomes[kind] += n
}

func (a *abuse) count(kind string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.outcomes[kind]
}

// waitStats polls the relay's counters until they are want, for 10 s.
func (a *abuse) waitStats(ctx context.Context, what string, want relay.Stats) {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for got := a.r.Stats(); got != want; got = a.r.Stats() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			a.t.Fatalf("waiting for %s: stats %+v, want %+v", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// source is a client address on the loopback network. The relay counts
// its per-address limit for each 127.0.x.y apart, and Linux routes the
// whole of 127.0.0.0/8 to the loopback interface.
type source struct {
	ip     net.IP
	client *http.Client
}

// needLoopbackAddresses skips the test where 127.0.x.y other than
// 127.0.0.1 cannot be bound (macOS and the BSDs configure only that one).
func needLoopbackAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.2.1:0")
	if err != nil {
		t.Skipf("no loopback address but 127.0.0.1 (%v): the per-address limits need several", err)
	}
	ln.Close()
}

func newSource(x, y byte) *source {
	ip := net.IPv4(127, 0, x, y)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	// No keep-alive: a refused dial leaves no idle connection (nor its
	// goroutines) behind.
	return &source{ip: ip, client: &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}}
}

// upgrade is the relay's answer to one WebSocket dial: the connection, or
// an HTTP refusal.
type upgrade struct {
	ws         *websocket.Conn
	status     int
	body       string
	retryAfter string
}

func (s *source) dial(ctx context.Context, url string) (upgrade, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: s.client})
	if err == nil {
		ws.SetReadLimit(1 << 20)
		return upgrade{ws: ws, status: http.StatusSwitchingProtocols}, nil
	}
	if resp == nil {
		return upgrade{}, fmt.Errorf("dial from %s: %w", s.ip, err)
	}
	body, _ := io.ReadAll(resp.Body)
	return upgrade{status: resp.StatusCode, body: strings.TrimSpace(string(body)), retryAfter: resp.Header.Get("Retry-After")}, nil
}

// The relay's HTTP refusals (relay/admit.go), with Retry-After: 30.
const (
	refusedTotal = "kloak relay: too many connections, try again later"
	refusedPerIP = "kloak relay: too many connections from your address"
)

// checkRefused checks a refusal: its status, text and Retry-After.
func (u upgrade) checkRefused(status int, text string) error {
	if u.ws != nil {
		u.ws.CloseNow()
		return fmt.Errorf("connection accepted, want HTTP %d", status)
	}
	if u.status != status || u.body != text || u.retryAfter != "30" {
		return fmt.Errorf("HTTP %d %q (Retry-After %q), want %d %q (Retry-After 30)", u.status, u.body, u.retryAfter, status, text)
	}
	return nil
}

// dialAccepted dials and requires the connection to be accepted.
func (s *source) dialAccepted(ctx context.Context, url string) (*websocket.Conn, error) {
	u, err := s.dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if u.ws == nil {
		return nil, fmt.Errorf("dial from %s: HTTP %d %q, want the connection", s.ip, u.status, u.body)
	}
	return u.ws, nil
}

// dialRetry dials until the relay takes the connection, as a wallet does
// that retries on 503 (the total limit is reached: "try again later");
// busy counts the retries. Any other refusal is an error.
func (s *source) dialRetry(ctx context.Context, url string, busy *atomic.Int64) (*websocket.Conn, error) {
	for {
		u, err := s.dial(ctx, url)
		if err != nil {
			return nil, err
		}
		if u.ws != nil {
			return u.ws, nil
		}
		if err := u.checkRefused(http.StatusServiceUnavailable, refusedTotal); err != nil {
			return nil, fmt.Errorf("dial from %s: %w", s.ip, err)
		}
		busy.Add(1)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial from %s: refused with 503 until %w", s.ip, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func handshake(role, id string) []byte {
	return []byte(`{"role":"` + role + `","session_id":"` + id + `"}`)
}

func randomID() string {
	var key kpp.Key
	rand.Read(key[:])
	return key.SessionID()
}

// expectMessage reads ws's next message and checks its type and bytes.
func expectMessage(ctx context.Context, ws *websocket.Conn, typ websocket.MessageType, want []byte) error {
	got, data, err := ws.Read(ctx)
	if err != nil {
		return fmt.Errorf("read: %w; want %s of %d bytes", err, typ, len(want))
	}
	if got != typ || string(data) != string(want) {
		return fmt.Errorf("read %s %.80q, want %s %.80q", got, data, typ, want)
	}
	return nil
}

// expectEnd reads ws's next message, a notice, unless notice is empty,
// and then the close: its status and, unless reason is empty, its reason.
// A notice that starts with "{" is compared whole, any other is the
// notice's "error" member.
func expectEnd(ctx context.Context, ws *websocket.Conn, notice string, code websocket.StatusCode, reason string) error {
	if notice != "" {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			return fmt.Errorf("read: %w; want the notice %q", err, notice)
		}
		var e kpp.RelayError
		switch {
		case typ != websocket.MessageText:
			return fmt.Errorf("notice in a %s frame: %.80q", typ, data)
		case strings.HasPrefix(notice, "{") && string(data) != notice:
			return fmt.Errorf("notice %s, want %s", data, notice)
		case !strings.HasPrefix(notice, "{") && (json.Unmarshal(data, &e) != nil || e.Code != notice):
			return fmt.Errorf("notice %s, want error %q", data, notice)
		}
	}
	typ, data, err := ws.Read(ctx)
	if err == nil {
		return fmt.Errorf("read %s %.80q, want the close %d", typ, data, code)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return fmt.Errorf("connection ended with %v, want the close %d %q", err, code, reason)
	}
	if ce.Code != code || (reason != "" && ce.Reason != reason) {
		return fmt.Errorf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
	}
	return nil
}

// honestSession runs one complete KPP session from src: the receiver
// leaves its offer, the sender gets the fee address and the offer, the
// five E2EE messages go through (as in TestPythonTranscript, with the
// sizes of real ones), the sender closes and the relay closes the
// receiver. It returns the session id.
func (a *abuse) honestSession(ctx context.Context, src *source, senderFirst bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id := randomID()
	var recv, send *websocket.Conn
	defer func() {
		for _, ws := range []*websocket.Conn{recv, send} {
			if ws != nil {
				ws.CloseNow()
			}
		}
	}()
	connect := func(role string) (*websocket.Conn, error) {
		ws, err := src.dialRetry(ctx, a.r.url, &a.honestBusy)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", role, err)
		}
		if err := ws.Write(ctx, websocket.MessageText, handshake(role, id)); err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("%s's handshake: %w", role, err)
		}
		return ws, nil
	}
	var err error
	if senderFirst {
		if send, err = connect(kpp.RoleSender); err != nil {
			return id, err
		}
	}
	if recv, err = connect(kpp.RoleReceiver); err != nil {
		return id, err
	}
	if err := recv.Write(ctx, websocket.MessageText, a.msgs.offer); err != nil {
		return id, fmt.Errorf("receiver's offer: %w", err)
	}

	// Pairing, retried as kpp's sender retries it (SenderProposal.pair).
	wait, deadline := 100*time.Millisecond, time.Now().Add(3*time.Second)
	for {
		if send == nil {
			if send, err = connect(kpp.RoleSender); err != nil {
				return id, err
			}
		}
		typ, first, err := send.Read(ctx)
		if err != nil {
			return id, fmt.Errorf("sender's first message: %w", err)
		}
		if string(first) != noReceiverNotice {
			if err := checkDustAddress(typ, first); err != nil {
				return id, err
			}
			break
		}
		if err := expectEnd(ctx, send, "", websocket.StatusNormalClosure, reasonNoReceiver); err != nil {
			return id, fmt.Errorf("sender after No matching receiver waiting: %w", err)
		}
		send.CloseNow()
		send = nil
		a.honestPairRetry.Add(1)
		if time.Now().Add(wait).After(deadline) {
			return id, errors.New("sender: No matching receiver waiting for 3 s, its receiver's offer sent")
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
	}

	for _, step := range []struct {
		name     string
		from, to *websocket.Conn
		msg      []byte
	}{
		{"the offer", nil, send, a.msgs.offer},
		{"the sender's data", send, recv, a.msgs.senderData},
		{"the proposal", send, recv, a.msgs.proposal},
		{"the signature", recv, send, a.msgs.signature},
		{"broadcast_success", send, recv, a.msgs.success},
	} {
		if step.from != nil {
			if err := step.from.Write(ctx, websocket.MessageText, step.msg); err != nil {
				return id, fmt.Errorf("%s: write: %w", step.name, err)
			}
		}
		if err := expectMessage(ctx, step.to, websocket.MessageText, step.msg); err != nil {
			return id, fmt.Errorf("%s: %w", step.name, err)
		}
	}
	if err := send.Close(websocket.StatusNormalClosure, ""); err != nil {
		return id, fmt.Errorf("sender's close: %w", err)
	}
	if err := expectEnd(ctx, recv, "", websocket.StatusNormalClosure, reasonPeerGone); err != nil {
		return id, fmt.Errorf("receiver after the sender left: %w", err)
	}
	return id, nil
}

// checkDustAddress checks the relay's first message to a sender: a
// dust_address with a mainnet address and the default fee policy.
func checkDustAddress(typ websocket.MessageType, data []byte) error {
	var fa kpp.FeeAddress
	if typ != websocket.MessageText || json.Unmarshal(data, &fa) != nil || fa.Type != kpp.MsgFeeAddress || fa.Policy() != kpp.DefaultNodeFeePolicy {
		return fmt.Errorf("sender's first message %s %.200q, want dust_address", typ, data)
	}
	if _, err := address.Decode(fa.Address, address.Mainnet); err != nil {
		return fmt.Errorf("dust_address %q: %w", fa.Address, err)
	}
	return nil
}

// honestWorker runs honest sessions from src, sender first every other
// one, until the abuse is over, and at least 3.
func (a *abuse) honestWorker(ctx context.Context, src *source, over <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-over:
			if i >= 3 {
				return
			}
		default:
		}
		start := time.Now()
		if _, err := a.honestSession(ctx, src, i%2 == 1); err != nil {
			a.t.Errorf("honest session %d from %s: %v", i, src.ip, err)
			return
		}
		end := time.Now()
		a.honestDone.Add(1)
		for d := int64(end.Sub(start)); ; {
			old := a.honestLongest.Load()
			if d <= old || a.honestLongest.CompareAndSwap(old, d) {
				break
			}
		}
		// Under way while the flood held the relay full.
		if fs, fe := a.floodStart.Load(), a.floodEnd.Load(); fs != 0 && end.UnixNano() > fs && (fe == 0 || start.UnixNano() < fe) {
			a.honestInFlood.Add(1)
		}
	}
}

// lingerer is a receiver that never pairs.
type lingerer struct {
	ws    *websocket.Conn
	id    string
	filed time.Time // before its offer was sent
}

// lingeringReceivers fills src's connection limit with receivers that
// leave their offer and wait, and waits until the relay holds them all.
func (a *abuse) lingeringReceivers(ctx context.Context, src *source) []lingerer {
	a.t.Helper()
	ls := make([]lingerer, lingerers)
	for i := range ls {
		ws, err := src.dialAccepted(ctx, a.r.url)
		if err != nil {
			a.t.Fatalf("lingering receiver %d: %v", i, err)
		}
		a.t.Cleanup(func() { ws.CloseNow() })
		ls[i] = lingerer{ws: ws, id: randomID(), filed: time.Now()}
		if err := ws.Write(ctx, websocket.MessageText, handshake(kpp.RoleReceiver, ls[i].id)); err != nil {
			a.t.Fatal(err)
		}
		if err := ws.Write(ctx, websocket.MessageText, []byte("lingering offer")); err != nil {
			a.t.Fatal(err)
		}
	}
	a.waitStats(ctx, "the lingering receivers filed", relay.Stats{Connections: lingerers, Pending: lingerers, Served: 3})
	return ls
}

// expectLingeringExpire: the receivers that never pair are closed with
// status 1000 once PendingTTL is over, not before.
func (a *abuse) expectLingeringExpire(ctx context.Context, ls []lingerer) {
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() {
			if err := expectEnd(ctx, l.ws, "", websocket.StatusNormalClosure, reasonExpired); err != nil {
				a.t.Errorf("lingering receiver: %v", err)
				return
			}
			if d := time.Since(l.filed); d < abusePendingTTL {
				a.t.Errorf("lingering receiver closed after %v, before PendingTTL %v", d, abusePendingTTL)
				return
			}
			a.saw("lingering receiver expired (1000)")
		})
	}
	wg.Wait()
}

// perIPBurst: every connection past the limit of an address that has its
// limit open (the lingering receivers) is refused with 429.
func (a *abuse) perIPBurst(ctx context.Context, src *source) {
	var wg sync.WaitGroup
	for range perIPFlood {
		wg.Go(func() {
			u, err := src.dial(ctx, a.r.url)
			if err == nil {
				err = u.checkRefused(http.StatusTooManyRequests, refusedPerIP)
			}
			if err != nil {
				a.t.Errorf("connection past the per-address limit: %v", err)
				return
			}
			a.saw("per-address limit (429)")
		})
	}
	wg.Wait()
}

// idleBridge pairs a receiver and a sender that exchange a message each
// and then keep the bridge open; the returned function waits for the
// relay to end it at SessionLifetime (1008, both).
func (a *abuse) idleBridge(ctx context.Context, src *source) (string, func(context.Context)) {
	a.t.Helper()
	id := randomID()
	recv, err := src.dialAccepted(ctx, a.r.url)
	if err != nil {
		a.t.Fatalf("idle bridge: %v", err)
	}
	send, err := src.dialAccepted(ctx, a.r.url)
	if err != nil {
		a.t.Fatalf("idle bridge: %v", err)
	}
	a.t.Cleanup(func() { recv.CloseNow(); send.CloseNow() })
	var paired time.Time // before the relay pairs them, and starts their lifetime
	for _, step := range []func() error{
		func() error { return recv.Write(ctx, websocket.MessageText, handshake(kpp.RoleReceiver, id)) },
		func() error { return recv.Write(ctx, websocket.MessageText, []byte("idle offer")) },
		func() error {
			paired = time.Now()
			return send.Write(ctx, websocket.MessageText, handshake(kpp.RoleSender, id))
		},
		func() error { typ, data, err := send.Read(ctx); return errors.Join(err, checkDustAddress(typ, data)) },
		func() error { return expectMessage(ctx, send, websocket.MessageText, []byte("idle offer")) },
		func() error { return send.Write(ctx, websocket.MessageBinary, []byte("hello")) },
		func() error { return expectMessage(ctx, recv, websocket.MessageBinary, []byte("hello")) },
	} {
		if err := step(); err != nil {
			a.t.Fatalf("idle bridge: %v", err)
		}
	}
	a.waitStats(ctx, "the idle bridge", relay.Stats{Connections: lingerers + 2, Pending: lingerers, Bridged: 1, Served: 4})
	return id, func(ctx context.Context) {
		for _, ws := range []*websocket.Conn{recv, send} {
			if err := expectEnd(ctx, ws, "", websocket.StatusPolicyViolation, reasonLifetime); err != nil {
				a.t.Errorf("idle bridge: %v", err)
				return
			}
		}
		if d := time.Since(paired); d < abuseLifetime {
			a.t.Errorf("idle bridge closed after %v, before SessionLifetime %v", d, abuseLifetime)
			return
		}
		a.saw("idle bridge ended at its lifetime (1008)")
	}
}

// wrongIDs: a second receiver for a waiting id meets a collision; a sender
// for a bridged id, or for one whose session is over, is refused at once.
func (a *abuse) wrongIDs(ctx context.Context, src *source, waitingID, bridgedID, doneID string) {
	for _, tc := range []struct {
		name, role, id, notice, reason string
	}{
		{"receiver for a waiting id", kpp.RoleReceiver, waitingID, collisionNotice, reasonCollision},
		{"sender for a bridged id", kpp.RoleSender, bridgedID, noReceiverNotice, reasonNoReceiver},
		{"sender for a finished session", kpp.RoleSender, doneID, noReceiverNotice, reasonNoReceiver},
	} {
		err := func() error {
			ws, err := src.dialAccepted(ctx, a.r.url)
			if err != nil {
				return err
			}
			defer ws.CloseNow()
			start := time.Now()
			if err := ws.Write(ctx, websocket.MessageText, handshake(tc.role, tc.id)); err != nil {
				return err
			}
			if tc.role == kpp.RoleReceiver {
				if err := ws.Write(ctx, websocket.MessageText, []byte("colliding offer")); err != nil {
					return err
				}
			}
			if err := expectEnd(ctx, ws, tc.notice, websocket.StatusNormalClosure, tc.reason); err != nil {
				return err
			}
			if d := time.Since(start); d >= abuseSenderWait {
				return fmt.Errorf("refused after %v, want at once (SenderWait %v)", d, abuseSenderWait)
			}
			return nil
		}()
		if err != nil {
			a.t.Errorf("%s: %v", tc.name, err)
			continue
		}
		a.saw(tc.name + " refused (1000)")
	}
}

// slowClients connect and send nothing (6), or a receiver's handshake and
// no blob (2): the relay closes them with 1008 at its timeout.
func (a *abuse) slowClients(ctx context.Context, src *source, established *sync.WaitGroup) {
	type slow struct {
		ws     *websocket.Conn
		start  time.Time
		limit  time.Duration
		reason string
	}
	conns := make([]slow, slowClients)
	defer func() {
		for _, c := range conns {
			if c.ws != nil {
				c.ws.CloseNow()
			}
		}
	}()
	established.Add(1)
	ok := func() bool {
		defer established.Done()
		for i := range conns {
			start := time.Now()
			ws, err := src.dialAccepted(ctx, a.r.url)
			if err != nil {
				a.t.Errorf("slow client %d: %v", i, err)
				return false
			}
			conns[i] = slow{ws, start, abuseHandshake, reasonHandshakeLate}
			if i < 2 {
				conns[i] = slow{ws, time.Now(), abuseBlob, reasonBlobLate}
				if err := ws.Write(ctx, websocket.MessageText, handshake(kpp.RoleReceiver, randomID())); err != nil {
					a.t.Errorf("slow receiver: %v", err)
					return false
				}
			}
		}
		return true
	}()
	if !ok {
		return
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			if err := expectEnd(ctx, c.ws, "", websocket.StatusPolicyViolation, c.reason); err != nil {
				a.t.Errorf("slow client: %v", err)
				return
			}
			if d := time.Since(c.start); d < c.limit {
				a.t.Errorf("slow client closed (%s) after %v, before %v", c.reason, d, c.limit)
				return
			}
			a.saw("slow client: " + c.reason + " (1008)")
		})
	}
	wg.Wait()
}

// halfFrames upgrade raw connections and send part of a first frame: one
// byte of its header, a header cut in its mask key, half a payload, a
// first fragment whose continuation never comes. The relay's handshake
// timeout closes each with 1008.
func (a *abuse) halfFrames(ctx context.Context, src *source, established *sync.WaitGroup) {
	mask := []byte{0x11, 0x22, 0x33, 0x44}
	partial := [][]byte{
		{0x81},
		{0x81, 0x80 | 100, 0x11, 0x22},
		append(append([]byte{0x81, 0x80 | 100}, mask...), make([]byte, 50)...),
		append(append([]byte{0x01, 0x80 | 5}, mask...), make([]byte, 5)...),
	}
	type half struct {
		nc    net.Conn
		br    *bufio.Reader
		start time.Time
	}
	conns := make([]half, len(partial))
	defer func() {
		for _, h := range conns {
			if h.nc != nil {
				h.nc.Close()
			}
		}
	}()
	established.Add(1)
	ok := func() bool {
		defer established.Done()
		for i, p := range partial {
			start := time.Now()
			nc, br, err := a.rawUpgrade(ctx, src)
			if err != nil {
				a.t.Errorf("half frame %d: %v", i, err)
				return false
			}
			conns[i] = half{nc, br, start}
			if _, err := nc.Write(p); err != nil {
				a.t.Errorf("half frame %d: %v", i, err)
				return false
			}
		}
		return true
	}()
	if !ok {
		return
	}
	var wg sync.WaitGroup
	for i, h := range conns {
		wg.Go(func() {
			code, reason, err := readCloseFrame(h.br)
			switch {
			case err != nil:
				a.t.Errorf("half frame %d: %v", i, err)
			case code != websocket.StatusPolicyViolation || reason != reasonHandshakeLate:
				a.t.Errorf("half frame %d: closed with %d %q, want 1008 %q", i, code, reason, reasonHandshakeLate)
			case time.Since(h.start) < abuseHandshake:
				a.t.Errorf("half frame %d: closed after %v, before the handshake timeout", i, time.Since(h.start))
			default:
				a.saw("half a frame: handshake timeout (1008)")
			}
		})
	}
	wg.Wait()
}

// rawUpgrade opens a WebSocket connection by hand, for what a WebSocket
// library would not send.
func (a *abuse) rawUpgrade(ctx context.Context, src *source) (net.Conn, *bufio.Reader, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src.ip}}
	nc, err := d.DialContext(ctx, "tcp", a.hostport)
	if err != nil {
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	br, err := upgradeByHand(nc, a.hostport)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, br, nil
}

// readCloseFrame reads the relay's next frame, which must be a close
// frame (unmasked, RFC 6455 §5.5.1), and returns its status and reason.
func readCloseFrame(br *bufio.Reader) (websocket.StatusCode, string, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, "", fmt.Errorf("no close frame: %w", err)
	}
	n := int(hdr[1] & 0x7f)
	if hdr[0] != 0x88 || hdr[1]&0x80 != 0 || n < 2 || n > 125 {
		return 0, "", fmt.Errorf("frame header % x, want a close frame", hdr)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, "", fmt.Errorf("close frame: %w", err)
	}
	return websocket.StatusCode(binary.BigEndian.Uint16(payload)), string(payload[2:]), nil
}

// unknownSenders: twice MaxWaitingSenders senders for ids nobody opened.
// Those held are told "No matching receiver waiting" after SenderWait, the
// others at once; both then get status 1000.
func (a *abuse) unknownSenders(ctx context.Context, srcs []*source, established *sync.WaitGroup) {
	type sender struct {
		ws    *websocket.Conn
		start time.Time
	}
	conns := make(chan sender, unknownSenders)
	var dialed sync.WaitGroup
	established.Add(1)
	for i := range unknownSenders {
		dialed.Go(func() {
			ws, err := srcs[i%len(srcs)].dialAccepted(ctx, a.r.url)
			if err != nil {
				a.t.Errorf("unknown sender: %v", err)
				return
			}
			start := time.Now()
			if err := ws.Write(ctx, websocket.MessageText, handshake(kpp.RoleSender, randomID())); err != nil {
				ws.CloseNow()
				a.t.Errorf("unknown sender: %v", err)
				return
			}
			conns <- sender{ws, start}
		})
	}
	dialed.Wait()
	established.Done()
	close(conns)
	var wg sync.WaitGroup
	for s := range conns {
		wg.Go(func() {
			defer s.ws.CloseNow()
			if err := expectEnd(ctx, s.ws, noReceiverNotice, websocket.StatusNormalClosure, reasonNoReceiver); err != nil {
				a.t.Errorf("unknown sender: %v", err)
				return
			}
			if time.Since(s.start) < abuseSenderWait {
				a.unknownAtOnce.Add(1)
			} else {
				a.unknownAfterWait.Add(1)
			}
		})
	}
	wg.Wait()
}

// garbage sends, round after round until the abuse is over, every kind of
// malformed or oversized first message, an oversized message in a
// bridge, and a receiver that sends too much before it is paired.
func (a *abuse) garbage(ctx context.Context, src *source, over <-chan struct{}) {
	id := randomID()
	big := strings.Repeat("A", 16*abuseMaxMessage)
	type frame struct {
		typ  websocket.MessageType
		data string
	}
	text := func(s string) frame { return frame{websocket.MessageText, s} }
	kinds := []struct {
		name   string
		frames []frame
		notice string // a notice's "error", or the whole notice
		code   websocket.StatusCode
		reason string
	}{
		{"binary garbage", []frame{{websocket.MessageBinary, "\x00\xff\xfe\x80garbage"}}, "Invalid handshake", websocket.StatusPolicyViolation, reasonInvalid},
		{"truncated JSON", []frame{text(`{"role": "receiver", `)}, "Invalid handshake", websocket.StatusPolicyViolation, reasonInvalid},
		{"JSON array", []frame{text(`["receiver"]`)}, "Invalid handshake", websocket.StatusPolicyViolation, reasonInvalid},
		{"JSON string", []frame{text(`"sender"`)}, "Invalid handshake", websocket.StatusPolicyViolation, reasonInvalid},
		{"unknown role", []frame{text(`{"role":"observer","session_id":"` + id + `"}`)}, "Invalid role", websocket.StatusPolicyViolation, reasonInvalid},
		{"short session id", []frame{text(`{"role":"sender","session_id":"abc"}`)}, "Invalid session_id", websocket.StatusPolicyViolation, reasonInvalid},
		{"non-hex session id", []frame{text(`{"role":"sender","session_id":"` + strings.Repeat("g", 64) + `"}`)}, "Invalid session_id", websocket.StatusPolicyViolation, reasonInvalid},
		{"missing session id", []frame{text(`{"role":"sender"}`)}, `{"error":"Missing session_id"}`, websocket.StatusPolicyViolation, reasonInvalid},
		{"oversized handshake", []frame{text(big)}, "", websocket.StatusMessageTooBig, ""},
		{"oversized offer", []frame{text(string(handshake(kpp.RoleReceiver, randomID()))), text(big)}, "", websocket.StatusMessageTooBig, ""},
		{"queue overflow", append([]frame{text(string(handshake(kpp.RoleReceiver, randomID()))), text("offer")}, slices.Repeat([]frame{text("early")}, abuseQueued+1)...), "", websocket.StatusPolicyViolation, reasonQueueFull},
	}
	for round := 0; ; round++ {
		select {
		case <-over:
			if round >= 2 {
				return
			}
		case <-ctx.Done():
			return
		default:
		}
		for _, k := range kinds {
			err := func() error {
				ws, err := src.dialRetry(ctx, a.r.url, new(atomic.Int64))
				if err != nil {
					return err
				}
				defer ws.CloseNow()
				for _, f := range k.frames {
					// A write may fail once the relay has closed: what it
					// said is then read below.
					if ws.Write(ctx, f.typ, []byte(f.data)) != nil {
						break
					}
				}
				return expectEnd(ctx, ws, k.notice, k.code, k.reason)
			}()
			if err != nil {
				a.t.Errorf("garbage round %d, %s: %v", round, k.name, err)
				return
			}
			a.saw(fmt.Sprintf("garbage: %s (%d)", k.name, k.code))
		}
		if err := a.oversizedInBridge(ctx, src); err != nil {
			a.t.Errorf("garbage round %d, oversized message in a bridge: %v", round, err)
			return
		}
		a.saw("garbage: oversized message in a bridge (1009, the other 1000)")
		a.garbageRounds.Add(1)
	}
}

// oversizedInBridge: a bridged sender that sends a message over
// MaxMessageSize is closed with 1009, and its receiver with 1000.
func (a *abuse) oversizedInBridge(ctx context.Context, src *source) error {
	id := randomID()
	recv, err := src.dialRetry(ctx, a.r.url, new(atomic.Int64))
	if err != nil {
		return err
	}
	defer recv.CloseNow()
	if err := recv.Write(ctx, websocket.MessageText, handshake(kpp.RoleReceiver, id)); err != nil {
		return err
	}
	if err := recv.Write(ctx, websocket.MessageText, []byte("offer")); err != nil {
		return err
	}
	// The relay may not have filed the offer yet, and every sender slot
	// may be taken: retry on the notice, as an honest sender does.
	var send *websocket.Conn
	defer func() {
		if send != nil {
			send.CloseNow()
		}
	}()
	for {
		if send, err = src.dialRetry(ctx, a.r.url, new(atomic.Int64)); err != nil {
			return err
		}
		if err := send.Write(ctx, websocket.MessageText, handshake(kpp.RoleSender, id)); err != nil {
			return err
		}
		typ, first, err := send.Read(ctx)
		if err != nil {
			return err
		}
		if string(first) != noReceiverNotice {
			if err := checkDustAddress(typ, first); err != nil {
				return err
			}
			break
		}
		send.CloseNow()
		time.Sleep(100 * time.Millisecond)
	}
	if err := expectMessage(ctx, send, websocket.MessageText, []byte("offer")); err != nil {
		return err
	}
	_ = send.Write(ctx, websocket.MessageBinary, make([]byte, 2*abuseMaxMessage))
	if err := expectEnd(ctx, send, "", websocket.StatusMessageTooBig, ""); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	if err := expectEnd(ctx, recv, "", websocket.StatusNormalClosure, reasonPeerGone); err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	return nil
}

// totalFlood dials abusePerIP connections from each of floodAddresses
// addresses at once, more than the relay takes in total, and holds those
// it takes, silent, until the relay's handshake timeout closes them: the
// others are refused with 503. With the relay full, it measures the heap
// (the peak, which it returns).
func (a *abuse) totalFlood(ctx context.Context) heap {
	a.floodStart.Store(time.Now().UnixNano())
	start := time.Now()
	accepted := make(chan *websocket.Conn, floodDials)
	var wg sync.WaitGroup
	for i := range floodAddresses {
		src := newSource(2, byte(i+1))
		for range abusePerIP {
			wg.Go(func() {
				u, err := src.dial(ctx, a.r.url)
				switch {
				case err != nil:
					a.t.Errorf("flood: %v", err)
				case u.ws != nil:
					accepted <- u.ws
				default:
					if err := u.checkRefused(http.StatusServiceUnavailable, refusedTotal); err != nil {
						a.t.Errorf("flood: connection past the total limit: %v", err)
						return
					}
					a.saw("total limit (503)")
				}
			})
		}
	}
	wg.Wait()
	a.floodBurst = time.Since(start)
	close(accepted)
	peak := measureHeap()
	// The flood's connections send nothing: the handshake timeout ends
	// them, and only then has the relay room again.
	n := 0
	for ws := range accepted {
		n++
		wg.Go(func() {
			defer ws.CloseNow()
			if err := expectEnd(ctx, ws, "", websocket.StatusPolicyViolation, reasonHandshakeLate); err != nil {
				a.t.Errorf("flood connection: %v", err)
				return
			}
			a.saw("flood connection: " + reasonHandshakeLate + " (1008)")
		})
	}
	wg.Wait()
	a.floodEnd.Store(time.Now().UnixNano())
	a.add("flood connection accepted", n)
	return peak
}

// statsSampler records the largest of each of the relay's counters.
type statsSampler struct {
	max  relay.Stats
	done chan struct{}
	wg   sync.WaitGroup
}

func (a *abuse) sampleStats() *statsSampler {
	s := &statsSampler{done: make(chan struct{})}
	s.wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			st := a.r.Stats()
			s.max.Connections = max(s.max.Connections, st.Connections)
			s.max.Pending = max(s.max.Pending, st.Pending)
			s.max.Waiting = max(s.max.Waiting, st.Waiting)
			s.max.Bridged = max(s.max.Bridged, st.Bridged)
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

func (s *statsSampler) stop() {
	close(s.done)
	s.wg.Wait()
}

// checkCounts checks that each abuse happened as often as it was sent and
// was refused as documented: none of the assertions above can hold by
// default.
func (a *abuse) checkCounts(stats *statsSampler) {
	t := a.t
	t.Helper()
	for kind, want := range map[string]int{
		"per-address limit (429)":                         perIPFlood,
		"lingering receiver expired (1000)":               lingerers,
		"idle bridge ended at its lifetime (1008)":        1,
		"receiver for a waiting id refused (1000)":        1,
		"sender for a bridged id refused (1000)":          1,
		"sender for a finished session refused (1000)":    1,
		"slow client: " + reasonHandshakeLate + " (1008)": slowClients - 2,
		"slow client: " + reasonBlobLate + " (1008)":      2,
		"half a frame: handshake timeout (1008)":          4,
	} {
		if got := a.count(kind); got != want {
			t.Errorf("%s: %d times, want %d", kind, got, want)
		}
	}
	rounds := int(a.garbageRounds.Load())
	if rounds < 2 {
		t.Errorf("%d garbage rounds, want at least 2", rounds)
	}
	a.mu.Lock()
	for kind, n := range a.outcomes {
		if strings.HasPrefix(kind, "garbage: ") && n != rounds {
			t.Errorf("%s: %d times in %d rounds", kind, n, rounds)
		}
	}
	a.mu.Unlock()
	// The total flood: the lingering receivers and the idle bridge were
	// open throughout, so at most abuseTotal - heldDuringFlood of the
	// flood's connections fit; the rest were refused with 503.
	accepted, refused := a.count("flood connection accepted"), a.count("total limit (503)")
	if n := a.count("flood connection: " + reasonHandshakeLate + " (1008)"); n != accepted {
		t.Errorf("flood: %d connections accepted, %d closed at the handshake timeout", accepted, n)
	}
	if accepted+refused != floodDials {
		t.Errorf("flood: %d accepted + %d refused, want %d dials", accepted, refused, floodDials)
	}
	if accepted > abuseTotal-heldDuringFlood || refused < floodDials-(abuseTotal-heldDuringFlood) {
		t.Errorf("flood: %d of %d connections accepted in %v, want at most %d (MaxConnections %d, %d open)",
			accepted, floodDials, a.floodBurst, abuseTotal-heldDuringFlood, abuseTotal, heldDuringFlood)
	}
	if stats.max.Connections > abuseTotal || stats.max.Waiting > abuseWaitingSenders {
		t.Errorf("counters over their limits: %+v", stats.max)
	}
	// Unknown senders: at most MaxWaitingSenders held at once, so at least
	// the rest refused at once; and some were held.
	atOnce, held := a.unknownAtOnce.Load(), a.unknownAfterWait.Load()
	if atOnce+held != unknownSenders || atOnce < unknownSenders-abuseWaitingSenders || held == 0 {
		t.Errorf("unknown senders: %d refused at once, %d after SenderWait; want %d in all, at least %d at once, some held",
			atOnce, held, unknownSenders, unknownSenders-abuseWaitingSenders)
	}
	if n := a.honestDone.Load(); n < 3*honestWorkers {
		t.Errorf("%d honest sessions, want at least %d", n, 3*honestWorkers)
	}
	if a.honestInFlood.Load() == 0 || a.honestBusy.Load() == 0 {
		t.Errorf("%d honest sessions under way during the flood, %d honest dials refused with 503: the flood missed them",
			a.honestInFlood.Load(), a.honestBusy.Load())
	}
}

func (a *abuse) report(stats *statsSampler, before, peak, after heap) {
	t := a.t
	a.mu.Lock()
	kinds := make([]string, 0, len(a.outcomes))
	for k := range a.outcomes {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		t.Logf("%5d  %s", a.outcomes[k], k)
	}
	a.mu.Unlock()
	t.Logf("unknown senders: %d refused at once, %d after SenderWait", a.unknownAtOnce.Load(), a.unknownAfterWait.Load())
	t.Logf("flood: %d dials in %v", floodDials, a.floodBurst.Round(time.Millisecond))
	t.Logf("honest: %d sessions (%d under way during the flood), longest %v; %d dials retried on 503, %d senders retried on No matching receiver waiting",
		a.honestDone.Load(), a.honestInFlood.Load(), time.Duration(a.honestLongest.Load()).Round(time.Millisecond), a.honestBusy.Load(), a.honestPairRetry.Load())
	t.Logf("relay counters at most: %+v", stats.max)
	t.Logf("flood: the relay full for %v", time.Duration(a.floodEnd.Load()-a.floodStart.Load()).Round(time.Millisecond))
	t.Logf("heap: %v before, %v at the peak, %v after", before, peak, after)
}

// heap is the Go heap after two garbage collections (the second frees
// what sync.Pool's victim cache kept through the first): the bytes of its
// spans in use, and of the live objects in them.
type heap struct{ inUse, live uint64 }

func measureHeap() heap {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return heap{m.HeapInuse, m.HeapAlloc}
}

func (h heap) String() string {
	return fmt.Sprintf("%.1f MiB in use (%.1f MiB live)", mib(int64(h.inUse)), mib(int64(h.live)))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
