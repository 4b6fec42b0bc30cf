package wallet

import (
	"errors"
	"strings"
)

// Errors returned by this package, usually wrapped with the details that
// matter (which word, which path segment, which file). Test with errors.Is.
var (
	// Mnemonics.
	ErrMnemonicWordCount       = errors.New("mnemonic has the wrong number of words")
	ErrMnemonicUnknownWord     = errors.New("mnemonic word is not in the BIP39 English word list")
	ErrMnemonicChecksum        = errors.New("mnemonic checksum mismatch (a word is wrong or the words are out of order)")
	ErrPassphraseNotNormalized = errors.New("BIP39 passphrase is not in Unicode NFKD form")

	// BIP32 keys and paths.
	ErrSeedLength         = errors.New("BIP32 seed must be 16 to 64 bytes")
	ErrInvalidMasterKey   = errors.New("seed gives an invalid BIP32 master key")
	ErrInvalidChild       = errors.New("BIP32 child key is invalid at this index (use the next index)")
	ErrHardenedFromPublic = errors.New("cannot derive a hardened child from a public key")
	ErrDepth              = errors.New("BIP32 key depth exceeds 255")
	ErrInvalidPath        = errors.New("invalid derivation path")
	ErrIndexRange         = errors.New("address index out of range")
	ErrInvalidExtendedKey = errors.New("invalid extended key")
	ErrNotAccountKey      = errors.New("extended key is not an account key (m/44'/111111'/n')")
	ErrWrongNetwork       = errors.New("extended key is for another network")
	ErrUnknownNetwork     = errors.New("unknown Kaspa network")
	ErrWatchOnly          = errors.New("watch-only key has no private key")
	ErrPublicKeyOnly      = errors.New("extended key is public: it has no private key")
	ErrInvalidPrivateKey  = errors.New("invalid secp256k1 private key")

	// Wallet files.
	ErrWrongPassword      = errors.New("wrong password for wallet file")
	ErrCorrupt            = errors.New("wallet file is corrupt (truncated, damaged or not a kloak wallet)")
	ErrUnsupportedVersion = errors.New("wallet file was written by a newer kloak (unsupported format version)")
	ErrExist              = errors.New("wallet file already exists")
	ErrClosed             = errors.New("wallet is closed")
	ErrScryptParams       = errors.New("scrypt parameters out of range")

	// Python kloak node wallets (import only).
	ErrPythonWrongPasswordOrCorrupt = errors.New("wrong password or corrupt Python kloak wallet file (its format cannot tell which)")
	ErrLegacyMismatch               = errors.New("inconsistent Python kloak wallet")
)

// LegacyMismatchError lists every inconsistency found while importing a
// Python kloak wallet: a stored private key that does not give its stored
// address, or one that the original's derivation does not give at its
// index. It wraps ErrLegacyMismatch. No problem text contains a secret.
type LegacyMismatchError struct {
	Problems []string
}

func (e *LegacyMismatchError) Error() string {
	return ErrLegacyMismatch.Error() + ": " + strings.Join(e.Problems, "; ")
}

func (e *LegacyMismatchError) Unwrap() error { return ErrLegacyMismatch }
