package wallet

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/kloakprotocol/kloak/address"
)

// contents is the encrypted JSON of a wallet file.
type contents struct {
	Mnemonic    string       `json:"mnemonic"`
	Passphrase  string       `json:"passphrase"` // BIP39 passphrase, usually empty
	Network     string       `json:"network"`
	Account     uint32       `json:"account"`
	NextReceive uint32       `json:"next_receive"`
	NextChange  uint32       `json:"next_change"`
	Created     time.Time    `json:"created"`
	LegacyKeys  []legacyJSON `json:"legacy_keys,omitempty"`
}

// legacyJSON is an imported key of a Python kloak node wallet.
type legacyJSON struct {
	Index      uint32 `json:"index"`
	PrivateKey []byte `json:"private_key"` // base64 in JSON; a []byte so it can be wiped
	Address    string `json:"address"`
	Purpose    string `json:"purpose,omitempty"`
	Used       bool   `json:"used"`
}

// Wallet is an open kloak wallet file: a mnemonic and the state that goes
// with it, kept encrypted on disk. The password's scrypt key is derived
// once, by Open or Create, and kept until Close, so every save is cheap:
// one ChaCha20-Poly1305 seal of a few hundred bytes, a write, and two
// fsyncs (file and directory): no scrypt, about a millisecond on a server
// SSD, more on slow disks (BenchmarkReserveReceive).
//
// A Wallet is safe for concurrent use. Only one process should have a
// wallet file open at a time: kloak does not lock the file, and two
// writers lose each other's index updates (which then reuses addresses).
type Wallet struct {
	mu      sync.Mutex
	path    string
	hdr     header
	key     *fileKey
	c       contents
	net     address.Network
	account *Account
	legacy  []LegacyKey
}

// CreateOptions configures Create. The zero value makes a mainnet wallet
// for account 0 with no BIP39 passphrase and the default scrypt cost.
type CreateOptions struct {
	// Network of the wallet's addresses; zero means address.Mainnet.
	Network address.Network
	// Account is the BIP44 account number: m/44'/111111'/Account'.
	Account uint32
	// Passphrase is the optional BIP39 passphrase ("25th word").
	Passphrase string
	// Scrypt is the cost of deriving the file key from the password.
	Scrypt ScryptParams
	// Created is recorded as the wallet's creation time; zero means now.
	Created time.Time
}

// Create writes a new wallet file at path for mnemonic, encrypted with
// password, and returns it open. It refuses to replace an existing file
// (ErrExist). The file is written atomically with mode 0600; no plaintext
// reaches the disk.
func Create(path string, password []byte, mnemonic string, opts CreateOptions) (*Wallet, error) {
	m, err := parseMnemonic(mnemonic)
	if err != nil {
		return nil, err
	}
	if opts.Network == 0 {
		opts.Network = address.Mainnet
	}
	if opts.Created.IsZero() {
		opts.Created = time.Now()
	}
	s := opts.Scrypt.withDefaults()
	if err := s.validate(); err != nil {
		return nil, err
	}
	w := &Wallet{path: path, hdr: header{scrypt: s}, c: contents{
		Mnemonic:   m,
		Passphrase: opts.Passphrase,
		Network:    opts.Network.String(),
		Account:    opts.Account,
		Created:    opts.Created.UTC().Round(0),
	}}
	if err := w.load(); err != nil {
		return nil, err
	}
	if _, err := rand.Read(w.hdr.salt[:]); err != nil {
		return nil, err
	}
	if w.key, err = deriveFileKey(password, w.hdr.salt[:], s); err != nil {
		w.zero()
		return nil, err
	}
	if err := w.write(false); err != nil {
		w.zero()
		return nil, err
	}
	return w, nil
}

// Open opens the wallet file at path. It runs scrypt with the file's
// parameters (at the default cost 128 MiB and about 0.3 s on a current
// server core, BenchmarkOpenDefaultScrypt) and fails with
// ErrWrongPassword, ErrCorrupt (truncated, damaged, not a wallet file) or
// ErrUnsupportedVersion (written by a newer kloak).
func Open(path string, password []byte) (*Wallet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorrupt, path, maxFileSize)
	}
	w, err := openBytes(data, password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w.path = path
	removeStaleTemps(path)
	return w, nil
}

// openBytes opens the bytes of a wallet file.
func openBytes(data, password []byte) (*Wallet, error) {
	h, k, plain, err := openFile(data, password)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	w := &Wallet{hdr: *h, key: k}
	if err := json.Unmarshal(plain, &w.c); err != nil {
		w.zero()
		return nil, fmt.Errorf("%w: contents: %w", ErrCorrupt, err)
	}
	if err := w.load(); err != nil {
		w.zero()
		return nil, fmt.Errorf("%w: contents: %w", ErrCorrupt, err)
	}
	return w, nil
}

// load checks w.c and derives what the wallet keeps in memory.
func (w *Wallet) load() error {
	m, err := parseMnemonic(w.c.Mnemonic)
	if err != nil {
		return err
	}
	w.c.Mnemonic = m
	if w.net, err = address.ParseNetwork(w.c.Network); err != nil {
		return err
	}
	if w.c.NextReceive > HardenedOffset || w.c.NextChange > HardenedOffset {
		return fmt.Errorf("%w: next indexes %d, %d", ErrIndexRange, w.c.NextReceive, w.c.NextChange)
	}
	seed, err := SeedFromMnemonic(m, w.c.Passphrase)
	if err != nil {
		return err
	}
	defer clear(seed)
	if w.account, err = NewAccount(seed, w.c.Account, w.net); err != nil {
		return err
	}
	w.legacy = w.legacy[:0]
	for _, lk := range w.c.LegacyKeys {
		k, err := legacyKeyFromJSON(lk)
		if err != nil {
			return err
		}
		w.legacy = append(w.legacy, k)
	}
	w.c.LegacyKeys = nil // write rebuilds them from w.legacy
	return nil
}

