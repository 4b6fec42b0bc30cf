package difftest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kaspanet/kaspad/cmd/kaspawallet/libkaspawallet"
	"github.com/kaspanet/kaspad/cmd/kaspawallet/libkaspawallet/bip32"
	"github.com/kaspanet/kaspad/domain/dagconfig"
	"github.com/kaspanet/kaspad/util"
	"github.com/tyler-smith/go-bip39"
	"github.com/tyler-smith/go-bip39/wordlists"

	"github.com/kloakprotocol/kloak/address"
	"github.com/kloakprotocol/kloak/wallet"
)

// bip32Nets are the networks kaspad's kaspawallet knows, with the
// extended-key versions of bip32/version.go and the address prefixes.
var bip32Nets = []struct {
	net       address.Network
	priv, pub [4]byte
	prefix    util.Bech32Prefix
	params    *dagconfig.Params
}{
	{address.Mainnet, bip32.KaspaMainnetPrivate, bip32.KaspaMainnetPublic, util.Bech32PrefixKaspa, &dagconfig.MainnetParams},
	{address.Testnet, bip32.KaspaTestnetPrivate, bip32.KaspaTestnetPublic, util.Bech32PrefixKaspaTest, &dagconfig.TestnetParams},
	{address.Devnet, bip32.KaspaDevnetPrivate, bip32.KaspaDevnetPublic, util.Bech32PrefixKaspaDev, &dagconfig.DevnetParams},
	{address.Simnet, bip32.KaspaSimnetPrivate, bip32.KaspaSimnetPublic, util.Bech32PrefixKaspaSim, &dagconfig.SimnetParams},
}

const randomSeeds = 2000

// bip32Counts tallies what the BIP32 test compared, for its log line.
type bip32Counts struct {
	keys, strings, addresses, publicDerivations, hardenedRefusals, accounts, bitcoin int
}

