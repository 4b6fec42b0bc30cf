package wallet_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

// The mnemonic and the expected values in these examples are rusty-kaspa's
// (wallet/keys/src/derivation/gen1/hd.rs, address_test_by_ktrv), so the
// output is what Kaspa-NG shows for the same words.
const exampleMnemonic = "hunt bitter praise lift buyer topic crane leopard uniform network inquiry over grain pass match crush marine strike doll relax fortune trumpet sunny silk"

func ExampleNewMnemonic() {
	m, err := wallet.NewMnemonic(24)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(strings.Fields(m)), wallet.ValidateMnemonic(m))
	// Output: 24 <nil>
}

func ExampleValidateMnemonic() {
	err := wallet.ValidateMnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon")
	fmt.Println(errors.Is(err, wallet.ErrMnemonicChecksum))
	// Output: true
}

func ExampleNewAccount() {
	seed, err := wallet.SeedFromMnemonic(exampleMnemonic, "")
	if err != nil {
		log.Fatal(err)
	}
	acct, err := wallet.NewAccount(seed, 0, address.Testnet)
	if err != nil {
		log.Fatal(err)
	}
	defer acct.Zero()
	k, err := acct.Receive(1)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Zero() // k.PrivateKey() is what txbuild.SignInput takes
	fmt.Println(k.Path)
	fmt.Println(k.Address)
	fmt.Println(acct.ExtendedPublicKey())
	// Output:
	// m/44'/111111'/0'/0/1
	// kaspatest:qrc2959g0pqda53glnfd238cdnmk24zxzkj8n5x83rkktx4h73dkc4ave6wyg
	// ktub23beJLczbxoS4emYHxm5H2rPnXJPGTwjNLAc8JyjHnSFLPMJBj5h3U8oWbn1x1jayZRov6uhvGd4zUGrWH6PkYZMWsykUsQWYqjbLnHrzUE
}

func ExampleNewWatchOnlyAccount() {
	acct, err := wallet.NewWatchOnlyAccount("ktub23beJLczbxoS4emYHxm5H2rPnXJPGTwjNLAc8JyjHnSFLPMJBj5h3U8oWbn1x1jayZRov6uhvGd4zUGrWH6PkYZMWsykUsQWYqjbLnHrzUE", address.Testnet)
	if err != nil {
		log.Fatal(err)
	}
	k, err := acct.Receive(1)
	if err != nil {
		log.Fatal(err)
	}
	_, err = k.PrivateKey()
	fmt.Println(k.Address, errors.Is(err, wallet.ErrWatchOnly))
	// Output: kaspatest:qrc2959g0pqda53glnfd238cdnmk24zxzkj8n5x83rkktx4h73dkc4ave6wyg true
}

func ExampleParsePath() {
	p, err := wallet.ParsePath("m/44h/111111h/0h/1/7")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p, len(p), p[4])
	_, err = wallet.ParsePath("m/44'/x")
	fmt.Println(err)
	// Output:
	// m/44'/111111'/0'/1/7 5 7
	// invalid derivation path "m/44'/x": segment 2 "x" is not a number
}

func ExampleParseExtendedKey() {
	// BIP32 test vector 1, master key, from kaspad's kprv serialization.
	k, err := wallet.ParseExtendedKey("kprv5y2qurMHCsXYqr9oKku3Ry75DcZgdraE3SFPPh1SKp4qKtr61qQeNypYTGztwUUiVauHWmjxaQXeUKHxj4QCuDG4ULpZHkvBoH9XX19ynXm")
	if err != nil {
		log.Fatal(err)
	}
	child, err := k.Child(wallet.HardenedOffset + 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k.Network(), child.Neuter())
	// Output: mainnet kpub2EHcK5Be8WCqCwMydYJgg99v6TxXRPn66GbtAAoArLo6ZyUQycFz3vVS5pCuCfoKRL5nsxJXxLx3FETEyKyEb8isTgM3NbL15KsprxXRXYP
}

func ExampleCreate() {
	dir, err := os.MkdirTemp("", "kloak-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "wallet.kloak")

	w, err := wallet.Create(path, []byte("a long password"), exampleMnemonic, wallet.CreateOptions{
		Network: address.Testnet,
		Scrypt:  wallet.ScryptParams{LogN: 10, R: 8, P: 1}, // cheap, for the example; leave zero for the default
	})
	if err != nil {
		log.Fatal(err)
	}
	// Two receive addresses, recorded as handed out with one small save.
	keys, err := w.ReserveReceive(2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(keys[1].Address)
	w.Close()

	_, err = wallet.Open(path, []byte("a wrong password"))
	fmt.Println(errors.Is(err, wallet.ErrWrongPassword))

	w, err = wallet.Open(path, []byte("a long password"))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	fmt.Println(w.NextReceiveIndex())
	// Output:
	// kaspatest:qrc2959g0pqda53glnfd238cdnmk24zxzkj8n5x83rkktx4h73dkc4ave6wyg
	// true
	// 2
}

func ExampleLegacyKloakKey() {
	// The Python kloak node's own derivation (kloak-v1-vectors.json).
	seed, err := wallet.SeedFromMnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "")
	if err != nil {
		log.Fatal(err)
	}
	k, err := wallet.LegacyKloakKey(seed, 0, address.Mainnet)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Zero()
	fmt.Println(k.Address)
	// Output: kaspa:qptuunqxj5vlq9j4sdyfq0a7r3wgp697ymvym7cky3aaz7mfwtx47sraf8r5g
}

func ExampleImportPythonWallet() {
	data, err := os.ReadFile("testdata/python_wallet.enc")
	if err != nil {
		log.Fatal(err)
	}
	pw, err := wallet.ImportPythonWallet(data, []byte("kloak-v1-fixture-password"))
	if err != nil {
		log.Fatal(err)
	}
	defer pw.Zero()
	// A kloak wallet keeps the keys with w.ImportLegacyKeys(pw.Keys).
	for _, k := range pw.Keys {
		fmt.Println(k.Index, k.Address, k.Purpose)
	}
	// Output:
	// 0 kaspa:qptuunqxj5vlq9j4sdyfq0a7r3wgp697ymvym7cky3aaz7mfwtx47sraf8r5g node_primary
	// 1 kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea dust_collection
	// 2 kaspa:qzs92alq9nmnl3sqa4h9kthq8sq85jhf5jd03cq6aguy7hczdhekc9tq02vc7
}
