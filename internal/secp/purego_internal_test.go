package secp

// schnorrSignAux is BIP340 signing with the given aux_rand, for the tests.
func (pureGo) schnorrSignAux(priv []byte, hash [32]byte, aux [32]byte) ([64]byte, error) {
	s, _, err := pureGo{}.newSchnorrKey(priv)
	if err != nil {
		return [64]byte{}, err
	}
	defer s.zero()
	return s.(pureSchnorr).signAux(hash, &aux)
}
