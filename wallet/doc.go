// Package wallet holds a Kaspa wallet's keys: BIP39 mnemonics, BIP32/BIP44
// derivation, addresses, and kloak's encrypted wallet file.
//
// # Keys
//
// A mnemonic of 12 or 24 English words (NewMnemonic, ValidateMnemonic)
// gives a 64-byte seed (SeedFromMnemonic, BIP39 with an optional
// passphrase). The seed gives a BIP44 account, m/44'/111111'/n' (Kaspa's
// coin type), whose receive chain …/0/i and change chain …/1/i hold the
// address keys. An address is the Schnorr P2PK address (version 0) of the
// key's 32-byte x-only public key:
//
//	seed, err := wallet.SeedFromMnemonic(words, "")
//	acct, err := wallet.NewAccount(seed, 0, address.Mainnet)
//	k, err := acct.Receive(0)   // k.Address, k.Path, k.PrivateKey()
//
// This is standard BIP32, checked against the BIP32 test vectors and
// against rusty-kaspa's and kaspad's own derivation tests: the same words
// show the same addresses here as in Kaspa-NG (rusty-kaspa's wallet core)
// and kaspad's kaspawallet. Extended keys use Kaspa's Base58Check
// versions (kprv/kpub mainnet, ktrv/ktub testnet, kdrv/kdub devnet,
// ksrv/ksub simnet, from kaspad), so NewWatchOnlyAccount derives the
// addresses of an account from its kpub alone.
//
// BIP39 normalizes a passphrase to Unicode NFKD and rusty-kaspa does not;
// SeedFromMnemonic refuses a passphrase on which they would disagree.
//
// # The Python kloak node
//
// The original (Python) kloak node derived its non-hardened steps from the
// parent private key instead of the public key, so its addresses are not
// those of any standard wallet. LegacyKloakKey reproduces that derivation
// and ImportPythonWallet reads the node's wallet file, only so that its
// funds can be moved; nothing in this package uses it for new addresses.
//
// # Wallet file
//
// Create and Open keep a mnemonic, its BIP39 passphrase, the network, the
// account number, the next receive and change indexes, the creation time
// and imported legacy keys in one encrypted file (format version 1):
//
//	"KLOAKWLT" | version u16 | KDF 1=scrypt | log2 N | r u32 | p u32 |
//	salt 32 | password check 16 | nonce 12 | header checksum 4 |
//	ChaCha20-Poly1305(JSON contents), additional data = the 84-byte header
//
// The password goes through scrypt (default N=2^17, r=8, p=1; the
// parameters are in the header) to a key from which HKDF-SHA256 derives
// the encryption key and the password check. A wrong password fails the
// check (ErrWrongPassword) before any decryption; a damaged header fails
// its checksum, and damaged contents fail authentication (ErrCorrupt); a
// format version above 1 is ErrUnsupportedVersion. Every save writes a
// temporary file in the same directory (mode 0600), fsyncs it, renames it
// over the wallet and fsyncs the directory: a crash leaves the old file or
// the new one (and perhaps the temporary file, which the next Open
// removes). Only ciphertext ever reaches the disk.
//
// Open runs scrypt once and keeps the derived key until Close, so saves
// cost no scrypt: ReserveReceive and ReserveChange hand out a batch of
// addresses and record it with one small atomic write before returning.
//
// # Spending
//
// Wallet.Funds spends the wallet's coins through a node (a UTXOSource such
// as *node.Client): UTXOs and Balance of the receive and change addresses
// up to the next index plus a lookahead (immature coinbase outputs, and
// outputs that transactions in the node's mempool spend, left out),
// SelectUTXOs and ContributeUTXO for the two sides of a payjoin,
// SelectChangeUTXO for coins the wallet paid itself (a relay node's
// pulses), FreshAddresses and ChangeAddress, SignInput, and Send for an
// ordinary payment, built and signed but not submitted. Imported legacy keys
// (LegacyKeys) are not among its addresses.
//
// # What it does not do
//
// It does not talk to a node itself (Funds asks its UTXOSource), discover
// used addresses beyond the lookahead, sign transactions other than
// through Funds (package txbuild does, with Key.PrivateKey), handle
// multisig (purpose 45') or ECDSA addresses, import rusty-kaspa's "gen0"
// (KDX) legacy derivation, or lock a wallet file against a second process.
// Go cannot guarantee that secrets are wiped: Zero and Close clear the key
// bytes this package holds, but strings (the mnemonic) and copies made by
// the runtime or encoding/json cannot be cleared.
package wallet
