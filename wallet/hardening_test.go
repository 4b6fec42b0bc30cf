package wallet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// TestOpenHostileFiles fills the gaps around TestOpenWrongPassword,
// TestOpenCorrupt and TestOpenNewerVersion: a missing, empty or oversized
// file, a newer version opened with the wrong password, and a header with
// a valid checksum that asks scrypt for more memory than the limit, which
// must be refused before scrypt runs.
func TestOpenHostileFiles(t *testing.T) {
	path, _ := createTestWallet(t, CreateOptions{})
	dir := filepath.Dir(path)
	pw := []byte("correct horse")

	if _, err := Open(filepath.Join(dir, "missing"), pw); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(empty, pw); !errors.Is(err, ErrCorrupt) {
		t.Errorf("empty file: %v, want ErrCorrupt", err)
	}
	huge := filepath.Join(dir, "huge")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	_, _ = f.Write(good)
	if err := f.Truncate(maxFileSize + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	if _, err := Open(huge, pw); !errors.Is(err, ErrCorrupt) {
		t.Errorf("file over %d bytes: %v, want ErrCorrupt", maxFileSize, err)
	}

	newer := bytes.Clone(good)
	binary.BigEndian.PutUint16(newer[offVersion:], fileVersion+1)
	if _, err := openBytes(newer, []byte("wrong")); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("newer version, wrong password: %v, want ErrUnsupportedVersion (the version says it all)", err)
	}

	for _, s := range []ScryptParams{{LogN: 30, R: 8, P: 1}, {LogN: 20, R: 1 << 20, P: 1}, {LogN: 10, R: 8, P: 1 << 20}, {LogN: 0, R: 8, P: 1}} {
		bad := bytes.Clone(good)
		bad[offKDF+1] = s.LogN
		binary.BigEndian.PutUint32(bad[12:], s.R)
		binary.BigEndian.PutUint32(bad[16:], s.P)
		sum := sha256.Sum256(bad[:offHeaderSum])
		copy(bad[offHeaderSum:], sum[:headerSumLen])
		began := time.Now()
		_, err := openBytes(bad, pw)
		if !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrScryptParams) {
			t.Errorf("scrypt %+v: %v, want ErrCorrupt wrapping ErrScryptParams", s, err)
		}
		if d := time.Since(began); d > time.Second {
			t.Errorf("scrypt %+v: refused after %v: it ran the KDF", s, d)
		}
	}
}