// TestBIP32AgainstKaspad derives, from random seeds, master keys and keys at
// random paths (hardened and not, depth up to 6) and at Kaspa's BIP44 path,
// and compares every key with kaspad's kaspawallet bip32 package: the
// extended private and public key strings on each of kaspad's networks
// (and Bitcoin's xprv/xpub, which kaspad also writes), each field, the
// public derivation from neutered keys, the strings each side parses from
// the other, and the Schnorr P2PK address of every derived key on every
// network. Accounts are compared with kaspawallet's own address function
// (libkaspawallet.Address on the account kpub, path m/chain/index).
func TestBIP32AgainstKaspad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var c bip32Counts
	for n := 0; n < randomSeeds; n++ {
		seed := randomBytes(r, 16+r.IntN(49)) // 16 to 64 bytes, BIP32's range
		kn := bip32Nets[r.IntN(len(bip32Nets))]
		path := randomPath(r)
		where := fmt.Sprintf("seed %d (%x) %v %s", n, seed, kn.net, path)

		ours, err := wallet.NewMasterKey(seed, kn.net)
		if err != nil {
			t.Fatalf("%s: master: %v", where, err)
		}
		theirs, err := bip32.NewMaster(seed, kn.priv)
		if err != nil {
			t.Fatalf("%s: kaspad master: %v", where, err)
		}
		compareKeys(t, where+" master", ours, theirs, &c)

		// Walk the path one step at a time, comparing every intermediate key,
		// then ask kaspad again through its own path parser, fed kloak's text.
		cur, kcur := ours, theirs
		for d, i := range path {
			next, err := cur.Child(i)
			if err != nil {
				t.Fatalf("%s: child %d: %v", where, d, err)
			}
			knext, err := kcur.Child(i)
			if err != nil {
				t.Fatalf("%s: kaspad child %d: %v", where, d, err)
			}
			compareKeys(t, fmt.Sprintf("%s depth %d", where, d+1), next, knext, &c)
			cur, kcur = next, knext
		}
		kd, err := theirs.DeriveFromPath(path.String())
		if err != nil {
			t.Fatalf("%s: kaspad derive: %v", where, err)
		}
		compareKeys(t, where, cur, kd, &c)
		derived, err := ours.Derive(path)
		if err != nil || derived.String() != cur.String() {
			t.Fatalf("%s: Derive gives %v, %v; Child by Child gives %v", where, derived, err, cur)
		}
		if parsed, err := wallet.ParsePath(path.String()); err != nil || parsed.String() != path.String() {
			t.Fatalf("%s: ParsePath(String()) = %v, %v", where, parsed, err)
		}

		// The same key on every network: version bytes, then the address.
		for _, on := range bip32Nets {
			master, err := wallet.NewMasterKey(seed, on.net)
			if err != nil {
				t.Fatal(err)
			}
			k, err := master.Derive(path)
			if err != nil {
				t.Fatalf("%s on %v: %v", where, on.net, err)
			}
			kk := *kd
			kk.Version = on.priv
			compareKeys(t, fmt.Sprintf("%s on %v", where, on.net), k, &kk, &c)
			compareAddress(t, fmt.Sprintf("%s on %v", where, on.net), k, &kk, on.net, on.prefix, &c)
		}

		// Public derivation: neuter the key after the last hardened step and
		// derive the remaining non-hardened steps from public keys only.
		last := -1
		for d, i := range path {
			if i >= wallet.HardenedOffset {
				last = d
			}
		}
		base := wallet.Path(path[:last+1])
		ourBase, _ := ours.Derive(base)
		kBase, err := theirs.DeriveFromPath(base.String())
		if err != nil {
			t.Fatal(err)
		}
		kPub, err := kBase.Public()
		if err != nil {
			t.Fatal(err)
		}
		ourPub := ourBase.Neuter()
		compareKeys(t, where+" neutered base", ourPub, kPub, &c)
		rest := wallet.Path(path[last+1:])
		ourPubChild, err := ourPub.Derive(rest)
		if err != nil {
			t.Fatalf("%s: public derivation of %s: %v", where, rest, err)
		}
		kPubChild, err := kPub.DeriveFromPath(rest.String())
		if err != nil {
			t.Fatalf("%s: kaspad public derivation of %s: %v", where, rest, err)
		}
		compareKeys(t, where+" from public", ourPubChild, kPubChild, &c)
		if ourPubChild.String() != cur.Neuter().String() {
			t.Fatalf("%s: public derivation %s, private then neuter %s", where, ourPubChild, cur.Neuter())
		}
		if len(rest) > 0 {
			c.publicDerivations++
		}
		hard := wallet.HardenedOffset + r.Uint32N(1000)
		_, err = ourPub.Child(hard)
		_, kerr := kPub.Child(hard)
		if !errors.Is(err, wallet.ErrHardenedFromPublic) || kerr == nil {
			t.Fatalf("%s: hardened child of a public key: kloak %v, kaspad %v", where, err, kerr)
		}
		c.hardenedRefusals++

		// Bitcoin's versions: kaspad writes xprv; kloak parses it and derives.
		if n%4 == 0 {
			kbtc, err := bip32.NewMaster(seed, bip32.BitcoinMainnetPrivate)
			if err != nil {
				t.Fatal(err)
			}
			btc, err := wallet.ParseExtendedKey(kbtc.String())
			if err != nil {
				t.Fatalf("%s: parse kaspad's %s: %v", where, kbtc, err)
			}
			kbtcChild, err := kbtc.DeriveFromPath(path.String())
			if err != nil {
				t.Fatal(err)
			}
			btcChild, err := btc.Derive(path)
			if err != nil {
				t.Fatal(err)
			}
			compareKeys(t, where+" xprv", btcChild, kbtcChild, &c)
			c.bitcoin++
		}

		// Kaspa's BIP44 account and its receive and change addresses, as
		// kaspawallet derives them from the account's extended public key.
		if n%2 == 0 {
			account := r.Uint32N(4)
			if r.IntN(8) == 0 {
				account = r.Uint32N(wallet.HardenedOffset)
			}
			compareAccount(t, where, r, seed, account, kn.net, kn.priv, kn.params, &c)
		}
	}
	t.Logf("%d seeds: %d keys (%d extended-key strings, both directions of parsing), %d addresses, %d public derivations, %d hardened-from-public refusals, %d accounts, %d xprv keys equal to kaspad's",
		randomSeeds, c.keys, c.strings, c.addresses, c.publicDerivations, c.hardenedRefusals, c.accounts, c.bitcoin)
}

