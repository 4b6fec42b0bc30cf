package kpp_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/txbuild"
)

// untouchable is a sender's wallet and chain that fail the test when a
// payjoin gets far enough to use them (past the coin check before
// pairing).
type untouchable struct{ t *testing.T }

// SelectUTXOs answers: a sender looks for a coin before it pairs, and
// that touches nothing.
func (u untouchable) SelectUTXOs(_ context.Context, min amount.Sompi) ([]txbuild.UTXO, error) {
	return []txbuild.UTXO{{Entry: txbuild.UTXOEntry{Amount: min}}}, nil
}

func (u untouchable) ChangeAddress(context.Context) (address.Address, error) {
	u.t.Error("ChangeAddress called")
	return address.Address{}, errors.New("untouchable")
}

func (u untouchable) SignInput(context.Context, *txbuild.Transaction, []txbuild.UTXOEntry, int) error {
	u.t.Error("SignInput called")
	return errors.New("untouchable")
}

func (u untouchable) LookupUTXO(context.Context, address.Address, txbuild.Outpoint) (txbuild.UTXOEntry, error) {
	u.t.Error("LookupUTXO called")
	return txbuild.UTXOEntry{}, errors.New("untouchable")
}

func (u untouchable) FeeRate(context.Context) (txbuild.FeeRate, error) {
	u.t.Error("FeeRate called")
	return 0, errors.New("untouchable")
}

func (u untouchable) SubmitTransaction(context.Context, *txbuild.Transaction) (txbuild.Hash, error) {
	u.t.Error("SubmitTransaction called")
	return txbuild.Hash{}, errors.New("untouchable")
}

func busyURI(t *testing.T, relayURL string) string {
	t.Helper()
	key, err := kpp.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	to, err := address.Parse("kaspadev:qzur08m4mgq7wtnm5yq23kjtg7sdlqxa4cg76m3ffq33ys0j38uv2kh9swy3m")
	if err != nil {
		t.Fatal(err)
	}
	return kpp.PaymentRequest{Address: to, Amount: amount.SompiPerKAS, Payload: "kpp", RelayURL: relayURL, Key: key}.URI()
}

// TestRelayBusy: a relay that refuses the upgrade for now (a real relay at
// its per-address limit, 429; one at its total limit, 503) gives the
// sender a *BusyError matching ErrRelayBusy and ErrRelay, with the
// relay's Retry-After and text, before anything is asked of the wallet.
func TestRelayBusy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := kpp.SenderConfig{Network: address.Devnet, Wallet: untouchable{t}, Chain: untouchable{t}}

	for _, tc := range []struct {
		name      string
		perIP     int
		total     int
		status    int
		message   string
		retryWait time.Duration
	}{
		{"per-address limit", 1, 100, http.StatusTooManyRequests, "kloak relay: too many connections from your address", 30 * time.Second},
		{"total limit", 100, 1, http.StatusServiceUnavailable, "kloak relay: too many connections, try again later", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fee, err := address.Parse("kaspadev:qzur08m4mgq7wtnm5yq23kjtg7sdlqxa4cg76m3ffq33ys0j38uv2kh9swy3m")
			if err != nil {
				t.Fatal(err)
			}
			r := testkit.StartRelay(t, relay.Config{
				FeeAddresses:        relay.FeeAddressFunc(func(context.Context) (address.Address, error) { return fee, nil }),
				MaxConnections:      tc.total,
				MaxConnectionsPerIP: tc.perIP,
				Logger:              slog.New(slog.DiscardHandler),
			})
			srv, url := r.Server, r.URL

			// One connection fills the limit.
			held, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer held.CloseNow()
			for srv.Stats().Connections == 0 {
				time.Sleep(time.Millisecond)
			}

			_, err = kpp.SenderPrepare(ctx, busyURI(t, url), cfg)
			var busy *kpp.BusyError
			if !errors.As(err, &busy) || !errors.Is(err, kpp.ErrRelayBusy) || !errors.Is(err, kpp.ErrRelay) {
				t.Fatalf("SenderPrepare: %v, want a *BusyError matching ErrRelayBusy and ErrRelay", err)
			}
			if busy.StatusCode != tc.status || busy.Message != tc.message || busy.RetryAfter != tc.retryWait ||
				!strings.HasPrefix(busy.URL, "ws://127.0.0.1:") {
				t.Errorf("BusyError = %+v", busy)
			}
			if !strings.Contains(err.Error(), "try again in 30s") {
				t.Errorf("error %q does not say when to try again", err)
			}
		})
	}
}

