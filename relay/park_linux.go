package relay

import (
	"os"
	"sync"
	"syscall"
)

// parker watches the sockets of parked connections with one epoll
// instance, on one goroutine (run), and resumes a connection when its
// socket has something to read or has closed. Each connection is armed
// one-shot: after one event it is not watched again until it parks again.
// An event carries the connection's id, never its socket's number, which
// the kernel reuses.
//
// run waits on the epoll instance through Go's own poller (an epoll file
// descriptor is itself readable when it has events): a goroutine blocked
// in epoll_wait would hold one of the process's Ps until the scheduler
// took it back, up to 10 ms, and delay every other goroutine meanwhile.
type parker struct {
	epfd int
	file *os.File // epfd, in Go's poller; closing it stops run
	raw  syscall.RawConn

	mu      sync.Mutex
	conns   map[uint64]*conn // registered with epoll, by conn.id
	peak    int              // the map's largest size (a Go map never shrinks)
	stopped bool
	done    chan struct{} // closed when run has returned
}

func newParker() (*parker, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	file := os.NewFile(uintptr(epfd), "relay-epoll") // non-blocking: in Go's poller
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, err
	}
	p := &parker{epfd: epfd, file: file, raw: raw, conns: make(map[uint64]*conn), done: make(chan struct{})}
	go p.run()
	return p, nil
}

// arm watches c's socket for one event.
func (p *parker) arm(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || c.wire.fd < 0 {
		return false
	}
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(c.id)),
		Pad:    int32(uint32(c.id >> 32)),
	}
	_, known := p.conns[c.id]
	op := syscall.EPOLL_CTL_MOD
	if !known {
		op = syscall.EPOLL_CTL_ADD
	}
	if err := syscall.EpollCtl(p.epfd, op, c.wire.fd, &ev); err != nil {
		return false
	}
	if !known {
		p.conns[c.id] = c
		p.peak = max(p.peak, len(p.conns))
	}
	return true
}

// forget forgets c, which is ending. It does not remove c's socket from
// the epoll instance: the kernel does that when the socket closes, and
// the socket may be closed already (coder/websocket closes it on a close
// frame) and its number given to a new connection, whose registration an
// EPOLL_CTL_DEL by number would remove. An event for a forgotten
// connection finds nothing in conns and is dropped.
func (p *parker) forget(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, known := p.conns[c.id]; !known {
		return
	}
	delete(p.conns, c.id)
	if len(p.conns) == 0 && p.peak >= shrinkAt {
		p.conns, p.peak = make(map[uint64]*conn), 0
	}
}

// run waits for events and resumes the connections they are for.
func (p *parker) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 128)
	var n int
	var werr error
	poll := func(fd uintptr) bool {
		n, werr = syscall.EpollWait(int(fd), events, 0) // never blocks
		return n > 0 || (werr != nil && werr != syscall.EINTR)
	}
	for {
		// Waits in Go's poller until the epoll instance has events; the
		// poll comes first (RawRead clears readiness before it calls it).
		if err := p.raw.Read(poll); err != nil || werr != nil {
			p.close() // stopped, or epoll failed: connections then wait on goroutines
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil {
				c.wake()
			}
		}
	}
}

// close stops parking: it closes the epoll instance and resumes every
// connection still parked (none, after Shutdown's interrupts), which then
// waits on its goroutine.
func (p *parker) close() {
	p.mu.Lock()
	p.stopped = true
	conns := make([]*conn, 0, len(p.conns))
	for _, c := range p.conns {
		conns = append(conns, c)
	}
	p.conns = nil
	p.file.Close()
	p.mu.Unlock()
	for _, c := range conns {
		c.wake()
	}
}

// stop stops run and waits for it.
func (p *parker) stop() {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		p.file.Close() // run's wait returns os.ErrClosed
	}
	p.mu.Unlock()
	<-p.done
}
