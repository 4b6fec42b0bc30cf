package kpp_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/internal/testkit"
	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/wallet"
)

// TestNoSecretsInLogsOrErrors runs a payjoin that completes and three that
// fail (the sender refuses the relay's fee, a thief's proposal is refused,
// the sender aborts after the receiver signed), plus a wallet opened with
// the wrong password, with every component logging at Debug level into
// one sink: both relays' Config.Logger, the node clients' Options.Logger,
// and slog's default logger. Neither the logs nor any error returned
// contain a secret: three consecutive words of any wallet's mnemonic, a
// wallet password, the hex of any private key of the wallets' addresses,
// a session's E2EE key (base64url, base64, hex) or its full session id.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	var sink testkit.SyncBuffer // every log record of the test, at Debug level
	logger := slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger) // env's relay and node client log through it
	t.Cleanup(func() { slog.SetDefault(prev) })

	e := newEnv(t)
	rr := e.restartableRelay(t, logger)
	nc, err := node.Dial(e.ctx, e.dev.RPCAddress(), node.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	names := []string{"receiver", "sender", "thief"}
	ws := map[string]*wallet.Wallet{}
	for _, n := range names {
		ws[n] = e.wallet(n)
	}
	e.fund(50*amount.SompiPerKAS, ws["receiver"], ws["sender"], ws["thief"])
	funds := func(w *wallet.Wallet) *wallet.Funds {
		return w.Funds(nc, wallet.FundsOptions{CoinbaseMaturity: e.dev.SpendMaturity()})
	}

	var errs []error
	var keys []kpp.Key
	receive := func() (*kpp.Receiver, chan error) {
		r, err := kpp.ReceiverInitiate(e.ctx, kpp.ReceiverConfig{Network: address.Devnet, RelayURL: rr.url, Amount: testPayment,
			Wallet: funds(ws["receiver"]), Chain: nc, Timeouts: faultTimeouts})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, r.PaymentRequest().Key)
		done := make(chan error, 1)
		go func() { _, err := r.Wait(e.ctx); done <- err }()
		waitRelay(t, rr, 1)
		return r, done
	}
	prepare := func(r *kpp.Receiver, cfg kpp.SenderConfig) (*kpp.SenderProposal, error) {
		cfg.Network, cfg.Wallet, cfg.Chain, cfg.Timeouts = address.Devnet, funds(ws["sender"]), nc, faultTimeouts
		return kpp.SenderPrepare(e.ctx, r.URI(), cfg)
	}

	// A payjoin that completes.
	r, done := receive()
	p, err := prepare(r, kpp.SenderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.SignAndFinalize(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.dev.MineBlocks(e.ctx, e.miner.String(), 2); err != nil {
		t.Fatal(err)
	}
	e.settle(ws["receiver"], ws["sender"])

	// The sender refuses the relay's fee.
	r, done = receive()
	_, serr := prepare(r, kpp.SenderConfig{MaxNodeFee: 1})
	if !errors.Is(serr, kpp.ErrNodeFeeTooHigh) {
		t.Fatalf("sender: %v", serr)
	}
	errs = append(errs, serr, <-done)

	// A thief's proposal is refused; it is told why.
	r, done = receive()
	thief := e.evilSender(t, r.URI(), ws["thief"])
	sd, pj := thief.build()
	thief.propose(sd, steal(t, pj, sd, thief.offer), pj.ReceiverInput, pj.SenderInput)
	errs = append(errs, errors.New(thief.expectBroadcastError()), <-done)

	// The sender aborts after the receiver signed.
	r, done = receive()
	p, err = prepare(r, kpp.SenderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p.Abort(errors.New("the user cancelled"))
	rerr := <-done
	var se *kpp.SignedError
	if !errors.As(rerr, &se) {
		t.Fatalf("receiver: %v, want a *kpp.SignedError", rerr)
	}
	errs = append(errs, rerr)

	// A wallet opened with the wrong password, and with a password that
	// differs by one character.
	for _, n := range names {
		_, err := wallet.Open(ws[n].Path(), []byte("pw-"+n+"!"))
		if !errors.Is(err, wallet.ErrWrongPassword) {
			t.Fatalf("%s: %v", n, err)
		}
		errs = append(errs, err)
	}
	_, err = wallet.Open(filepath.Join(t.TempDir(), "none"), []byte("pw-receiver"))
	errs = append(errs, err)

	// Everything a user or an operator could be shown.
	var hay strings.Builder
	hay.WriteString(sink.String())
	for _, err := range errs {
		if err == nil {
			t.Fatal("an expected error is nil")
		}
		hay.WriteString("\n" + err.Error())
	}
	text := hay.String()
	lower := strings.ToLower(text)
	if !strings.Contains(text, "level=DEBUG") {
		t.Fatalf("no Debug record captured: the sink sees nothing?\n%s", text)
	}

	found := func(what, secret string, in string) {
		t.Helper()
		if secret != "" && strings.Contains(in, secret) {
			t.Errorf("%s appears in the logs or an error", what)
		}
	}
	nw := map[string]*wallet.Wallet{"node": e.nodeW}
	for n, w := range ws {
		nw[n] = w
	}
	checked := 0
	for n, w := range nw {
		m, err := w.Mnemonic()
		if err != nil {
			t.Fatal(err)
		}
		words := strings.Fields(m)
		for i := 0; i+3 <= len(words); i++ {
			found(n+"'s mnemonic (words "+words[i]+" …)", strings.Join(words[i:i+3], " "), lower)
		}
		found(n+"'s password", "pw-"+n, text)
		acct, err := w.Account()
		if err != nil {
			t.Fatal(err)
		}
		for chain, next := range []uint32{w.NextReceiveIndex(), w.NextChangeIndex()} {
			for i := uint32(0); i < next+wallet.DefaultLookahead; i++ {
				var k wallet.Key
				if chain == 0 {
					k, err = acct.Receive(i)
				} else {
					k, err = acct.Change(i)
				}
				if err != nil {
					t.Fatal(err)
				}
				priv, _ := k.PrivateKey()
				found(n+"'s private key "+k.Path, hex.EncodeToString(priv), lower)
				k.Zero()
				checked++
			}
		}
	}
	for i, k := range keys {
		session := "session " + string(rune('1'+i))
		found("the E2EE key of "+session+" (base64url)", base64.RawURLEncoding.EncodeToString(k[:]), text)
		found("the E2EE key of "+session+" (base64)", strings.TrimRight(base64.StdEncoding.EncodeToString(k[:]), "="), text)
		found("the E2EE key of "+session+" (hex)", hex.EncodeToString(k[:]), lower)
		found("the full session id of "+session, k.SessionID(), lower)
	}
	if testing.Verbose() {
		t.Logf("what was searched:\n%s", text)
	}
	if !t.Failed() {
		t.Logf("%d bytes of Debug logs and %d errors hold none of %d wallets' mnemonics and passwords, %d private keys, %d E2EE keys and session ids",
			len(sink.String()), len(errs), len(nw), checked, len(keys))
	}
}