// TestOpenRemovesStaleTemps: the temporary file a killed save leaves
// (TestSaveKilled) survives an Open with the wrong password, which proves
// nothing about who owns the wallet, and goes with the right one; other
// files in the directory stay.
func TestOpenRemovesStaleTemps(t *testing.T) {
	path, w := createTestWallet(t, CreateOptions{})
	w.Close()
	stale := filepath.Join(filepath.Dir(path), tempPrefix(path)+"123456")
	other := filepath.Join(filepath.Dir(path), tempPrefix(path)+"notmine")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("half a save"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(path, []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("a wrong password removed the temporary file: %v", err)
	}
	o, err := Open(path, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open left the stale temporary file: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Open removed a file that is not one of its temporary files: %v", err)
	}
}

// TestImportPythonWalletTooLarge: a Python wallet file over the size cap is
// refused before scrypt and before anything proportional to it is
// allocated (cmd/kloaknode reads the file with the same cap).
func TestImportPythonWalletTooLarge(t *testing.T) {
	big := make([]byte, maxFileSize+1)
	if _, err := ImportPythonWallet(big, []byte(pythonFixturePassword)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%d bytes: %v, want ErrCorrupt", len(big), err)
	}
}

func isZero(b []byte) bool { return len(b) > 0 && bytes.Equal(b, make([]byte, len(b))) }

// TestKeysZeroed holds on to the bytes of every secret the package wipes
// and checks that they are all zeros afterwards: Key.Zero, ExtendedKey.Zero,
// PythonWallet.Zero, and Wallet.Close (the file key, both chain keys of the
// account, imported legacy keys). Go's runtime and encoding/json may have
// made copies this cannot reach (see the package documentation).
func TestKeysZeroed(t *testing.T) {
	seed, err := SeedFromMnemonic(testMnemonic, "")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := NewAccount(seed, 0, address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	k, err := acct.Receive(7)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := k.PrivateKey()
	copyOfK := k
	k.Zero()
	if !isZero(priv) {
		t.Error("Key.Zero left the private key")
	}
	if p, _ := copyOfK.PrivateKey(); !isZero(p) {
		t.Error("Key.Zero left a copy's private key (copies share it)")
	}

	master, err := NewMasterKey(seed, address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	mpriv := master.priv
	master.Zero()
	if !isZero(mpriv) {
		t.Error("ExtendedKey.Zero left the private key")
	}

	_, w := createTestWallet(t, CreateOptions{})
	py := loadPythonFixture(t)
	if err := w.ImportLegacyKeys(py.Keys); err != nil {
		t.Fatal(err)
	}
	pyPriv, _ := py.Keys[0].PrivateKey()
	py.Zero()
	if !isZero(pyPriv) {
		t.Error("PythonWallet.Zero left a private key")
	}
	legacy, err := w.LegacyKeys()
	if err != nil || len(legacy) == 0 {
		t.Fatal(err)
	}
	legacyPriv, _ := legacy[0].PrivateKey()
	fileKey := w.key.key
	wacct, _ := w.Account()
	receive, change := wacct.receive.priv, wacct.change.priv
	for name, b := range map[string][]byte{"file key": fileKey, "receive chain key": receive, "change chain key": change, "legacy key": legacyPriv} {
		if isZero(b) {
			t.Fatalf("%s is zero before Close", name)
		}
	}
	w.Close()
	for name, b := range map[string][]byte{"file key": fileKey, "receive chain key": receive, "change chain key": change, "legacy key": legacyPriv} {
		if !isZero(b) {
			t.Errorf("Close left the %s", name)
		}
	}
}

// TestFundsKeepsNoKey: after Funds signs (SignInput, Send), nothing
// reachable from the Funds holds the private key it signed with: the key
// is derived for the signature and wiped after.
func TestFundsKeepsNoKey(t *testing.T) {
	_, w := createTestWallet(t, CreateOptions{Network: address.Testnet})
	acct, _ := w.Account()
	k, err := acct.Receive(0)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := k.PrivateKey()
	leaf = bytes.Clone(leaf)
	k.Zero()

	src := &bytesSource{addr: k.Address}
	f := w.Funds(src, FundsOptions{})
	tx := &txbuild.Transaction{
		Inputs:  []txbuild.Input{{PreviousOutpoint: src.utxo().Outpoint, SigOpCount: 1}},
		Outputs: []txbuild.Output{{Amount: 4 * amount.SompiPerKAS, ScriptPublicKey: k.Address.ScriptPublicKey()}},
	}
	if err := f.SignInput(context.Background(), tx, []txbuild.UTXOEntry{src.utxo().Entry}, 0); err != nil {
		t.Fatal(err)
	}
	if len(tx.Inputs[0].SignatureScript) == 0 {
		t.Fatal("not signed")
	}
	if path, found := holds(reflect.ValueOf(f), leaf, map[uintptr]bool{}); found {
		t.Errorf("after signing, the Funds holds the private key at %s", path)
	}
	// The finder works: the key is found where it is.
	if _, found := holds(reflect.ValueOf(&struct{ k []byte }{leaf}), leaf, map[uintptr]bool{}); !found {
		t.Fatal("holds cannot find a key")
	}
}

// bytesSource holds one UTXO of 5 KAS on addr.
type bytesSource struct{ addr address.Address }

func (s *bytesSource) utxo() txbuild.UTXO {
	id, _ := txbuild.ParseHash("aa00000000000000000000000000000000000000000000000000000000000000")
	return txbuild.UTXO{Address: s.addr, Outpoint: txbuild.Outpoint{TransactionID: id},
		Entry: txbuild.UTXOEntry{Amount: 5 * amount.SompiPerKAS, ScriptPublicKey: s.addr.ScriptPublicKey()}}
}

func (s *bytesSource) UTXOsByAddresses(_ context.Context, addrs []address.Address) ([]txbuild.UTXO, error) {
	for _, a := range addrs {
		if a.Equal(s.addr) {
			return []txbuild.UTXO{s.utxo()}, nil
		}
	}
	return nil, nil
}

// holds reports whether secret appears in any byte slice, byte array or
// string reachable from v, and where.
func holds(v reflect.Value, secret []byte, seen map[uintptr]bool) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		if v.Kind() == reflect.Pointer {
			if seen[v.Pointer()] {
				return "", false
			}
			seen[v.Pointer()] = true
		}
		p, ok := holds(v.Elem(), secret, seen)
		return "*" + p, ok
	case reflect.Struct:
		for i := range v.NumField() {
			if p, ok := holds(v.Field(i), secret, seen); ok {
				return v.Type().Field(i).Name + "." + p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			return v.Type().String(), bytes.Contains(b, secret)
		}
		for i := range v.Len() {
			if p, ok := holds(v.Index(i), secret, seen); ok {
				return "[]" + p, true
			}
		}
	case reflect.String:
		return "string", bytes.Contains([]byte(v.String()), secret)
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if p, ok := holds(it.Key(), secret, seen); ok {
				return "key " + p, true
			}
			if p, ok := holds(it.Value(), secret, seen); ok {
				return "value " + p, true
			}
		}
	}
	return "", false
}