// TestRelayBusyHostile: the refusal's text and Retry-After come from the
// relay; a hostile one cannot put control characters or a long text into
// the wallet's error, nor ask it to wait for years.
func TestRelayBusyHostile(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "99999999")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("\x1b[31mred\x1b[0m " + strings.Repeat("x", 5000) + "\nsecond line"))
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := kpp.SenderConfig{Network: address.Devnet, Wallet: untouchable{t}, Chain: untouchable{t}}
	_, err := kpp.SenderPrepare(ctx, busyURI(t, "ws"+strings.TrimPrefix(ts.URL, "http")+"/kpp"), cfg)
	var busy *kpp.BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("SenderPrepare: %v, want a *BusyError", err)
	}
	if strings.ContainsAny(busy.Message, "\x1b\n") || len(busy.Message) > 200 || !strings.HasPrefix(busy.Message, "[31mred") {
		t.Errorf("Message = %q", busy.Message)
	}
	if busy.RetryAfter != time.Hour {
		t.Errorf("RetryAfter = %s, want capped at 1h", busy.RetryAfter)
	}

	// Other refusals stay plain relay errors.
	ts2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusForbidden)
	}))
	defer ts2.Close()
	_, err = kpp.SenderPrepare(ctx, busyURI(t, "ws"+strings.TrimPrefix(ts2.URL, "http")+"/kpp"), cfg)
	if !errors.Is(err, kpp.ErrRelay) || errors.Is(err, kpp.ErrRelayBusy) || !strings.Contains(err.Error(), "403") {
		t.Errorf("HTTP 403: %v, want ErrRelay naming the status, not busy", err)
	}
}

// TestSenderWaitsForRelayHold: a relay may hold a sender that came before
// its receiver for up to kpp.MaxSenderHold before it answers; a sender
// whose Timeouts.Step is shorter still waits for the answer (here the
// relay's notice after 3 s) instead of timing out.
func TestSenderWaitsForRelayHold(t *testing.T) {
	const hold = 3 * time.Second
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if _, _, err := c.Read(ctx); err != nil { // the handshake
			return
		}
		time.Sleep(hold)
		notice := kpp.RelayError{Code: kpp.ErrTextNoReceiver}
		c.Write(ctx, websocket.MessageText, notice.Marshal())
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := kpp.SenderConfig{Network: address.Devnet, Wallet: untouchable{t}, Chain: untouchable{t},
		Timeouts: kpp.Timeouts{Step: time.Second, PairRetry: -1}}
	began := time.Now()
	_, err := kpp.SenderPrepare(ctx, busyURI(t, "ws"+strings.TrimPrefix(ts.URL, "http")+"/kpp"), cfg)
	var re *kpp.RelayError
	if !errors.As(err, &re) || re.Code != kpp.ErrTextNoReceiver {
		t.Fatalf("SenderPrepare: %v, want the relay's notice", err)
	}
	if took := time.Since(began); took < hold {
		t.Errorf("answered after %s, before the relay's hold of %s", took, hold)
	}
}

// poorWallet has no coin large enough.
type poorWallet struct{ untouchable }

func (poorWallet) SelectUTXOs(context.Context, amount.Sompi) ([]txbuild.UTXO, error) {
	return nil, errors.New("insufficient funds: the largest holds 1 KAS")
}

// A payer whose coins cannot cover the payment learns it before it pairs:
// the relay sees no connection, so no receiver waits, signs or reserves
// for it.
func TestSenderWithoutFundsDoesNotPair(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer srv.Close()
	key, err := kpp.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	to, err := address.Decode("kaspadev:qqd6e65yefepe9wk0m9vuxdufxd80sphy67gwwd0vdaumzdt4tc9sa7wfdavm", address.Devnet)
	if err != nil {
		t.Fatal(err)
	}
	uri := kpp.PaymentRequest{Address: to, Amount: 10 * amount.SompiPerKAS, Payload: "kpp", RelayURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/kpp", Key: key}.URI()
	w := poorWallet{untouchable{t}}
	_, err = kpp.SenderPrepare(context.Background(), uri, kpp.SenderConfig{Network: address.Devnet, Wallet: w, Chain: w})
	if err == nil || !strings.Contains(err.Error(), "before pairing") || !strings.Contains(err.Error(), "the largest holds 1 KAS") {
		t.Fatalf("SenderPrepare: %v, want a refusal before pairing", err)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the sender connected to the relay %d time(s)", n)
	}
}
