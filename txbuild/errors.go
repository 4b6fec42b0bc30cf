package txbuild

import "errors"

// Errors a caller can test for with errors.Is. Messages that wrap them carry
// the numbers that matter.
var (
	ErrUTXOCount               = errors.New("need exactly one UTXO entry per input")
	ErrOutputsExceedInputs     = errors.New("outputs spend more than the inputs hold")
	ErrZeroOutput              = errors.New("output of 0 sompi")
	ErrNoInputs                = errors.New("transaction has no inputs")
	ErrBadSigHashType          = errors.New("invalid signature hash type")
	ErrBadSignatureScript      = errors.New("signature script is not a single 65-byte signature push")
	ErrBadSignature            = errors.New("signature does not verify against the previous output")
	ErrUnsupportedScript       = errors.New("previous output script is not a standard P2PK script kloak can sign or verify")
	ErrKeyMismatch             = errors.New("private key does not own the previous output")
	ErrStorageMassIncomputable = errors.New("storage mass overflows (treat as too high)")
)
