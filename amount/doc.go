// Package amount holds Kaspa amounts as integer sompi and converts them to
// and from decimal KAS text exactly.
//
// One KAS is 100,000,000 sompi. Every amount in kloak is a [Sompi]
// (a uint64); no floating-point value ever touches one. Decimal text such
// as "10.5" or "0.00000001" converts to sompi exactly or is refused with an
// error that names the problem: a sign, a non-number, more than eight
// decimal places, or a value above the maximum supply.
//
//	a, err := amount.ParseKAS("10.5") // 1,050,000,000 sompi
//	fmt.Println(a.KAS())               // "10.5"
//
// The package does not round. A value that is not a whole number of sompi
// is an error, never a silently truncated amount.
package amount
