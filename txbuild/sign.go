package txbuild

import (
	"bytes"
	"fmt"

	secp256k1 "github.com/kaspanet/go-secp256k1"
)

// SignInput signs input i of tx with the 32-byte private key priv, which
// must own the previous output utxos[i] (a Schnorr or ECDSA P2PK script),
// and writes the signature script OP_DATA_65 <64-byte signature> <type>
// into the input. Schnorr signatures are BIP340 with fresh auxiliary
// randomness. The signature is verified before SignInput returns.
func SignInput(tx *Transaction, utxos []UTXOEntry, i int, t SigHashType, priv []byte) error {
	s, err := NewSigHasher(tx, utxos)
	if err != nil {
		return err
	}
	return s.SignInput(i, t, priv)
}

// SignInput is SignInput for a transaction whose SigHasher already exists.
// Signing changes only signature scripts, which no signature hash covers,
// so one SigHasher serves every input.
func (s *SigHasher) SignInput(i int, t SigHashType, priv []byte) error {
	if i < 0 || i >= len(s.tx.Inputs) {
		return fmt.Errorf("%w: %d of %d", errInputIndex, i, len(s.tx.Inputs))
	}
	kind, owner, err := signatureKind(s.utxos[i].ScriptPublicKey)
	if err != nil {
		return fmt.Errorf("input %d: %w", i, err)
	}
	var sig []byte
	switch kind {
	case 0: // Schnorr
		key, err := secp256k1.DeserializeSchnorrPrivateKeyFromSlice(priv)
		if err != nil {
			return fmt.Errorf("input %d: bad private key: %w", i, err)
		}
		pub, err := key.SchnorrPublicKey()
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		ser, err := pub.Serialize()
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if !bytes.Equal(ser[:], owner) {
			return fmt.Errorf("input %d: %w", i, ErrKeyMismatch)
		}
		h, err := s.Schnorr(i, t)
		if err != nil {
			return err
		}
		hh := secp256k1.Hash(h)
		sg, err := key.SchnorrSign(&hh)
		if err != nil {
			return fmt.Errorf("input %d: sign: %w", i, err)
		}
		sig = sg.Serialize()[:]
	default: // ECDSA
		key, err := secp256k1.DeserializeECDSAPrivateKeyFromSlice(priv)
		if err != nil {
			return fmt.Errorf("input %d: bad private key: %w", i, err)
		}
		pub, err := key.ECDSAPublicKey()
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		ser, err := pub.Serialize()
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if !bytes.Equal(ser[:], owner) {
			return fmt.Errorf("input %d: %w", i, ErrKeyMismatch)
		}
		h, err := s.ECDSA(i, t)
		if err != nil {
			return err
		}
		hh := secp256k1.Hash(h)
		sg, err := key.ECDSASign(&hh)
		if err != nil {
			return fmt.Errorf("input %d: sign: %w", i, err)
		}
		sig = sg.Serialize()[:]
	}
	script := make([]byte, 0, 66)
	script = append(script, 0x41)
	script = append(script, sig...)
	script = append(script, byte(t))
	s.tx.Inputs[i].SignatureScript = script
	if err := s.VerifyInput(i); err != nil {
		return fmt.Errorf("input %d: own signature does not verify: %w", i, err)
	}
	return nil
}

// VerifyInput checks the signature script of input i of tx against the
// previous output utxos[i]: a single 65-byte push of a 64-byte signature
// and a valid hash type, made by the key the script pays to.
func VerifyInput(tx *Transaction, utxos []UTXOEntry, i int) error {
	s, err := NewSigHasher(tx, utxos)
	if err != nil {
		return err
	}
	return s.VerifyInput(i)
}

// VerifyInput is VerifyInput with this SigHasher's transaction.
func (s *SigHasher) VerifyInput(i int) error {
	if i < 0 || i >= len(s.tx.Inputs) {
		return fmt.Errorf("%w: %d of %d", errInputIndex, i, len(s.tx.Inputs))
	}
	kind, owner, err := signatureKind(s.utxos[i].ScriptPublicKey)
	if err != nil {
		return fmt.Errorf("input %d: %w", i, err)
	}
	script := s.tx.Inputs[i].SignatureScript
	if len(script) != 66 || script[0] != 0x41 {
		return fmt.Errorf("input %d: %w (%d bytes)", i, ErrBadSignatureScript, len(script))
	}
	t := SigHashType(script[65])
	if !t.Valid() {
		return fmt.Errorf("input %d: %w: 0x%02x", i, ErrBadSigHashType, script[65])
	}
	if kind == 0 {
		pub, err := secp256k1.DeserializeSchnorrPubKey(owner)
		if err != nil {
			return fmt.Errorf("input %d: %w: %v", i, ErrBadSignature, err)
		}
		sig, err := secp256k1.DeserializeSchnorrSignatureFromSlice(script[1:65])
		if err != nil {
			return fmt.Errorf("input %d: %w: %v", i, ErrBadSignature, err)
		}
		h, err := s.Schnorr(i, t)
		if err != nil {
			return err
		}
		hh := secp256k1.Hash(h)
		if !pub.SchnorrVerify(&hh, sig) {
			return fmt.Errorf("input %d: %w", i, ErrBadSignature)
		}
		return nil
	}
	pub, err := secp256k1.DeserializeECDSAPubKey(owner)
	if err != nil {
		return fmt.Errorf("input %d: %w: %v", i, ErrBadSignature, err)
	}
	sig, err := secp256k1.DeserializeECDSASignatureFromSlice(script[1:65])
	if err != nil {
		return fmt.Errorf("input %d: %w: %v", i, ErrBadSignature, err)
	}
	h, err := s.ECDSA(i, t)
	if err != nil {
		return err
	}
	hh := secp256k1.Hash(h)
	if !pub.ECDSAVerify(&hh, sig) {
		return fmt.Errorf("input %d: %w", i, ErrBadSignature)
	}
	return nil
}
