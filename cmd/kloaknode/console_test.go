package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/node"
	"github.com/kloakprotocol/kloak/relay"
	"github.com/kloakprotocol/kloak/txbuild"
	"github.com/kloakprotocol/kloak/wallet"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
		err  error
	}{
		{"", nil, nil},
		{"   \t ", nil, nil},
		{"status", []string{"status"}, nil},
		{"  SWEEP  kaspa:qq  --reserve 1.5 ", []string{"SWEEP", "kaspa:qq", "--reserve", "1.5"}, nil},
		{`sweep "kaspa:qq"`, []string{"sweep", "kaspa:qq"}, nil},
		{`a 'b c' "d e" f\ g`, []string{"a", "b c", "d e", "f g"}, nil},
		{`'' ""`, []string{"", ""}, nil},
		{`"a \"q\" \\ \n"`, []string{`a "q" \ \n`}, nil},
		{`'a \n'`, []string{`a \n`}, nil},
		{`x"y"'z'`, []string{"xyz"}, nil},
		{`sweep "kaspa:qq`, nil, errUnclosedQuote},
		{`it's`, nil, errUnclosedQuote},
		{"status\r", []string{"status"}, nil},
	} {
		got, err := splitWords(tc.line)
		if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q, %v", tc.line, got, err, tc.want, tc.err)
		}
	}
}

// fakeChain is kaspad for console tests.
type fakeChain struct {
	info      node.ServerInfo
	utxos     []txbuild.UTXO // the UTXO index
	submitted []*txbuild.Transaction
}

func (f *fakeChain) ServerInfo(context.Context) (node.ServerInfo, error) { return f.info, nil }
func (f *fakeChain) FeeRate(context.Context) (txbuild.FeeRate, error) {
	return txbuild.SompiPerGram(1), nil
}
func (f *fakeChain) VirtualDAAScore(context.Context) (uint64, error) { return f.info.VirtualDAA, nil }
func (f *fakeChain) UTXOsByAddresses(_ context.Context, addrs []address.Address) ([]txbuild.UTXO, error) {
	var out []txbuild.UTXO
	for _, u := range f.utxos {
		for _, a := range addrs {
			if u.Address.Equal(a) {
				out = append(out, u)
			}
		}
	}
	return out, nil
}
func (f *fakeChain) SubmitTransaction(_ context.Context, tx *txbuild.Transaction) (txbuild.Hash, error) {
	f.submitted = append(f.submitted, tx)
	return tx.ID(), nil
}

// fakeCoins is a wallet holding utxos, for console tests; Send builds an
// unsigned transaction of the same shape as wallet.Funds.Send's.
type fakeCoins struct {
	utxos    []txbuild.UTXO
	maturing amount.Sompi
	fresh    address.Address
	sent     []amount.Sompi
}

func (f *fakeCoins) Balances(context.Context) (wallet.Balances, error) {
	var b wallet.Balances
	for _, u := range f.utxos {
		b.Spendable += u.Entry.Amount
	}
	b.Maturing = f.maturing
	return b, nil
}
func (f *fakeCoins) UTXOs(context.Context) ([]txbuild.UTXO, error) { return f.utxos, nil }
func (f *fakeCoins) ChangeAddress(context.Context) (address.Address, error) {
	return f.fresh, nil
}
func (f *fakeCoins) Send(_ context.Context, to address.Address, amt amount.Sompi, rate txbuild.FeeRate, policy txbuild.Policy) (*txbuild.Transaction, []txbuild.UTXOEntry, error) {
	f.sent = append(f.sent, amt)
	tx := &txbuild.Transaction{}
	var entries []txbuild.UTXOEntry
	var in amount.Sompi
	for _, u := range f.utxos[:min(len(f.utxos), maxSweepInputs)] {
		tx.Inputs = append(tx.Inputs, txbuild.Input{PreviousOutpoint: u.Outpoint, SigOpCount: 1, SignatureScript: make([]byte, 66)})
		entries = append(entries, u.Entry)
		in += u.Entry.Amount
	}
	// The fee of the transaction with change, settled as Send settles it.
	var fee amount.Sompi
	for range 32 {
		if in < amt+fee {
			return nil, nil, wallet.ErrInsufficientFunds
		}
		tx.Outputs = []txbuild.Output{{Amount: amt, ScriptPublicKey: to.ScriptPublicKey()}}
		if change := in - amt - fee; change > 0 {
			tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: change, ScriptPublicKey: entries[0].ScriptPublicKey})
		}
		m, err := txbuild.CalcMasses(tx, entries)
		if err != nil {
			return nil, nil, err
		}
		need := amount.Sompi(policy.RequiredFee(tx, m, rate))
		if need <= fee {
			break
		}
		fee = need
	}
	return tx, entries, nil
}

