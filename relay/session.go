package relay

import (
	"errors"
	"sync"
	"time"
)

// A session is a receiver waiting for its sender, keyed by the session id
// (hex of SHA-256 of the E2EE key). Its state moves, under registry.mu:
//
//	pending → claimed   a sender took it and is getting a fee address
//	claimed → pending   the fee address could not be had; wait on
//	claimed → paired    the sender has the fee address: bridged
//	pending, claimed → gone   the receiver left, expired or was shut down
//
// A session is in the registry's map while pending or claimed, so a second
// receiver with the same id meets a collision and a second sender finds no
// receiver.
type session struct {
	id       string
	receiver *conn
	blob     message
	// paired is closed by the sender once it has sent the fee address and
	// the blob: from then on the receiver may write to the sender.
	paired chan struct{}

	// Guarded by registry.mu.
	state  sessionState
	bridge *bridge
}

type sessionState int

const (
	statePending sessionState = iota
	stateClaimed
	statePaired
	stateGone
)

var (
	errCollision = errors.New("session collision")
	errFull      = errors.New("too many pending sessions")
)

// registry holds the pending sessions and counts sessions.
type registry struct {
	max int

	mu      sync.Mutex
	pending map[string]*session
	bridged int
	served  uint64
}

func newRegistry(max int) *registry {
	return &registry{max: max, pending: make(map[string]*session)}
}

// full reports whether add would refuse a session for lack of room.
func (r *registry) full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending) >= r.max
}

// add registers s as pending.
func (r *registry) add(s *session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pending[s.id]; ok {
		return errCollision
	}
	if len(r.pending) >= r.max {
		return errFull
	}
	s.state = statePending
	r.pending[s.id] = s
	return nil
}

// claim gives the pending session id to one sender, or nil if there is
// none. A later version may wait here for the receiver (bounded by ctx).
func (r *registry) claim(id string) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.pending[id]
	if s == nil || s.state != statePending {
		return nil
	}
	s.state = stateClaimed
	return s
}

// unclaim returns a claimed session to pending.
func (r *registry) unclaim(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.state == stateClaimed {
		s.state = statePending
	}
}

// pair bridges a claimed session: it leaves the map and counts as
// bridged. It fails if the receiver has gone meanwhile.
func (r *registry) pair(s *session, b *bridge) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.state != stateClaimed {
		return false
	}
	s.state = statePaired
	s.bridge = b
	delete(r.pending, s.id)
	r.bridged++
	r.served++
	b.onStop = r.unbridge
	return true
}

func (r *registry) unbridge() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bridged--
}

// abandon removes s on its receiver's behalf (the receiver left, expired,
// overflowed or the server is stopping). If a sender has already paired
// with it, nothing is removed and abandon returns their bridge, which the
// caller must stop.
func (r *registry) abandon(s *session) *bridge {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.state == statePaired {
		return s.bridge
	}
	s.state = stateGone
	if r.pending[s.id] == s {
		delete(r.pending, s.id)
	}
	return nil
}

func (r *registry) counts() (pending, bridged int, served uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending), r.bridged, r.served
}

// A bridge is a paired session: the sender's and the receiver's
// connections relay each other's frames until one side ends, a limit is
// reached or the server stops. Either side stops it; both then close.
type bridge struct {
	receiver, sender *conn
	deadline         time.Time // SessionLifetime after pairing
	done             chan struct{}
	once             sync.Once
	end              ending // why it stopped; read after done is closed
	onStop           func()
}

func newBridge(lifetime time.Duration, receiver, sender *conn) *bridge {
	return &bridge{receiver: receiver, sender: sender, deadline: time.Now().Add(lifetime), done: make(chan struct{})}
}

// stop ends the bridge for the reason e; the first reason wins.
func (b *bridge) stop(e ending) {
	b.once.Do(func() {
		b.end = e
		close(b.done)
		if b.onStop != nil {
			b.onStop()
		}
	})
}
