package testkit

import (
	"runtime"
	"strings"
)

// GoroutinesWith returns the stack of every goroutine of the process whose
// stack contains one of the given strings (function names, typically), one
// string a goroutine, as runtime.Stack prints them. The dump is not cut
// short: its buffer grows until every goroutine fits.
func GoroutinesWith(substrs ...string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, s := range substrs {
			if strings.Contains(g, s) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}
