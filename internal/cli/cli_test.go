package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("a"), n), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		path    string
		wantLen int
		wantErr string
	}{
		{"empty", write("empty", 0), 0, ""},
		{"at the limit", write("limit", 16), 16, ""},
		{"one byte over", write("over", 17), 0, filepath.Join(dir, "over") + " is larger than 16 bytes"},
		{"missing", filepath.Join(dir, "missing"), 0, "no such file or directory"},
		{"a directory", dir, 0, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ReadFile(tc.path, 16)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(b) != tc.wantLen {
				t.Fatalf("%d bytes, %v; want %d", len(b), err, tc.wantLen)
			}
		})
	}
	var tooLarge *TooLargeError
	if _, err := ReadLimited(strings.NewReader("12345"), "standard input", 4); !errors.As(err, &tooLarge) || err.Error() != "standard input is larger than 4 bytes" {
		t.Fatalf("ReadLimited: %v", err)
	}
}

func TestCoinbaseMaturity(t *testing.T) {
	for _, net := range []address.Network{address.Mainnet, address.Testnet, address.Devnet, address.Simnet} {
		want := uint64(wallet.DefaultCoinbaseMaturity)
		if net == address.Devnet || net == address.Simnet {
			want = DevnetCoinbaseMaturity
		}
		if got := CoinbaseMaturity(0, net); got != want {
			t.Errorf("%v, no flag: %d, want %d", net, got, want)
		}
		if got := CoinbaseMaturity(7, net); got != 7 {
			t.Errorf("%v, flag 7: %d", net, got)
		}
	}
}

func TestPrintWords(t *testing.T) {
	var b strings.Builder
	PrintWords(&b, "abandon ability able about above absent")
	want := "  1. abandon     2. ability     3. able        4. about\n  5. above       6. absent\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}

// testMnemonic and its first mainnet receive address come from
// wallet/testdata/derivation.json ("Go kaspawallet single-signer wallet
// imported by rusty-kaspa").
const (
	testMnemonic = "dizzy uncover funny time weapon chat volume squirrel comic motion until diamond response remind hurt spider door strategy entire oyster hawk marriage soon fabric"
	testReceive0 = "kaspa:qpuvlauc6a5syze9g70dnxzzvykhkuatsjrx87mxqccqh7kf9kcssdkp9ec7w"
)

// cheap keeps scrypt fast in tests.
var cheap = wallet.ScryptParams{LogN: 4, R: 8, P: 1}

func TestCreateAndOpenWallet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.kloak")
	if err := RefuseExisting(path); err != nil {
		t.Fatalf("RefuseExisting before create: %v", err)
	}
	c, err := CreateWallet(path, []byte("pw"), testMnemonic, wallet.CreateOptions{Network: address.Mainnet, Scrypt: cheap})
	if err != nil {
		t.Fatal(err)
	}
	c.Wallet.Close()
	if c.FirstReceive.String() != testReceive0 || c.Account != 0 {
		t.Fatalf("first receive address %s, account %d; want %s, 0", c.FirstReceive, c.Account, testReceive0)
	}
	err = RefuseExisting(path)
	if !errors.Is(err, wallet.ErrExist) || err.Error() != path+": wallet file already exists; not replacing it" {
		t.Fatalf("RefuseExisting after create: %v", err)
	}
	if _, err := CreateWallet(path, []byte("pw"), testMnemonic, wallet.CreateOptions{Scrypt: cheap}); !errors.Is(err, wallet.ErrExist) {
		t.Fatalf("CreateWallet over a file: %v", err)
	}

	const env = "KLOAK_CLI_TEST_PASSWORD"
	t.Setenv(env, "pw")
	w, err := OpenWallet(t.Context(), new(strings.Builder), path, Prompt{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Setenv(env, "wrong")
	if _, err := OpenWallet(t.Context(), new(strings.Builder), path, Prompt{Env: env}); err == nil {
		t.Fatal("opened with the wrong password")
	}
}

func testAccount(t testing.TB) *wallet.Account {
	t.Helper()
	seed, err := wallet.SeedFromMnemonic(testMnemonic, "")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := wallet.NewAccount(seed, 0, address.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	return acct
}

func TestListAddresses(t *testing.T) {
	acct := testAccount(t)
	l, err := ListAddresses(acct, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Receive) != 3 || len(l.Change) != 2 || l.Receive[0].Address != testReceive0 {
		t.Fatalf("got %+v", l)
	}
	for i, a := range l.Change {
		k, err := acct.Change(uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		if a.Index != uint32(i) || a.Path != k.Path || a.Address != k.Address.String() {
			t.Errorf("change %d: %+v, want %s %s", i, a, k.Path, k.Address)
		}
	}
	if l, err := ListAddresses(acct, 0, 0); err != nil || l.Receive == nil || l.Change == nil {
		t.Errorf("no addresses: %+v, %v; want empty, not nil, lists (JSON [])", l, err)
	}
	if _, err := ListAddresses(acct, MaxListed+1, 0); err == nil || err.Error() != "at most 100000 addresses per chain" {
		t.Errorf("too many: %v", err)
	}
}

func ExampleAddressList_Print() {
	seed, _ := wallet.SeedFromMnemonic(testMnemonic, "")
	acct, _ := wallet.NewAccount(seed, 0, address.Mainnet)
	l, _ := ListAddresses(acct, 1, 0)
	l.Print(os.Stdout)
	// Output:
	// receive 0    m/44'/111111'/0'/0/0     kaspa:qpuvlauc6a5syze9g70dnxzzvykhkuatsjrx87mxqccqh7kf9kcssdkp9ec7w
}
