//go:build !linux

package relay

import "errors"

// parker is Linux's (park_linux.go); elsewhere connections do not park.
type parker struct{}

func newParker() (*parker, error) {
	return nil, errors.New("parking needs Linux's epoll")
}

func (p *parker) arm(c *conn) bool { return false }
func (p *parker) forget(c *conn)   {}
func (p *parker) stop()            {}