type fakeRelay relay.Stats

func (f fakeRelay) Stats() relay.Stats { return relay.Stats(f) }

type fakePulser struct {
	status pulseStatus
	err    error
}

func (f *fakePulser) PulseNow(context.Context) (txbuild.Hash, error) {
	if f.err != nil {
		return txbuild.Hash{}, f.err
	}
	f.status.Sent++
	f.status.LastTx = txbuild.Hash{0xab}
	f.status.LastAt = time.Date(2030, 1, 2, 2, 54, 5, 0, time.UTC)
	return f.status.LastTx, nil
}
func (f *fakePulser) Status() pulseStatus { return f.status }

// devAddress returns receive address i of a throw-away devnet account.
func devAddress(t *testing.T, i uint32) address.Address {
	return addressOn(t, address.Devnet, i)
}

func addressOn(t *testing.T, net address.Network, i uint32) address.Address {
	t.Helper()
	seed, err := wallet.SeedFromMnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := wallet.NewAccount(seed, 7, net)
	if err != nil {
		t.Fatal(err)
	}
	k, err := acct.Receive(i)
	if err != nil {
		t.Fatal(err)
	}
	k.Zero()
	return k.Address
}

func coinsOf(t *testing.T, kas ...float64) []txbuild.UTXO {
	own := devAddress(t, 0)
	var out []txbuild.UTXO
	for i, k := range kas {
		out = append(out, txbuild.UTXO{
			Address:  own,
			Outpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{byte(i), byte(i >> 8), 1}, Index: uint32(i)},
			Entry:    txbuild.UTXOEntry{Amount: amount.Sompi(k * amount.SompiPerKAS), ScriptPublicKey: own.ScriptPublicKey()},
		})
	}
	return out
}

// consoleSession runs a console on input and returns what it printed.
func consoleSession(t *testing.T, c *console, input string) string {
	t.Helper()
	var out bytes.Buffer
	c.out = &out
	c.in = newLineInput(strings.NewReader(input))
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.run(ctx)
	return out.String()
}

func newTestConsole(t *testing.T, coins *fakeCoins, p pulser) (*console, *fakeChain) {
	ch := &fakeChain{info: node.ServerInfo{Version: "0.12.23", Network: "kaspa-devnet", Synced: true, UTXOIndex: true, VirtualDAA: 4242}}
	return &console{
		network: address.Devnet, relayURL: "ws://127.0.0.1:8765/kpp", kaspadAddr: "127.0.0.1:16610",
		chain: ch, funds: coins, relay: fakeRelay{Connections: 3, Pending: 1, Waiting: 1, Bridged: 1, Served: 7}, pulses: p,
	}, ch
}

func TestConsoleCommands(t *testing.T) {
	coins := &fakeCoins{utxos: coinsOf(t, 10, 2.5), maturing: 500 * amount.SompiPerKAS, fresh: devAddress(t, 5)}
	c, _ := newTestConsole(t, coins, nil)
	out := consoleSession(t, c, "HELP\n?\nstatus\nBalance\nsessions\npulse\nfundaddr\nfrobnicate\n\n'unclosed\n")
	for _, want := range []string{
		"> Commands (case does not matter):",
		"  sweep ADDRESS [--reserve KAS]   send all but the reserve",
		"  help, ?                         this list",
		"Relay:     ws://127.0.0.1:8765/kpp\n",
		"Network:   devnet\n",
		"kaspad:    127.0.0.1:16610, version 0.12.23, synced, DAA score 4242\n",
		"Pulses:    not configured\n",
		"Sessions:  3 connections, 1 receivers waiting, 1 senders waiting, 1 sessions bridged, 7 paired since start\n",
		"Balance:   512.5 KAS (12.5 spendable, 500 maturing)\n",
		"Spendable: 12.5 KAS\nMaturing:  500 KAS (mined coins not yet spendable)\nAddresses with spendable funds: 1\n",
		"Connections:        3\nReceivers waiting:  1\nSenders waiting:    1 (arrived before their receiver)\nSessions bridged:   1\nPaired since start: 7\n",
		"Pulses are not configured on this node.\n",
		"Fund address: " + devAddress(t, 5).String() + "\n",
		"> Unknown command. Type 'help'.\n",
		"unclosed quote. Type 'help'.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Commands (case does not matter)"); n != 2 {
		t.Errorf("help printed %d times, want 2 (help and ?)", n)
	}
	if !strings.HasSuffix(out, "> \n") {
		t.Errorf("output does not end with the last prompt and a newline at end of input: %q", out[max(0, len(out)-40):])
	}
}

