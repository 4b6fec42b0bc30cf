//go:build !unix

package relay

// waitWithoutBuffer: elsewhere than on Unix a connection keeps small
// bufio buffers of its own (readBufferSize, writeBufferSize) instead.
const waitWithoutBuffer = false

func (w *wire) readFD(fd uintptr) bool { panic("relay: no wire on this system") }
