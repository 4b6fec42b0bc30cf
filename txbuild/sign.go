package txbuild

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/kloakprotocol/kloak/internal/secp"
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
		key, err := secp.NewSchnorrKey(priv)
		if errors.Is(err, secp.ErrInvalidPrivateKey) {
			return fmt.Errorf("input %d: bad private key: %w", i, err)
		} else if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		defer key.Zero()
		if ser := key.PublicKey(); !bytes.Equal(ser[:], owner) {
			return fmt.Errorf("input %d: %w", i, ErrKeyMismatch)
		}
		h, err := s.Schnorr(i, t)
		if err != nil {
			return err
		}
		sg, err := key.Sign(h)
		if err != nil {
			return fmt.Errorf("input %d: sign: %w", i, err)
		}
		sig = sg[:]
	default: // ECDSA
		ser, err := secp.ECDSAPublicKey(priv)
		if errors.Is(err, secp.ErrInvalidPrivateKey) {
			return fmt.Errorf("input %d: bad private key: %w", i, err)
		} else if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if !bytes.Equal(ser[:], owner) {
			return fmt.Errorf("input %d: %w", i, ErrKeyMismatch)
		}
		h, err := s.ECDSA(i, t)
		if err != nil {
			return err
		}
		sg, err := secp.ECDSASign(priv, h)
		if err != nil {
			return fmt.Errorf("input %d: sign: %w", i, err)
		}
		sig = sg[:]
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
	var h Hash
	if kind == 0 {
		h, err = s.Schnorr(i, t)
		if err != nil {
			return err
		}
		err = secp.SchnorrVerify(owner, h, script[1:65])
	} else {
		h, err = s.ECDSA(i, t)
		if err != nil {
			return err
		}
		err = secp.ECDSAVerify(owner, h, script[1:65])
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, secp.ErrVerify):
		return fmt.Errorf("input %d: %w", i, ErrBadSignature)
	default: // the key or the signature does not parse
		return fmt.Errorf("input %d: %w: %v", i, ErrBadSignature, err)
	}
}