// randomPath returns a path of depth 0 to 6 mixing hardened and normal
// steps, small indexes, large ones and the edges 0 and 2^31-1; one in four
// is Kaspa's BIP44 m/44'/111111'/account'/chain/index.
func randomPath(r *rand.Rand) wallet.Path {
	if r.IntN(4) == 0 {
		return wallet.Path{
			wallet.Purpose + wallet.HardenedOffset,
			wallet.CoinType + wallet.HardenedOffset,
			r.Uint32N(5) + wallet.HardenedOffset,
			r.Uint32N(2),
			r.Uint32N(1000),
		}
	}
	p := make(wallet.Path, r.IntN(7))
	for d := range p {
		var i uint32
		switch r.IntN(4) {
		case 0:
			i = r.Uint32N(20)
		case 1:
			i = r.Uint32N(wallet.HardenedOffset)
		case 2:
			i = []uint32{0, wallet.HardenedOffset - 1}[r.IntN(2)]
		default:
			i = r.Uint32N(100_000)
		}
		if r.IntN(2) == 0 {
			i += wallet.HardenedOffset
		}
		p[d] = i
	}
	return p
}

// compareKeys checks that ours and theirs are the same extended key: the
// Base58 strings (private and public), every field, and that each side
// parses the other's strings back to the same key.
func compareKeys(t *testing.T, where string, ours *wallet.ExtendedKey, theirs *bip32.ExtendedKey, c *bip32Counts) {
	t.Helper()
	if ours.IsPrivate() != theirs.IsPrivate() {
		t.Fatalf("%s: private %v, kaspad %v", where, ours.IsPrivate(), theirs.IsPrivate())
	}
	if ours.String() != theirs.String() {
		t.Fatalf("%s: %s, kaspad %s", where, ours, theirs)
	}
	if ours.Depth() != theirs.Depth || ours.ChildNumber() != theirs.ChildNumber ||
		ours.ParentFingerprint() != theirs.ParentFingerprint || ours.ChainCode() != theirs.ChainCode {
		t.Fatalf("%s: depth/child/parent/chain code differ from kaspad's", where)
	}
	kpub, err := theirs.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	kser, err := kpub.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if ours.PublicKey() != *kser {
		t.Fatalf("%s: public key %x, kaspad %x", where, ours.PublicKey(), kser[:])
	}
	if ours.IsPrivate() {
		priv, err := ours.PrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(priv, theirs.PrivateKey().Serialize()[:]) {
			t.Fatalf("%s: private keys differ", where)
		}
		kp, err := theirs.Public()
		if err != nil {
			t.Fatal(err)
		}
		if ours.Neuter().String() != kp.String() {
			t.Fatalf("%s: public %s, kaspad %s", where, ours.Neuter(), kp)
		}
		c.strings++
	}
	for _, s := range []string{ours.String(), ours.Neuter().String()} {
		back, err := wallet.ParseExtendedKey(s)
		if err != nil || back.String() != s {
			t.Fatalf("%s: kloak parse of %s: %v", where, s, err)
		}
		kback, err := bip32.DeserializeExtendedKey(s)
		if err != nil || kback.String() != s {
			t.Fatalf("%s: kaspad parse of %s: %v", where, s, err)
		}
	}
	c.keys++
	c.strings++
}

