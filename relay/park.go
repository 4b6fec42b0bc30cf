package relay

// Parking: a connection that waits for the other wallet is served by no
// goroutine at all until something happens to it. On Linux the server's
// parker watches parked connections' sockets with one epoll instance and
// one goroutine (park_linux.go); elsewhere connections do not park.
//
// A parked connection resumes, on a fresh goroutine, when its wallet sends
// something (a message, a ping, a close frame) or leaves, and when an
// interrupt comes (a timeout, the other wallet's end, Shutdown). Pairing
// does not resume it: the other wallet's goroutine writes to it, and it
// resumes when its own wallet next sends something.

// park parks c if it can, and reports whether it did: the calling
// goroutine must then stop serving c at once (another may already be
// resuming it).
func (c *conn) park() bool {
	p := c.srv.parking()
	if p == nil || c.wire == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end != nil || c.finishing {
		return false // its next read ends it
	}
	if !p.arm(c) {
		return false
	}
	c.parked = true
	return true
}

// wake resumes c if it is parked: its wallet sent something or left.
func (c *conn) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parked {
		c.woken = true
	}
	c.unparkLocked()
}

func (c *conn) unparkLocked() {
	if c.parked {
		c.parked = false
		c.srv.workers.run(c.resume)
	}
}

// parking returns the server's parker, starting it on first use, or nil
// where connections do not park.
func (s *Server) parking() *parker {
	if p := s.parker.Load(); p != nil {
		return p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.parker.Load(); p != nil || s.parkFailed || s.stopped {
		return p
	}
	p, err := newParker()
	if err != nil {
		s.parkFailed = true
		s.log.Debug("relay: connections cannot park; each waits on a goroutine", "err", err)
		return nil
	}
	s.parker.Store(p)
	return p
}

// unpark forgets c, which is ending, if it ever parked.
func (s *Server) unpark(c *conn) {
	if p := s.parker.Load(); p != nil {
		p.forget(c)
	}
}

// stopParking stops the parker, once every connection has been
// interrupted (Shutdown): no connection parks after that.
func (s *Server) stopParking() {
	if p := s.parker.Load(); p != nil {
		p.stop()
	}
}
