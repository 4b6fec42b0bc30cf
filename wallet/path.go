package wallet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Path is a BIP32 derivation path: child indexes from the master key,
// hardened ones at or above HardenedOffset.
type Path []uint32

// ParsePath parses a path such as "m/44'/111111'/0'/0/5". Hardened
// segments end in ', h or H; "m" alone is the master key.
func ParsePath(s string) (Path, error) {
	segs := strings.Split(s, "/")
	if segs[0] != "m" {
		return nil, fmt.Errorf("%w %q: must start with \"m\"", ErrInvalidPath, s)
	}
	p := make(Path, 0, len(segs)-1)
	for n, seg := range segs[1:] {
		hardened := false
		if t, ok := strings.CutSuffix(seg, "'"); ok {
			seg, hardened = t, true
		} else if t, ok := strings.CutSuffix(seg, "h"); ok {
			seg, hardened = t, true
		} else if t, ok := strings.CutSuffix(seg, "H"); ok {
			seg, hardened = t, true
		}
		if seg == "" {
			return nil, fmt.Errorf("%w %q: segment %d is empty", ErrInvalidPath, s, n+1)
		}
		if seg[0] < '0' || seg[0] > '9' { // ParseUint takes no sign, but say so plainly
			return nil, fmt.Errorf("%w %q: segment %d %q is not a number", ErrInvalidPath, s, n+1, seg)
		}
		i, err := strconv.ParseUint(seg, 10, 32)
		switch {
		case errors.Is(err, strconv.ErrRange) || err == nil && i >= uint64(HardenedOffset):
			return nil, fmt.Errorf("%w %q: segment %d index %s is too large: at most %d (hardened: add ')", ErrInvalidPath, s, n+1, seg, HardenedOffset-1)
		case err != nil:
			return nil, fmt.Errorf("%w %q: segment %d %q is not a number", ErrInvalidPath, s, n+1, seg)
		}
		if hardened {
			i += uint64(HardenedOffset)
		}
		p = append(p, uint32(i))
	}
	return p, nil
}

// String writes p with ' for hardened steps: "m/44'/111111'/0'/0/5".
func (p Path) String() string {
	var b strings.Builder
	b.WriteString("m")
	for _, i := range p {
		b.WriteString("/")
		b.WriteString(formatIndex(i))
	}
	return b.String()
}
