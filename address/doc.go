// Package address encodes and decodes Kaspa addresses and converts them to
// and from script public keys.
//
// A Kaspa address is "prefix:payload". The prefix names the network
// (kaspa, kaspatest, kaspasim, kaspadev). The payload is the version byte
// followed by the key or script hash, written in 5-bit groups with Kaspa's
// own 32-character alphabet and an 8-character checksum from Kaspa's
// cashaddr-style polymod (not bech32's). Three versions exist:
//
//	0  Schnorr P2PK  32-byte x-only public key   script 0x20 <key> 0xac
//	1  ECDSA P2PK    33-byte compressed key      script 0x21 <key> 0xab
//	8  P2SH          32-byte script hash         script 0xaa 0x20 <hash> 0x87
//
// Decode checks the checksum, the version, the payload length and, since a
// payment to the wrong network is a payment lost, that the address belongs
// to the network the caller expects:
//
//	a, err := address.Decode("kaspa:qqudhfpw...", address.Mainnet)
//	spk := a.ScriptPublicKey()
//
// Sources: rusty-kaspa crypto/addresses and crypto/txscript/src/standard.rs.
package address
