package wallet

import (
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"

	"github.com/kloakprotocol/kloak/address"
)

// LegacyKey is a key of a Python kloak node wallet: its Key (path
// m/44'/111111'/0'/0/Index of the original's non-standard derivation,
// mainnet address) and the node's bookkeeping.
type LegacyKey struct {
	Key
	// Purpose is what the node used the address for: "node_primary",
	// "pulse", "dust_collection", "sweep_change", or empty.
	Purpose string
	// Used reports whether the node marked the address used.
	Used bool
}

// PythonWallet is what ImportPythonWallet recovers from a Python kloak
// node wallet file.
type PythonWallet struct {
	// Mnemonic is the node's BIP39 mnemonic (its seed used no passphrase).
	// Restored in a standard Kaspa wallet it shows none of the node's
	// funds: they are on Keys' addresses.
	Mnemonic string
	// Keys are the stored keys, each checked against its stored address
	// and against LegacyKloakKey at its index.
	Keys []LegacyKey
}

// Zero wipes the private keys of p.
func (p *PythonWallet) Zero() {
	for _, k := range p.Keys {
		k.Zero()
	}
}

// The Python node's file: salt 16 || nonce 12 || ChaCha20-Poly1305
// ciphertext and tag, no additional data; key = scrypt(password, salt,
// N=2^14, r=8, p=1, 32 bytes). See kloak-v1-python.md §6.5.
const (
	pythonSaltLen = 16
	pythonN       = 1 << 14
	pythonR       = 8
	pythonP       = 1
)

// pythonContents is the part of the Python node's JSON this package reads.
type pythonContents struct {
	Mnemonic   string `json:"mnemonic"`
	MasterSeed string `json:"master_seed"`
	Addresses  []struct {
		Index      *uint32 `json:"index"`
		Address    string  `json:"address"`
		PrivateKey string  `json:"private_key"`
		Used       bool    `json:"used"`
		Purpose    *string `json:"purpose"`
	} `json:"addresses"`
}

// ImportPythonWallet decrypts the wallet file of a Python kloak node
// (kloak v1, kloak_wallet.enc) and returns its mnemonic and stored keys.
//
// Every stored key is verified: its private key must give its stored
// address, and the original's derivation (LegacyKloakKey) of the mnemonic
// must give that private key at its index; the stored master seed must be
// the mnemonic's. Any disagreement fails the import with a
// *LegacyMismatchError listing all of them. A wrong password and a damaged
// file look the same in that format: both give
// ErrPythonWrongPasswordOrCorrupt.
func ImportPythonWallet(data, password []byte) (*PythonWallet, error) {
	if len(data) < pythonSaltLen+chacha20poly1305.NonceSize+chacha20poly1305.Overhead {
		return nil, fmt.Errorf("%w: file is %d bytes, too short for a Python kloak wallet", ErrCorrupt, len(data))
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%w: file is %d bytes, more than a Python kloak wallet's %d", ErrCorrupt, len(data), maxFileSize)
	}
	salt := data[:pythonSaltLen]
	nonce := data[pythonSaltLen : pythonSaltLen+chacha20poly1305.NonceSize]
	key, err := scrypt.Key(password, salt, pythonN, pythonR, pythonP, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, nonce, data[pythonSaltLen+chacha20poly1305.NonceSize:], nil)
	if err != nil {
		return nil, ErrPythonWrongPasswordOrCorrupt
	}
	defer clear(plain)
	return parsePythonWallet(plain)
}

// parsePythonWallet checks the decrypted JSON of a Python kloak node
// wallet and returns its mnemonic and keys.
func parsePythonWallet(plain []byte) (*PythonWallet, error) {
	var c pythonContents
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, fmt.Errorf("%w: Python wallet contents: %w", ErrCorrupt, err)
	}
	if err := ValidateMnemonic(c.Mnemonic); err != nil {
		return nil, fmt.Errorf("%w: Python wallet mnemonic: %w", ErrCorrupt, err)
	}
	seed, err := SeedFromMnemonic(c.Mnemonic, "")
	if err != nil {
		return nil, err
	}
	defer clear(seed)

	var problems []string
	if c.MasterSeed != "" {
		stored, err := hex.DecodeString(c.MasterSeed)
		if err != nil || subtle.ConstantTimeCompare(stored, seed) != 1 {
			problems = append(problems, "master_seed is not the BIP39 seed of the mnemonic")
		}
		clear(stored)
	}
	p := &PythonWallet{Mnemonic: c.Mnemonic}
	for n, a := range c.Addresses {
		if a.Index == nil || *a.Index >= HardenedOffset {
			problems = append(problems, fmt.Sprintf("address entry %d: missing or invalid index", n))
			continue
		}
		i := *a.Index
		stored, err := address.Parse(a.Address)
		if err != nil {
			problems = append(problems, fmt.Sprintf("index %d: stored address %q: %v", i, a.Address, err))
			continue
		}
		priv, err := hex.DecodeString(a.PrivateKey)
		if err != nil || len(priv) != 32 {
			clear(priv)
			problems = append(problems, fmt.Sprintf("index %d: stored private key is not 32 bytes of hex", i))
			continue
		}
		derived, err := LegacyKloakKey(seed, i, stored.Network())
		if err != nil {
			clear(priv)
			problems = append(problems, fmt.Sprintf("index %d: %v", i, err))
			continue
		}
		own, err := addressOfPrivateKey(priv, stored.Network())
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("index %d: stored private key: %v", i, err))
		case !own.Equal(stored):
			problems = append(problems, fmt.Sprintf("index %d: stored private key gives %s, file says %s", i, own, stored))
		case subtle.ConstantTimeCompare(derived.priv, priv) != 1:
			problems = append(problems, fmt.Sprintf("index %d: stored private key is not the kloak v1 derivation of the mnemonic at this index (which gives %s)", i, derived.Address))
		}
		clear(priv)
		lk := LegacyKey{Key: derived, Used: a.Used}
		if a.Purpose != nil {
			lk.Purpose = *a.Purpose
		}
		p.Keys = append(p.Keys, lk)
	}
	if len(problems) > 0 {
		p.Zero()
		return nil, &LegacyMismatchError{Problems: problems}
	}
	return p, nil
}

// addressOfPrivateKey returns the Schnorr P2PK address of a 32-byte
// private key.
func addressOfPrivateKey(priv []byte, net address.Network) (address.Address, error) {
	pub, err := publicKeyOf(priv)
	if err != nil {
		return address.Address{}, err
	}
	return address.New(net, address.PubKey, pub[1:])
}

// legacyKeyFromJSON checks and converts a legacy key stored in a kloak
// wallet file.
func legacyKeyFromJSON(j legacyJSON) (LegacyKey, error) {
	stored, err := address.Parse(j.Address)
	if err != nil {
		return LegacyKey{}, fmt.Errorf("legacy key %d: %w", j.Index, err)
	}
	own, err := addressOfPrivateKey(j.PrivateKey, stored.Network())
	if err != nil {
		return LegacyKey{}, fmt.Errorf("legacy key %d: %w", j.Index, err)
	}
	if !own.Equal(stored) {
		return LegacyKey{}, fmt.Errorf("legacy key %d: private key does not give address %s", j.Index, stored)
	}
	path := Path{Purpose + HardenedOffset, CoinType + HardenedOffset, HardenedOffset, 0, j.Index}
	return LegacyKey{
		Key:     Key{Path: path.String(), Index: j.Index, Address: stored, priv: j.PrivateKey},
		Purpose: j.Purpose,
		Used:    j.Used,
	}, nil
}
