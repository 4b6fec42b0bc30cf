package cli

import (
	"fmt"
	"io"
	"os"
)

// MaxInput bounds what a command reads whole from a file or standard
// input that is not a secret: 16 MiB, far above a standard transaction to
// inspect or a Python node's wallet file to import (a few hundred bytes
// per address).
const MaxInput = 16 << 20

// TooLargeError says that an input was longer than the limit its reader
// allows.
type TooLargeError struct {
	Name  string // the file's path, or "standard input"
	Limit int64  // bytes
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes", e.Name, e.Limit)
}

// ReadLimited reads r to its end, at most limit bytes; a longer input is
// a *TooLargeError naming name. Errors from r are returned as they are.
// What was read of a too large input is cleared, for it may be a secret.
func ReadLimited(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		clear(b)
		return nil, err
	}
	if int64(len(b)) > limit {
		clear(b)
		return nil, &TooLargeError{Name: name, Limit: limit}
	}
	return b, nil
}

// ReadFile reads the file at path, at most limit bytes, as ReadLimited
// does: mnemonic and passphrase files, wallet files to import. The caller
// clears what it holds once done.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadLimited(f, path, limit)
}
