package wallet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
)

const testMnemonic = "hunt bitter praise lift buyer topic crane leopard uniform network inquiry over grain pass match crush marine strike doll relax fortune trumpet sunny silk"

// cheapScrypt keeps tests fast; real wallets use the defaults.
var cheapScrypt = ScryptParams{LogN: 4, R: 8, P: 1}

func createTestWallet(t *testing.T, opts CreateOptions) (string, *Wallet) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wallet.kloak")
	if opts.Scrypt == (ScryptParams{}) {
		opts.Scrypt = cheapScrypt
	}
	w, err := Create(path, []byte("correct horse"), testMnemonic, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return path, w
}

func TestCreateOpen(t *testing.T) {
	created := time.Date(2026, 7, 1, 12, 0, 0, 123, time.UTC)
	path, _ := createTestWallet(t, CreateOptions{Network: address.Testnet, Account: 2, Passphrase: "extra words", Created: created})

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the wallet (no temporary file left)", len(entries))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunt", "bitter", "extra words", "mnemonic"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("wallet file contains %q in plaintext", secret)
		}
	}

	o, err := Open(path, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if m, _ := o.Mnemonic(); m != testMnemonic {
		t.Errorf("mnemonic %q", m)
	}
	if o.Network() != address.Testnet || !o.Created().Equal(created) || o.Path() != path {
		t.Errorf("network %v created %v path %s", o.Network(), o.Created(), o.Path())
	}
	acct, err := o.Account()
	if err != nil {
		t.Fatal(err)
	}
	if acct.Number() != 2 {
		t.Errorf("account %d", acct.Number())
	}
	// The BIP39 passphrase is kept: the account is that of the
	// passphrase-protected seed, not of the bare mnemonic.
	seed, _ := SeedFromMnemonic(testMnemonic, "extra words")
	want, _ := NewAccount(seed, 2, address.Testnet)
	if acct.ExtendedPublicKey() != want.ExtendedPublicKey() {
		t.Error("account differs from the mnemonic and passphrase")
	}
}

func TestCreateRefusesExistingFile(t *testing.T) {
	path, _ := createTestWallet(t, CreateOptions{})
	before, _ := os.ReadFile(path)
	m, _ := NewMnemonic(12)
	if _, err := Create(path, []byte("other"), m, CreateOptions{Scrypt: cheapScrypt}); !errors.Is(err, ErrExist) {
		t.Fatalf("Create over an existing file: %v, want ErrExist", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("existing wallet file changed")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("%d directory entries after refused create", len(entries))
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name     string
		mnemonic string
		opts     CreateOptions
		want     error
	}{
		{"bad mnemonic", "abandon abandon", CreateOptions{Scrypt: cheapScrypt}, ErrMnemonicWordCount},
		{"passphrase not NFKD", testMnemonic, CreateOptions{Scrypt: cheapScrypt, Passphrase: "caf\u00e9"}, ErrPassphraseNotNormalized},
		{"scrypt too costly", testMnemonic, CreateOptions{Scrypt: ScryptParams{LogN: 30, R: 8, P: 1}}, ErrScryptParams},
		{"scrypt zero r", testMnemonic, CreateOptions{Scrypt: ScryptParams{LogN: 4, R: 0, P: 1}}, ErrScryptParams},
		{"account too large", testMnemonic, CreateOptions{Scrypt: cheapScrypt, Account: HardenedOffset}, ErrIndexRange},
	} {
		path := filepath.Join(dir, tt.name)
		if _, err := Create(path, []byte("pw"), tt.mnemonic, tt.opts); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: file written anyway", tt.name)
		}
	}
}

func TestOpenWrongPassword(t *testing.T) {
	path, _ := createTestWallet(t, CreateOptions{})
	_, err := Open(path, []byte("correct horsE"))
	if !errors.Is(err, ErrWrongPassword) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong password: %v, want ErrWrongPassword only", err)
	}
}

// TestOpenCorrupt flips every bit of a wallet file and truncates it at
// every length: each damaged file must give ErrCorrupt (or, for the
// version field, ErrUnsupportedVersion), never ErrWrongPassword or success.
func TestOpenCorrupt(t *testing.T) {
	path, _ := createTestWallet(t, CreateOptions{Scrypt: ScryptParams{LogN: 1, R: 1, P: 1}})
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pw := []byte("correct horse")
	check := func(what string, data []byte, versionField bool) {
		t.Helper()
		_, err := openBytes(data, pw)
		switch {
		case err == nil:
			t.Errorf("%s: opened", what)
		case errors.Is(err, ErrCorrupt):
		case versionField && errors.Is(err, ErrUnsupportedVersion):
		default:
			t.Errorf("%s: %v, want ErrCorrupt", what, err)
		}
	}
	for i := range good {
		for bit := range 8 {
			bad := bytes.Clone(good)
			bad[i] ^= 1 << bit
			check("flip byte "+strconv.Itoa(i), bad, i == offVersion || i == offVersion+1)
		}
	}
	for n := range len(good) {
		check("truncate to "+strconv.Itoa(n), good[:n], false)
	}
	check("garbage", bytes.Repeat([]byte{0x5a}, 200), false)
	check("appended byte", append(bytes.Clone(good), 0), false)
}

