package amount

import (
	"errors"
	"testing"
)

func TestParseKAS(t *testing.T) {
	tests := []struct {
		in   string
		want Sompi
		err  error
	}{
		{"0", 0, nil},
		{"1", 100_000_000, nil},
		{"10.5", 1_050_000_000, nil},
		{"0.00000001", 1, nil},
		{"0.1", 10_000_000, nil},
		{"000.10", 10_000_000, nil},
		{"29000000000", MaxSompi, nil},
		{"28999999999.99999999", MaxSompi - 1, nil},
		{"29000000000.00000001", 0, ErrAboveMaxSompi},
		{"184467440737.09551616", 0, ErrAboveMaxSompi},
		{"99999999999999999999999", 0, ErrAboveMaxSompi},
		{"0.000000001", 0, ErrTooPrecise},
		{"0.000000000", 0, ErrTooPrecise},
		{"-1", 0, ErrNegative},
		{"-0", 0, ErrNegative},
		{"NaN", 0, ErrSyntax},
		{"nan", 0, ErrSyntax},
		{"inf", 0, ErrSyntax},
		{"", 0, ErrSyntax},
		{"1e-05", 0, ErrSyntax},
		{"+1", 0, ErrSyntax},
		{".5", 0, ErrSyntax},
		{"5.", 0, ErrSyntax},
		{"1_0", 0, ErrSyntax},
		{" 1", 0, ErrSyntax},
		{"1,5", 0, ErrSyntax},
		{"0x10", 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := ParseKAS(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseKAS(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseKASNumber(t *testing.T) {
	tests := []struct {
		in   string
		want Sompi
		err  error
	}{
		{"1e-05", 1000, nil},
		{"1E-05", 1000, nil},
		{"1.5e+2", 15_000_000_000, nil},
		{"1.5e2", 15_000_000_000, nil},
		{"10.0", 1_000_000_000, nil},
		{"1e-08", 1, nil},
		{"1e-09", 0, ErrTooPrecise},
		{"0.100000000000", 10_000_000, nil},
		{"0.30000000000000004", 0, ErrTooPrecise},
		{"123456789e-8", 123456789, nil},
		{"2.9e10", MaxSompi, nil},
		{"2.9e11", 0, ErrAboveMaxSompi},
		{"1e999", 0, ErrAboveMaxSompi},
		{"1e-999", 0, ErrTooPrecise},
		{"0e999", 0, nil},
		{"1e9999", 0, ErrSyntax},
		{"1e", 0, ErrSyntax},
		{"1e+", 0, ErrSyntax},
		{"-1e-05", 0, ErrNegative},
		{"Infinity", 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := ParseKASNumber(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseKASNumber(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestKASRoundTrip(t *testing.T) {
	for _, v := range []Sompi{0, 1, 10, 99_999_999, 100_000_000, 1_050_000_000, 123_456_789, MaxSompi, MaxSompi - 1} {
		s := v.KAS()
		got, err := ParseKAS(s)
		if err != nil || got != v {
			t.Errorf("ParseKAS(%q) = %d, %v; want %d", s, got, err, v)
		}
	}
	if got := Sompi(1_050_000_000).String(); got != "10.5 KAS" {
		t.Errorf("String() = %q", got)
	}
	if got := Sompi(1).KAS(); got != "0.00000001" {
		t.Errorf("KAS() = %q", got)
	}
}

func TestAdd(t *testing.T) {
	if s, err := Add(1, 2); err != nil || s != 3 {
		t.Fatalf("Add(1,2) = %d, %v", s, err)
	}
	if _, err := Add(MaxSompi, 1); !errors.Is(err, ErrAboveMaxSompi) {
		t.Fatalf("Add(MaxSompi,1) err = %v", err)
	}
	if _, err := Add(^Sompi(0), 2); !errors.Is(err, ErrAboveMaxSompi) {
		t.Fatalf("overflow err = %v", err)
	}
}

func FuzzParseKASNumber(f *testing.F) {
	for _, s := range []string{"10.5", "1e-05", "0.00000001", "29000000000", "-1", "nan", "1.5E+2", "0.30000000000000004"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseKASNumber(s)
		if err != nil {
			return
		}
		if v > MaxSompi {
			t.Fatalf("ParseKASNumber(%q) = %d above MaxSompi", s, v)
		}
		// Whatever parses must round-trip through the canonical form.
		back, err := ParseKAS(v.KAS())
		if err != nil || back != v {
			t.Fatalf("round trip of %q: %q -> %d, %v", s, v.KAS(), back, err)
		}
		if strict, err := ParseKAS(s); err == nil && strict != v {
			t.Fatalf("ParseKAS(%q) = %d but ParseKASNumber = %d", s, strict, v)
		}
	})
}
