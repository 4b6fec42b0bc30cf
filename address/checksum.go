package address

// charset is Kaspa's address alphabet: the value of each 5-bit group is its
// index here.
const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

var charsetRev = func() (r [128]int8) {
	for i := range r {
		r[i] = -1
	}
	for i := 0; i < len(charset); i++ {
		r[charset[i]] = int8(i)
	}
	return r
}()

// polymod is the cashaddr BCH checksum that Kaspa uses (generators from
// rusty-kaspa crypto/addresses/src/bech32.rs).
func polymod(values []byte) uint64 {
	c := uint64(1)
	for _, d := range values {
		c0 := c >> 35
		c = ((c & 0x07ffffffff) << 5) ^ uint64(d)
		if c0&0x01 != 0 {
			c ^= 0x98f2bc8e61
		}
		if c0&0x02 != 0 {
			c ^= 0x79b76d99e2
		}
		if c0&0x04 != 0 {
			c ^= 0xf33e5fb3c4
		}
		if c0&0x08 != 0 {
			c ^= 0xae2eabe2a8
		}
		if c0&0x10 != 0 {
			c ^= 0x1e4f43e470
		}
	}
	return c ^ 1
}

// checksumInput is the prefix's low five bits, a zero separator and the
// 5-bit payload groups.
func checksumInput(prefix string, data5 []byte, extra int) []byte {
	v := make([]byte, 0, len(prefix)+1+len(data5)+extra)
	for i := 0; i < len(prefix); i++ {
		v = append(v, prefix[i]&0x1f)
	}
	v = append(v, 0)
	return append(v, data5...)
}

func checksum(prefix string, data5 []byte) [8]byte {
	v := checksumInput(prefix, data5, 8)
	v = append(v, 0, 0, 0, 0, 0, 0, 0, 0)
	c := polymod(v)
	var out [8]byte
	for i := 0; i < 8; i++ {
		out[i] = byte(c>>(5*(7-i))) & 0x1f
	}
	return out
}

func verifyChecksum(prefix string, data5WithChecksum []byte) bool {
	return polymod(checksumInput(prefix, data5WithChecksum, 0)) == 0
}
