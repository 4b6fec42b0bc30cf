package relay

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// admission counts open connections, in total and per client address, and
// refuses new ones over the limits or once the server is shutting down.
type admission struct {
	maxTotal, maxPerIP int

	mu      sync.Mutex
	total   int
	perIP   map[netip.Prefix]int
	closing bool
	idle    chan struct{} // closed when closing and total reaches 0
}

func newAdmission(maxTotal, maxPerIP int) *admission {
	return &admission{maxTotal: maxTotal, maxPerIP: maxPerIP, perIP: make(map[netip.Prefix]int), idle: make(chan struct{})}
}

// refusal is an HTTP answer to a connection the relay does not take.
type refusal struct {
	status int
	text   string
}

var (
	refuseClosing = &refusal{http.StatusServiceUnavailable, "kloak relay: shutting down\n"}
	refuseTotal   = &refusal{http.StatusServiceUnavailable, "kloak relay: too many connections, try again later\n"}
	refusePerIP   = &refusal{http.StatusTooManyRequests, "kloak relay: too many connections from your address\n"}
)

// admit counts a connection from client, or says why not. The caller must
// call release once the connection is over.
func (a *admission) admit(client netip.Prefix) *refusal {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closing:
		return refuseClosing
	case a.total >= a.maxTotal:
		return refuseTotal
	case a.perIP[client] >= a.maxPerIP:
		return refusePerIP
	}
	a.total++
	a.perIP[client]++
	return nil
}

func (a *admission) release(client netip.Prefix) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	if n := a.perIP[client] - 1; n > 0 {
		a.perIP[client] = n
	} else {
		delete(a.perIP, client)
	}
	if a.closing && a.total == 0 {
		close(a.idle)
	}
}

// close refuses every later connection and returns a channel closed when
// the last counted one is released.
func (a *admission) close() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closing {
		a.closing = true
		if a.total == 0 {
			close(a.idle)
		}
	}
	return a.idle
}

func (a *admission) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// clientAddr returns the address r's limits are counted against: the
// peer's IP address, or, when the peer is a trusted proxy, the rightmost
// address in X-Forwarded-For that is not a trusted proxy. Proxies append
// the address they saw, so entries left of the first untrusted one are
// whatever the client wrote and are not believed.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{} // not TCP (tests, unix sockets): one shared bucket
	}
	addr := ap.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed entry: believe no further
		}
		addr = hop.Unmap()
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return addr
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limitKey is the bucket of a per-address limit: an IPv4 address, or the
// /64 of an IPv6 address (one subscriber's network is usually a /64, and
// any host in it can pick its own address).
func limitKey(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}
