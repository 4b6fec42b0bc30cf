//go:build unix

package relay

import "syscall"

// waitWithoutBuffer: a wire waits for readability through
// syscall.RawConn and reads with read(2).
const waitWithoutBuffer = true

// readFD is the wire's syscall.RawConn read function: it reads what the
// socket has, or reports false (wait for readability, then call again) if
// it has nothing yet. A pooled buffer is taken for the read and given back
// if there was nothing to read. It must try the read before any wait:
// RawRead clears the poller's readiness before it calls readFD, so data
// that came before would bring no new event to wait for.
func (w *wire) readFD(fd uintptr) bool {
	dst, pooled := w.dst, w.dst == nil
	if pooled {
		dst = getBuffer()
		dst = dst[:cap(dst)]
	}
	for {
		n, err := syscall.Read(int(fd), dst)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if pooled {
				putBuffer(dst)
			}
			if w.noWait {
				w.got, w.rerr = nil, errWouldPark
				return true
			}
			return false
		}
		w.got, w.rerr = dst[:max(n, 0)], err
		return true
	}
}
