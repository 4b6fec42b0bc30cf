package wallet

import (
	"fmt"

	"github.com/kloakprotocol/kloak/address"
)

// BIP44 levels of a Kaspa account: m/44'/111111'/account'/chain/index.
const (
	Purpose  uint32 = 44     // BIP44
	CoinType uint32 = 111111 // Kaspa's coin type in kaspad, rusty-kaspa and Kaspa-NG
	// ReceiveChain is the BIP44 "external" chain: addresses given to payers.
	ReceiveChain uint32 = 0
	// ChangeChain is the BIP44 "internal" chain: change outputs.
	ChangeChain uint32 = 1
)

// Key is one derived address key. Copies of a Key share its private key:
// Zero on any of them wipes it for all.
type Key struct {
	// Path is the key's derivation path, such as "m/44'/111111'/0'/0/5".
	Path string
	// Index is the last step of Path: the address index on its chain.
	Index uint32
	// Address is the Schnorr P2PK address (version 0) of the key's
	// x-only public key.
	Address address.Address
	priv    []byte
}

// PrivateKey returns the key's 32-byte secp256k1 private key, the form
// txbuild.SignInput takes, or ErrWatchOnly for a key of a watch-only
// account. The slice is the key's own storage, not a copy: Zero wipes it.
func (k Key) PrivateKey() ([]byte, error) {
	if k.priv == nil {
		return nil, ErrWatchOnly
	}
	return k.priv, nil
}

// Zero overwrites the private key with zeros (see ExtendedKey.Zero for
// what Go lets this achieve).
func (k Key) Zero() { clear(k.priv) }

// keyFromExtended makes the Key of an extended key derived at path.
func keyFromExtended(x *ExtendedKey, path string, net address.Network) (Key, error) {
	a, err := address.New(net, address.PubKey, x.pub[1:])
	if err != nil {
		return Key{}, err
	}
	return Key{Path: path, Index: x.childNumber, Address: a, priv: x.priv}, nil
}

// Account is a BIP44 Kaspa account, m/44'/111111'/account', with its
// receive chain (…/0/i) and change chain (…/1/i). Addresses are Schnorr
// P2PK of the x-only public key, which is what kaspawallet, rusty-kaspa and
// Kaspa-NG show for the same mnemonic. An Account is safe for concurrent
// use; Zero must not race with derivation.
type Account struct {
	net     address.Network
	number  uint32
	public  *ExtendedKey // account key, neutered
	receive *ExtendedKey // …/0, private unless watch-only
	change  *ExtendedKey // …/1
}

// NewAccount derives account number account (0 for the first) of seed,
// the 64-byte output of SeedFromMnemonic, for network net.
func NewAccount(seed []byte, account uint32, net address.Network) (*Account, error) {
	if account >= HardenedOffset {
		return nil, fmt.Errorf("%w: account %d is at least 2^31", ErrIndexRange, account)
	}
	master, err := NewMasterKey(seed, net)
	if err != nil {
		return nil, err
	}
	defer master.Zero()
	acct, err := master.Derive(Path{Purpose + HardenedOffset, CoinType + HardenedOffset, account + HardenedOffset})
	if err != nil {
		return nil, err
	}
	defer acct.Zero()
	return newAccount(acct, account, net)
}

func newAccount(acct *ExtendedKey, number uint32, net address.Network) (*Account, error) {
	receive, err := acct.Child(ReceiveChain)
	if err != nil {
		return nil, err
	}
	change, err := acct.Child(ChangeChain)
	if err != nil {
		receive.Zero()
		return nil, err
	}
	return &Account{net: net, number: number, public: acct.Neuter(), receive: receive, change: change}, nil
}

// NewWatchOnlyAccount returns an account that derives addresses, but no
// private keys, from the account's extended public key: the kpub (ktub,
// kdub, ksub) of m/44'/111111'/n' that ExtendedPublicKey returns and
// Kaspa wallets export. A Kaspa-versioned key must belong to net, except
// that a ktub is also taken for devnet and simnet (rusty-kaspa, and so
// Kaspa-NG, writes ktub for every test network; kaspad writes kdub and
// ksub); an xpub names no network and is taken for net.
func NewWatchOnlyAccount(extendedPublicKey string, net address.Network) (*Account, error) {
	if _, ok := versionsOf(net); !ok {
		return nil, fmt.Errorf("%w: %v", ErrUnknownNetwork, net)
	}
	k, err := ParseExtendedKey(extendedPublicKey)
	if err != nil {
		return nil, err
	}
	k = k.Neuter() // an extended private key is accepted, its secret dropped
	kn := k.Network()
	if kn == address.Testnet && (net == address.Devnet || net == address.Simnet) {
		kn = net
	}
	if kn != 0 && kn != net {
		return nil, fmt.Errorf("%w: key is for %v, want %v", ErrWrongNetwork, kn, net)
	}
	if k.depth != 3 || k.childNumber < HardenedOffset {
		return nil, fmt.Errorf("%w: depth %d, child %s", ErrNotAccountKey, k.depth, formatIndex(k.childNumber))
	}
	return newAccount(k, k.childNumber-HardenedOffset, net)
}

// Network returns the account's network.
func (a *Account) Network() address.Network { return a.net }

// Number returns the account number (the hardened third path level).
func (a *Account) Number() uint32 { return a.number }

// WatchOnly reports whether the account has no private keys.
func (a *Account) WatchOnly() bool { return !a.receive.IsPrivate() }

// ExtendedPublicKey returns the account's extended public key (kpub on
// mainnet), from which NewWatchOnlyAccount derives the same addresses.
// It reveals every address of the account, and together with any one
// private key of the account, every private key: share it with care.
func (a *Account) ExtendedPublicKey() string { return a.public.String() }

// Receive returns the key of receive address i (m/44'/111111'/n'/0/i).
func (a *Account) Receive(i uint32) (Key, error) { return a.derive(a.receive, ReceiveChain, i) }

// Change returns the key of change address i (m/44'/111111'/n'/1/i).
func (a *Account) Change(i uint32) (Key, error) { return a.derive(a.change, ChangeChain, i) }

func (a *Account) derive(chain *ExtendedKey, c, i uint32) (Key, error) {
	if i >= HardenedOffset {
		return Key{}, fmt.Errorf("%w: index %d is at least 2^31", ErrIndexRange, i)
	}
	x, err := chain.Child(i)
	if err != nil {
		return Key{}, err
	}
	path := Path{Purpose + HardenedOffset, CoinType + HardenedOffset, a.number + HardenedOffset, c, i}
	return keyFromExtended(x, path.String(), a.net)
}

// Zero wipes the account's private chain keys. Keys already returned
// keep their own private keys; zero them separately.
func (a *Account) Zero() {
	a.receive.Zero()
	a.change.Zero()
}