func TestConsolePulse(t *testing.T) {
	next := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &fakePulser{status: pulseStatus{NextAt: next}}
	c, _ := newTestConsole(t, &fakeCoins{}, p)
	out := consoleSession(t, c, "pulse\nstatus\n")
	for _, want := range []string{
		"Pulse requested.\nPulse sent: ab00000000000000000000000000000000000000000000000000000000000000\n",
		"Pulses:    1 sent, last 2030-01-02 02:54:05 (ab000000",
		", next 2030-01-02 03:04:05\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	p.err = errors.New("no UTXO")
	p.status.PayloadRefused = true
	p.status.LastErr = p.err
	out = consoleSession(t, c, "pulse\nstatus\n")
	for _, want := range []string{
		"Pulse requested.\npulse failed: no UTXO\n",
		"; kaspad refuses transaction payloads, so no pulse can be sent; last attempt failed: no UTXO\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
}

func TestConsoleSweepAsksFirst(t *testing.T) {
	coins := &fakeCoins{utxos: coinsOf(t, 10, 2.5)}
	c, ch := newTestConsole(t, coins, nil)
	dest := devAddress(t, 9)
	out := consoleSession(t, c, "sweep "+dest.String()+"\nn\nsweep "+dest.String()+" --reserve=0.5\nY\n")
	if len(ch.submitted) != 1 {
		t.Fatalf("%d transactions submitted, want 1 (the second sweep):\n%s", len(ch.submitted), out)
	}
	plan, err := planSweep(coins.utxos, dest, 2*amount.SompiPerKAS, txbuild.SompiPerGram(1), txbuild.PolicyFor(address.Devnet))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Sweep " + plan.Amount.KAS() + " KAS to " + dest.String() + "? [y/N] Sweep cancelled.\n",
		"Spends 2 of 2 coins (12.5 KAS spendable); fee ",
		"Sweep broadcast: " + ch.submitted[0].ID().String() + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	tx := ch.submitted[0]
	if got := tx.Outputs[0]; !got.ScriptPublicKey.Equal(dest.ScriptPublicKey()) || got.Amount != coins.sent[1] {
		t.Errorf("submitted output %+v, want %s to %s", got, coins.sent[1], dest)
	}
	// The reserve stays, give or take the sompi the fee settles on.
	if len(tx.Outputs) != 2 || tx.Outputs[1].Amount < amount.SompiPerKAS/2 || tx.Outputs[1].Amount > amount.SompiPerKAS/2+10 {
		t.Errorf("change %+v, want 0.5 KAS", tx.Outputs[1:])
	}
	if !strings.Contains(out, "KAS stays in the node wallet.\n") {
		t.Errorf("sweep does not say what stays:\n%s", out)
	}
}

func TestConsoleSweepRefusals(t *testing.T) {
	c, ch := newTestConsole(t, &fakeCoins{utxos: coinsOf(t, 1.5)}, nil)
	mainnet := addressOn(t, address.Mainnet, 0).String()
	out := consoleSession(t, c, strings.Join([]string{
		"sweep",
		"sweep a b",
		"sweep notanaddress",
		"sweep " + mainnet,
		"sweep " + devAddress(t, 1).String() + " --reserve",
		"sweep " + devAddress(t, 1).String() + " --reserve -1",
		"sweep " + devAddress(t, 1).String() + " --force",
		"sweep " + devAddress(t, 1).String(),
	}, "\n")+"\n")
	for _, want := range []string{
		"> " + sweepUsage + "\n> " + sweepUsage + "\n",
		`"notanaddress": `,
		"is a mainnet address; the node runs on devnet\n",
		"--reserve needs an amount of KAS",
		"--reserve: ",
		"unknown option --force",
		"Nothing to sweep: the node wallet holds 1.5 KAS spendable, not more than the 2 KAS reserve.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	if len(ch.submitted) != 0 {
		t.Fatal("a refused sweep submitted a transaction")
	}
}

func TestPlanSweep(t *testing.T) {
	dest := devAddress(t, 3)
	policy := txbuild.PolicyFor(address.Devnet)
	rate := txbuild.SompiPerGram(1)
	many := make([]float64, 100)
	for i := range many {
		many[i] = 100 - float64(i)*0.5 // largest first, as Funds.UTXOs
	}
	for _, tc := range []struct {
		name    string
		utxos   []txbuild.UTXO
		reserve amount.Sompi
		inputs  int
		keep    amount.Sompi // change the spent UTXOs keep
		nothing bool
	}{
		{"reserve as change", coinsOf(t, 10, 5), defaultReserve, 2, defaultReserve, false},
		{"no reserve", coinsOf(t, 10, 5), 0, 2, 0, false},
		{"tiny change raised to 0.2 KAS", coinsOf(t, 10), 1_000, 1, 20_000_000, false},
		{"reserve above balance", coinsOf(t, 1, 0.5), defaultReserve, 2, 0, true},
		{"no coins", nil, 0, 0, 0, true},
		{"more than 80 coins", coinsOf(t, many...), defaultReserve, 80, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planSweep(tc.utxos, dest, tc.reserve, rate, policy)
			if tc.nothing {
				if !errors.Is(err, errNothingToSweep) {
					t.Fatalf("err %v, want errNothingToSweep", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var in amount.Sompi
			for _, u := range tc.utxos[:p.Inputs] {
				in += u.Entry.Amount
			}
			if p.Inputs != tc.inputs || p.Left != len(tc.utxos)-tc.inputs {
				t.Fatalf("plan %+v, want %d inputs", p, tc.inputs)
			}
			if got := in - p.Amount - p.Fee; got != tc.keep {
				t.Fatalf("keeps %s, want %s (plan %+v)", got, tc.keep, p)
			}
			// The fee is what the network asks of the signed transaction.
			tx := &txbuild.Transaction{}
			var entries []txbuild.UTXOEntry
			for _, u := range tc.utxos[:p.Inputs] {
				tx.Inputs = append(tx.Inputs, txbuild.Input{PreviousOutpoint: u.Outpoint, SigOpCount: 1, SignatureScript: make([]byte, 66)})
				entries = append(entries, u.Entry)
			}
			tx.Outputs = []txbuild.Output{{Amount: p.Amount, ScriptPublicKey: dest.ScriptPublicKey()}}
			if tc.keep > 0 {
				tx.Outputs = append(tx.Outputs, txbuild.Output{Amount: tc.keep, ScriptPublicKey: entries[0].ScriptPublicKey})
			}
			m, err := txbuild.CalcMasses(tx, entries)
			if err != nil {
				t.Fatal(err)
			}
			if need := amount.Sompi(policy.RequiredFee(tx, m, rate)); p.Fee != need {
				t.Fatalf("fee %d, the transaction needs %d", p.Fee, need)
			}
			if m.Compute > txbuild.MaximumStandardMass || m.Storage > txbuild.MaximumStandardMass {
				t.Fatalf("masses %+v over the standard budget", m)
			}
		})
	}
}

// TestDrawQR reads the drawing back into modules and compares them with
// the encoder's.
func TestDrawQR(t *testing.T) {
	text := devAddress(t, 0).String()
	drawn, err := drawQR(text)
	if err != nil {
		t.Fatal(err)
	}
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	q.DisableBorder = true
	want := q.Bitmap()
	n := len(want) + 2*qrBorder
	lines := strings.Split(strings.TrimSuffix(drawn, "\n"), "\n")
	if len(lines) != (n+1)/2 {
		t.Fatalf("%d lines for %d module rows", len(lines), n)
	}
	for y, line := range lines {
		cells := []rune(line)
		if len(cells) != n {
			t.Fatalf("line %d has %d cells, want %d", y, len(cells), n)
		}
		for x, r := range cells {
			top := strings.ContainsRune("█▀", r)
			bottom := strings.ContainsRune("█▄", r)
			for dy, light := range []bool{top, bottom} {
				row := 2*y + dy
				if row >= n {
					if light {
						t.Fatalf("cell %d,%d draws below the code", x, y)
					}
					continue
				}
				mx, my := x-qrBorder, row-qrBorder
				dark := mx >= 0 && my >= 0 && mx < len(want) && my < len(want) && want[my][mx]
				if light == dark {
					t.Fatalf("module %d,%d: drawn light %v, encoder dark %v", mx, my, light, dark)
				}
			}
		}
	}
}

// fakeLegacy is a wallet's imported Python keys.
type fakeLegacy []wallet.LegacyKey

func (f fakeLegacy) LegacyKeys() ([]wallet.LegacyKey, error) { return f, nil }

func TestConsoleSweepLegacy(t *testing.T) {
	data, err := os.ReadFile(pythonFixture)
	if err != nil {
		t.Fatal(err)
	}
	py, err := wallet.ImportPythonWallet(data, []byte(pythonFixturePassword))
	if err != nil {
		t.Fatal(err)
	}
	defer py.Zero()
	c, ch := newTestConsole(t, &fakeCoins{}, nil)
	c.network = address.Mainnet
	c.maturity = 100
	// Coins on legacy addresses 0 and 2, one of them a coinbase output
	// too young to spend, and one on an address of someone else.
	coin := func(a address.Address, kas float64, n byte, coinbaseAt uint64) txbuild.UTXO {
		return txbuild.UTXO{Address: a, Outpoint: txbuild.Outpoint{TransactionID: txbuild.Hash{n}},
			Entry: txbuild.UTXOEntry{Amount: amount.Sompi(kas * amount.SompiPerKAS), ScriptPublicKey: a.ScriptPublicKey(),
				IsCoinbase: coinbaseAt != 0, BlockDAAScore: coinbaseAt}}
	}
	ch.utxos = []txbuild.UTXO{
		coin(py.Keys[0].Address, 1.25, 1, 0),
		coin(py.Keys[2].Address, 3, 2, 0),
		coin(py.Keys[2].Address, 500, 3, ch.info.VirtualDAA-10),
		coin(addressOn(t, address.Mainnet, 3), 7, 4, 0),
	}
	dest := addressOn(t, address.Mainnet, 9)

	out := consoleSession(t, c, "sweep --legacy "+dest.String()+"\ny\n")
	if !strings.Contains(out, "Nothing to sweep: this node has no legacy keys.") {
		t.Errorf("without legacy keys:\n%s", out)
	}
	c.legacy = fakeLegacy(py.Keys)
	out = consoleSession(t, c, "sweep --legacy "+dest.String()+" --reserve 1\nsweep "+dest.String()+" --legacy\ny\n")
	if len(ch.submitted) != 1 {
		t.Fatalf("%d transactions submitted, want 1:\n%s", len(ch.submitted), out)
	}
	tx := ch.submitted[0]
	fee := 4.25*amount.SompiPerKAS - tx.Outputs[0].Amount
	for _, want := range []string{
		"--legacy sweeps every legacy coin: no --reserve\n",
		"Spends 2 coins of 2 legacy addresses; fee " + amount.Sompi(fee).KAS() + " KAS.\n",
		"Sweep " + tx.Outputs[0].Amount.KAS() + " KAS from the legacy keys to " + dest.String() + "? [y/N] ",
		"Sweep broadcast: " + tx.ID().String(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	entries := []txbuild.UTXOEntry{ch.utxos[1].Entry, ch.utxos[0].Entry} // largest first
	if len(tx.Inputs) != 2 || len(tx.Outputs) != 1 || !tx.Outputs[0].ScriptPublicKey.Equal(dest.ScriptPublicKey()) ||
		tx.Inputs[0].PreviousOutpoint != ch.utxos[1].Outpoint || tx.Inputs[1].PreviousOutpoint != ch.utxos[0].Outpoint {
		t.Fatalf("sweep transaction %+v", tx)
	}
	if probs := txbuild.PolicyFor(address.Mainnet).Check(tx, entries, txbuild.SompiPerGram(1)); len(probs) > 0 {
		t.Fatalf("the legacy sweep breaks rules: %+v", probs)
	}
	if fee <= 0 || fee > amount.SompiPerKAS/100 {
		t.Fatalf("fee %s", amount.Sompi(fee))
	}

	// On another network than the legacy keys'.
	c.network = address.Devnet
	out = consoleSession(t, c, "sweep --legacy "+devAddress(t, 1).String()+"\n")
	if !strings.Contains(out, "Nothing to sweep: the 3 legacy keys are mainnet addresses; the node runs on devnet.\n") {
		t.Errorf("legacy sweep on devnet:\n%s", out)
	}
}
