package amount

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SompiPerKAS is the number of sompi in one KAS.
const SompiPerKAS = 100_000_000

// MaxSompi is the maximum supply of Kaspa in sompi: 29 billion KAS
// (rusty-kaspa consensus/core/src/constants.rs, MAX_SOMPI).
const MaxSompi Sompi = 29_000_000_000 * SompiPerKAS

// Sompi is an amount of Kaspa in its smallest unit.
type Sompi uint64

// Errors returned by the parsers. They are wrapped with the offending text, so
// test for them with errors.Is.
var (
	ErrSyntax        = errors.New("not a decimal KAS amount")
	ErrNegative      = errors.New("amount is negative")
	ErrTooPrecise    = errors.New("amount has more than 8 decimal places (finer than 1 sompi)")
	ErrAboveMaxSompi = errors.New("amount is above the maximum supply of 29,000,000,000 KAS")
)

// KAS formats a as plain decimal KAS text with no trailing zeros and no
// exponent: 1,050,000,000 sompi is "10.5", 1 sompi is "0.00000001".
func (a Sompi) KAS() string {
	whole := uint64(a) / SompiPerKAS
	frac := uint64(a) % SompiPerKAS
	if frac == 0 {
		return strconv.FormatUint(whole, 10)
	}
	f := fmt.Sprintf("%08d", frac)
	return strconv.FormatUint(whole, 10) + "." + strings.TrimRight(f, "0")
}

// String formats a for people, for example "10.5 KAS".
func (a Sompi) String() string { return a.KAS() + " KAS" }

// ParseKAS converts plain decimal KAS text ("10", "10.5", "0.00000001") to
// sompi. It accepts digits with an optional point and at most eight
// decimals; no sign, exponent, spaces or digit separators.
func ParseKAS(s string) (Sompi, error) {
	return parse(s, false)
}

// ParseKASNumber converts a JSON number of KAS to sompi exactly. It takes
// everything [ParseKAS] takes and also the exponent forms that a JSON
// encoder emits for floating-point values, such as "1e-05" or "1.5E+2",
// and trailing zeros past the eighth decimal ("0.100000000000"). The value
// must still be a whole number of sompi: "0.123456789" is refused.
func ParseKASNumber(s string) (Sompi, error) {
	return parse(s, true)
}

func parse(s string, allowExponent bool) (Sompi, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty text", ErrSyntax)
	}
	if len(s) > 64 {
		return 0, fmt.Errorf("%w: %d characters is too long", ErrSyntax, len(s))
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("%w: %q", ErrNegative, s)
	}
	mantissa, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if !allowExponent {
			return 0, fmt.Errorf("%w: %q has an exponent; write it as plain decimal", ErrSyntax, s)
		}
		mantissa = s[:i]
		e, err := parseExponent(s[i+1:])
		if err != nil {
			return 0, fmt.Errorf("%w: %q: %v", ErrSyntax, s, err)
		}
		exp = e
	}
	intPart, fracPart, hasPoint := strings.Cut(mantissa, ".")
	if intPart == "" || !allDigits(intPart) || (hasPoint && (fracPart == "" || !allDigits(fracPart))) {
		return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	if !allowExponent && len(fracPart) > 8 {
		return 0, fmt.Errorf("%w: %q", ErrTooPrecise, s)
	}
	// The value is digits × 10^(exp − len(fracPart)); in sompi the exponent
	// grows by 8.
	digits := strings.TrimLeft(intPart+fracPart, "0")
	shift := exp - len(fracPart) + 8
	if digits == "" {
		return 0, nil
	}
	if shift < 0 {
		// Dropping -shift digits must drop only zeros.
		drop := -shift
		if drop > len(digits) || strings.TrimRight(digits[len(digits)-drop:], "0") != "" {
			return 0, fmt.Errorf("%w: %q", ErrTooPrecise, s)
		}
		digits = digits[:len(digits)-drop]
		shift = 0
	}
	if len(digits)+shift > 19 {
		return 0, fmt.Errorf("%w: %q", ErrAboveMaxSompi, s)
	}
	v, err := strconv.ParseUint(digits+strings.Repeat("0", shift), 10, 64)
	if err != nil || Sompi(v) > MaxSompi {
		return 0, fmt.Errorf("%w: %q", ErrAboveMaxSompi, s)
	}
	return Sompi(v), nil
}

func parseExponent(s string) (int, error) {
	sign := 1
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	if s == "" || !allDigits(s) {
		return 0, errors.New("bad exponent")
	}
	s = strings.TrimLeft(s, "0")
	if len(s) > 3 {
		return 0, errors.New("exponent out of range")
	}
	e := 0
	if s != "" {
		e, _ = strconv.Atoi(s)
	}
	return sign * e, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Add returns a + b, or an error if the sum overflows uint64 or exceeds
// MaxSompi.
func Add(a, b Sompi) (Sompi, error) {
	s := a + b
	if s < a || s > MaxSompi {
		return 0, fmt.Errorf("%w: %d + %d sompi", ErrAboveMaxSompi, a, b)
	}
	return s, nil
}