// write encrypts the contents and writes the file atomically.
func (w *Wallet) write(replace bool) error {
	w.c.LegacyKeys = w.c.LegacyKeys[:0]
	for _, k := range w.legacy {
		w.c.LegacyKeys = append(w.c.LegacyKeys, legacyJSON{
			Index: k.Index, PrivateKey: k.priv, Address: k.Address.String(), Purpose: k.Purpose, Used: k.Used,
		})
	}
	// encoding/json keeps pooled buffers this package cannot wipe; the
	// plaintext it returns is wiped as soon as it is sealed.
	plain, err := json.Marshal(&w.c)
	w.c.LegacyKeys = nil // the slices alias w.legacy's keys
	if err != nil {
		return err
	}
	data, err := seal(w.key, w.hdr, plain)
	clear(plain)
	if err != nil {
		return err
	}
	return writeFileAtomic(w.path, data, replace)
}

func (w *Wallet) zero() {
	if w.key != nil {
		w.key.zero()
		w.key = nil
	}
	if w.account != nil {
		w.account.Zero()
	}
	for _, k := range w.legacy {
		k.Zero()
	}
}

// Close wipes the wallet's keys from memory. The Wallet is unusable
// afterwards (ErrClosed); Close itself may be called more than once.
func (w *Wallet) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.zero()
	return nil
}

func (w *Wallet) usable() error {
	if w.key == nil {
		return ErrClosed
	}
	return nil
}

// Path returns the wallet file's path.
func (w *Wallet) Path() string { return w.path }

// Network returns the network of the wallet's addresses.
func (w *Wallet) Network() address.Network { return w.net }

// Created returns the time the wallet was created.
func (w *Wallet) Created() time.Time { return w.c.Created }

// Mnemonic returns the wallet's BIP39 mnemonic, for a backup the user
// writes down. It is the wallet's master secret: never log it.
func (w *Wallet) Mnemonic() (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return "", err
	}
	return w.c.Mnemonic, nil
}

// Account returns the wallet's BIP44 account, for deriving any address
// without reserving it. It is wiped by Close.
func (w *Wallet) Account() (*Account, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	return w.account, nil
}

// NextReceiveIndex returns the first receive index not yet handed out.
func (w *Wallet) NextReceiveIndex() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c.NextReceive
}

// NextChangeIndex returns the first change index not yet handed out.
func (w *Wallet) NextChangeIndex() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c.NextChange
}

// ReserveReceive hands out the next n receive keys and records them as
// used with one atomic save, before it returns them: after a crash the
// wallet never hands out the same address twice. A batch costs one save
// whatever n is (see Wallet). If the save fails nothing is reserved. An
// index BIP32 declares invalid (probability 2^-127) is skipped, so such a
// batch would hold one key fewer than n.
func (w *Wallet) ReserveReceive(n int) ([]Key, error) {
	return w.reserve(n, &w.c.NextReceive, func(a *Account, i uint32) (Key, error) { return a.Receive(i) })
}

// ReserveChange is ReserveReceive for the change chain.
func (w *Wallet) ReserveChange(n int) ([]Key, error) {
	return w.reserve(n, &w.c.NextChange, func(a *Account, i uint32) (Key, error) { return a.Change(i) })
}

func (w *Wallet) reserve(n int, next *uint32, derive func(*Account, uint32) (Key, error)) ([]Key, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	if n < 1 || uint64(*next)+uint64(n) > uint64(HardenedOffset) {
		return nil, fmt.Errorf("%w: cannot reserve %d indexes from %d", ErrIndexRange, n, *next)
	}
	keys := make([]Key, 0, n)
	for i := range uint32(n) {
		k, err := derive(w.account, *next+i)
		if errors.Is(err, ErrInvalidChild) {
			continue // BIP32: skip the index (probability < 2^-127)
		}
		if err != nil {
			zeroKeys(keys)
			return nil, err
		}
		keys = append(keys, k)
	}
	old := *next
	*next += uint32(n)
	if err := w.write(true); err != nil {
		*next = old
		zeroKeys(keys)
		return nil, err
	}
	return keys, nil
}

func zeroKeys(keys []Key) {
	for _, k := range keys {
		k.Zero()
	}
}

// LegacyKeys returns the imported keys of a Python kloak node wallet.
// They share storage with the wallet and are wiped by Close.
func (w *Wallet) LegacyKeys() ([]LegacyKey, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	return append([]LegacyKey(nil), w.legacy...), nil
}

// ImportLegacyKeys adds keys (from ImportPythonWallet) to the wallet and
// saves it; keys whose address the wallet already holds are skipped.
func (w *Wallet) ImportLegacyKeys(keys []LegacyKey) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	n := len(w.legacy)
	for _, k := range keys {
		if k.priv == nil {
			return fmt.Errorf("legacy key %d: %w", k.Index, ErrWatchOnly)
		}
		dup := false
		for _, have := range w.legacy {
			dup = dup || have.Address.Equal(k.Address)
		}
		if !dup {
			k.priv = append([]byte(nil), k.priv...)
			w.legacy = append(w.legacy, k)
		}
	}
	if err := w.write(true); err != nil {
		for _, k := range w.legacy[n:] {
			k.Zero()
		}
		w.legacy = w.legacy[:n]
		return err
	}
	return nil
}