func TestOpenNewerVersion(t *testing.T) {
	path, _ := createTestWallet(t, CreateOptions{})
	data, _ := os.ReadFile(path)
	binary.BigEndian.PutUint16(data[offVersion:], fileVersion+1)
	// A newer format may change everything after the version field.
	for _, d := range [][]byte{data, data[:offVersion+2]} {
		if _, err := openBytes(d, []byte("correct horse")); !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("newer version: %v, want ErrUnsupportedVersion", err)
		}
	}
}

func TestOpenBadContents(t *testing.T) {
	// A file sealed with the right key whose plaintext is not a wallet:
	// authenticated, but still corrupt.
	_, w := createTestWallet(t, CreateOptions{})
	for _, plain := range []string{"", "{", `{"mnemonic": "abandon"}`, `{"mnemonic": "` + testMnemonic + `", "network": "moon"}`, "null"} {
		data, err := seal(w.key, w.hdr, []byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openBytes(data, []byte("correct horse")); !errors.Is(err, ErrCorrupt) {
			t.Errorf("contents %q: %v, want ErrCorrupt", plain, err)
		}
	}
}

func TestReserve(t *testing.T) {
	path, w := createTestWallet(t, CreateOptions{Network: address.Testnet})
	acct, _ := w.Account()
	keys, err := w.ReserveReceive(3)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		want, _ := acct.Receive(uint32(i))
		if k.Index != uint32(i) || !k.Address.Equal(want.Address) {
			t.Errorf("reserved key %d: %d %v, want %v", i, k.Index, k.Address, want.Address)
		}
	}
	// rusty-kaspa's address_test_by_ktrv: receive address 1 of this mnemonic.
	if got := keys[1].Address.String(); got != "kaspatest:qrc2959g0pqda53glnfd238cdnmk24zxzkj8n5x83rkktx4h73dkc4ave6wyg" {
		t.Errorf("receive 1: %s", got)
	}
	if _, err := w.ReserveChange(2); err != nil {
		t.Fatal(err)
	}
	ch, err := w.ReserveChange(1)
	if err != nil {
		t.Fatal(err)
	}
	if ch[0].Index != 2 || !strings.HasSuffix(ch[0].Path, "/1/2") {
		t.Errorf("third change key %d %s", ch[0].Index, ch[0].Path)
	}
	if _, err := w.ReserveReceive(0); !errors.Is(err, ErrIndexRange) {
		t.Errorf("ReserveReceive(0): %v", err)
	}

	o, err := Open(path, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.NextReceiveIndex() != 3 || o.NextChangeIndex() != 3 {
		t.Fatalf("reopened: next %d %d, want 3 3", o.NextReceiveIndex(), o.NextChangeIndex())
	}
}

func TestReserveSaveFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := Create(filepath.Join(dir, "w"), []byte("pw"), testMnemonic, CreateOptions{Scrypt: cheapScrypt})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReserveReceive(5); err == nil {
		t.Fatal("reserve succeeded without a directory to save in")
	}
	if w.NextReceiveIndex() != 0 {
		t.Fatalf("failed save advanced the index to %d", w.NextReceiveIndex())
	}
}

func TestReserveConcurrent(t *testing.T) {
	_, w := createTestWallet(t, CreateOptions{})
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			keys, err := w.ReserveReceive(2)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				if seen[k.Address.String()] {
					t.Errorf("address %s handed out twice", k.Address)
				}
				seen[k.Address.String()] = true
			}
		})
	}
	wg.Wait()
	if w.NextReceiveIndex() != 16 || len(seen) != 16 {
		t.Fatalf("next %d, %d addresses", w.NextReceiveIndex(), len(seen))
	}
}

func TestClose(t *testing.T) {
	_, w := createTestWallet(t, CreateOptions{})
	acct, _ := w.Account()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReserveReceive(1); !errors.Is(err, ErrClosed) {
		t.Errorf("ReserveReceive after Close: %v", err)
	}
	if _, err := w.Mnemonic(); !errors.Is(err, ErrClosed) {
		t.Errorf("Mnemonic after Close: %v", err)
	}
	if !bytes.Equal(acct.receive.priv, make([]byte, 32)) {
		t.Error("Close left the account's chain key")
	}
}

func TestImportLegacyKeysIntoWallet(t *testing.T) {
	pw := loadPythonFixture(t)
	path, w := createTestWallet(t, CreateOptions{})
	if err := w.ImportLegacyKeys(pw.Keys); err != nil {
		t.Fatal(err)
	}
	if err := w.ImportLegacyKeys(pw.Keys[:1]); err != nil { // duplicate: skipped
		t.Fatal(err)
	}
	o, err := Open(path, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got, err := o.LegacyKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pw.Keys) {
		t.Fatalf("%d legacy keys after reopening, want %d", len(got), len(pw.Keys))
	}
	for i, k := range got {
		want := pw.Keys[i]
		gp, _ := k.PrivateKey()
		wp, _ := want.PrivateKey()
		if !k.Address.Equal(want.Address) || !bytes.Equal(gp, wp) || k.Purpose != want.Purpose || k.Used != want.Used || k.Path != want.Path {
			t.Errorf("legacy key %d: %+v, want %+v", i, k, want)
		}
	}
	data, _ := os.ReadFile(path)
	wp, _ := pw.Keys[0].PrivateKey()
	if bytes.Contains(data, wp) {
		t.Error("legacy private key in plaintext")
	}
}