// compareAddress checks the Schnorr P2PK address of a key (its x-only
// public key, as wallet.Key.Address is made) with kaspad's, which goes
// through secp256k1's ToSchnorr.
func compareAddress(t *testing.T, where string, ours *wallet.ExtendedKey, theirs *bip32.ExtendedKey, net address.Network, prefix util.Bech32Prefix, c *bip32Counts) {
	t.Helper()
	pub := ours.PublicKey()
	a, err := address.New(net, address.PubKey, pub[1:])
	if err != nil {
		t.Fatal(err)
	}
	kpub, err := theirs.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	schnorr, err := kpub.ToSchnorr()
	if err != nil {
		t.Fatal(err)
	}
	ser, err := schnorr.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	ka, err := util.NewAddressPublicKey(ser[:], prefix)
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != ka.EncodeAddress() {
		t.Fatalf("%s: address %s, kaspad %s", where, a, ka.EncodeAddress())
	}
	c.addresses++
}

// compareAccount checks wallet.NewAccount and NewWatchOnlyAccount against
// kaspawallet: the account kpub, and receive and change addresses from
// libkaspawallet.Address with the path kaspawallet's daemon uses for a
// single-signer wallet, m/keychain/index below the account key.
func compareAccount(t *testing.T, where string, r *rand.Rand, seed []byte, account uint32, net address.Network, version [4]byte, params *dagconfig.Params, c *bip32Counts) {
	t.Helper()
	acct, err := wallet.NewAccount(seed, account, net)
	if err != nil {
		t.Fatalf("%s: account %d: %v", where, account, err)
	}
	kacct, err := bip32.NewPublicMasterWithPath(seed, version, fmt.Sprintf("m/44'/111111'/%d'", account))
	if err != nil {
		t.Fatal(err)
	}
	kpub := kacct.String()
	if acct.ExtendedPublicKey() != kpub {
		t.Fatalf("%s: account %d kpub %s, kaspad %s", where, account, acct.ExtendedPublicKey(), kpub)
	}
	watch, err := wallet.NewWatchOnlyAccount(kpub, net)
	if err != nil {
		t.Fatalf("%s: watch-only from kaspad's %s: %v", where, kpub, err)
	}
	for range 3 {
		i := r.Uint32N(200)
		if r.IntN(10) == 0 {
			i = wallet.HardenedOffset - 1 - r.Uint32N(10)
		}
		for _, chain := range []uint32{libkaspawallet.ExternalKeychain, libkaspawallet.InternalKeychain} {
			derive, watchDerive := acct.Receive, watch.Receive
			if chain == libkaspawallet.InternalKeychain {
				derive, watchDerive = acct.Change, watch.Change
			}
			k, err := derive(i)
			if err != nil {
				t.Fatal(err)
			}
			w, err := watchDerive(i)
			if err != nil {
				t.Fatal(err)
			}
			ka, err := libkaspawallet.Address(params, []string{kpub}, 1, fmt.Sprintf("m/%d/%d", chain, i), false)
			if err != nil {
				t.Fatal(err)
			}
			if k.Address.String() != ka.EncodeAddress() || w.Address.String() != ka.EncodeAddress() {
				t.Fatalf("%s: account %d chain %d index %d: %s (watch-only %s), kaspawallet %s", where, account, chain, i, k.Address, w.Address, ka.EncodeAddress())
			}
			if want := fmt.Sprintf("m/44'/111111'/%d'/%d/%d", account, chain, i); k.Path != want {
				t.Fatalf("%s: key path %s, want %s", where, k.Path, want)
			}
			priv, err := k.PrivateKey()
			if err != nil {
				t.Fatal(err)
			}
			kk, err := bip32.NewMasterWithPath(seed, version, k.Path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(priv, kk.PrivateKey().Serialize()[:]) {
				t.Fatalf("%s: private key of %s differs from kaspad's", where, k.Path)
			}
			c.addresses++
		}
	}
	c.accounts++
}

const randomMnemonics = 400

// TestMnemonicsAgainstKaspad runs random BIP39 mnemonics (all five lengths,
// made by tyler-smith/go-bip39, kaspawallet's BIP39 library) through both
// wallets: kloak's account kpub and addresses must equal what kaspawallet
// derives from the same words (libkaspawallet.MasterPublicKeyFromMnemonic,
// then libkaspawallet.Address), kloak's seed must equal go-bip39's for the
// canonical words whatever case and spacing they are typed in, and kloak
// must accept and refuse exactly the mnemonics go-bip39 does when a word is
// replaced.
func TestMnemonicsAgainstKaspad(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var accounts, addresses, seeds, mutations, stillValid int
	for n := 0; n < randomMnemonics; n++ {
		entropy := randomBytes(r, []int{16, 20, 24, 28, 32}[r.IntN(5)])
		words, err := bip39.NewMnemonic(entropy)
		if err != nil {
			t.Fatal(err)
		}
		if err := wallet.ValidateMnemonic(words); err != nil {
			t.Fatalf("mnemonic %d (%d words): kloak refuses go-bip39's mnemonic: %v", n, len(strings.Fields(words)), err)
		}

		passphrase := ""
		if r.IntN(3) == 0 {
			passphrase = string(randomBytes(r, r.IntN(20)))
			passphrase = strings.Map(func(c rune) rune { return ' ' + c%95 }, passphrase) // printable ASCII
		}
		typed := words
		if r.IntN(2) == 0 { // as a person might type it
			typed = "  " + strings.ToUpper(strings.ReplaceAll(words, " ", " \t "))
		}
		seed, err := wallet.SeedFromMnemonic(typed, passphrase)
		if err != nil {
			t.Fatalf("mnemonic %d: %v", n, err)
		}
		if !bytes.Equal(seed, bip39.NewSeed(words, passphrase)) {
			t.Fatalf("mnemonic %d: seed differs from go-bip39's", n)
		}
		seeds++

		if passphrase == "" { // kaspawallet has no passphrase
			kn := bip32Nets[r.IntN(len(bip32Nets))]
			acct, err := wallet.NewAccount(seed, 0, kn.net)
			if err != nil {
				t.Fatal(err)
			}
			kpub, err := libkaspawallet.MasterPublicKeyFromMnemonic(kn.params, words, false)
			if err != nil {
				t.Fatal(err)
			}
			if acct.ExtendedPublicKey() != kpub {
				t.Fatalf("mnemonic %d on %v: kpub %s, kaspawallet %s", n, kn.net, acct.ExtendedPublicKey(), kpub)
			}
			accounts++
			for _, i := range []uint32{0, 1, r.Uint32N(100)} {
				k, err := acct.Receive(i)
				if err != nil {
					t.Fatal(err)
				}
				ka, err := libkaspawallet.Address(kn.params, []string{kpub}, 1, fmt.Sprintf("m/0/%d", i), false)
				if err != nil {
					t.Fatal(err)
				}
				if k.Address.String() != ka.EncodeAddress() {
					t.Fatalf("mnemonic %d on %v: receive %d %s, kaspawallet %s", n, kn.net, i, k.Address, ka.EncodeAddress())
				}
				addresses++
			}
		}

		// Replace one word: both must agree on validity (the checksum catches
		// most replacements, not all).
		ws := strings.Fields(words)
		ws[r.IntN(len(ws))] = wordlists.English[r.IntN(len(wordlists.English))]
		mutated := strings.Join(ws, " ")
		ours := wallet.ValidateMnemonic(mutated) == nil
		if theirs := bip39.IsMnemonicValid(mutated); ours != theirs {
			t.Fatalf("mnemonic %d with a word replaced: kloak valid %v, go-bip39 %v", n, ours, theirs)
		}
		if ours {
			stillValid++
		}
		mutations++
	}
	t.Logf("%d mnemonics: %d seeds equal to go-bip39's, %d accounts and %d addresses equal to kaspawallet's, %d one-word replacements judged alike (%d still valid)",
		randomMnemonics, seeds, accounts, addresses, mutations, stillValid)
}
