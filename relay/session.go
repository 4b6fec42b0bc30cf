package relay

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A session is a receiver and its blob, keyed by the session id (hex of
// SHA-256 of the E2EE key). Its state moves, under registry.mu:
//
//	pending → claimed   a sender took it and is getting a fee address
//	claimed → pending   the fee address could not be had, or the sender
//	                    left meanwhile: wait on
//	claimed → paired    bridged; the pairing goroutine then tells the
//	                    sender and closes paired
//	pending, claimed → gone   the receiver left, expired or was shut down
//
// A session is in the registry's pending map while pending or claimed, so
// a second receiver with the same id meets a collision and a second sender
// is refused; in its paired map while bridged, and in gone for a minute
// after its receiver has left, so that a later sender is refused at once
// rather than held (Config.SenderWait) for a receiver that has been.
type session struct {
	id       string
	receiver *conn
	blob     message
	// paired is closed by the goroutine that paired the session once the
	// sender has the fee address, the blob and what either wallet sent
	// early: from then on each side relays its own messages.
	paired chan struct{}

	// Guarded by registry.mu.
	state      sessionState
	sender     *conn // set when claimed
	senderGone bool  // the claiming sender left before the pairing was done
	bridge     *bridge
}

type sessionState int

const (
	statePending sessionState = iota
	stateClaimed
	statePaired
	stateGone
)

// registry holds the pending sessions and the senders waiting for theirs,
// and counts sessions.
type registry struct {
	maxPending, maxWaiting int

	mu      sync.Mutex
	pending map[string]*session
	waiting map[string]*conn    // a sender per session id at most
	paired  map[string]*session // bridged, so that a further sender is refused at once
	bridged int
	served  uint64
	// The largest sizes the maps have had: Go maps never shrink, so an
	// emptied map that was large is replaced, and its memory returned.
	pendingPeak, waitingPeak, pairedPeak int

	// gone holds the session ids whose receiver has come and gone (paired
	// and done, left, expired, refused) in the last goneFor: a sender for
	// one is refused at once, as the original refuses it, rather than held
	// for a receiver that has been already. Keys are the first 8 bytes of
	// the id, in goneSlots maps of goneFor/goneSlots each, the oldest
	// dropped whole.
	gone      [goneSlots]map[uint64]struct{}
	goneHead  int       // the slot being filled
	goneSince time.Time // when it began
}

const (
	goneFor   = time.Minute
	goneSlots = 6
)

func newRegistry(maxPending, maxWaiting int) *registry {
	return &registry{
		maxPending: maxPending, maxWaiting: maxWaiting,
		pending: make(map[string]*session), waiting: make(map[string]*conn), paired: make(map[string]*session),
		goneSince: time.Now(),
	}
}

// goneKey is the key of a (normalized, 64 hex characters) session id in
// registry.gone.
func goneKey(id string) uint64 {
	k, _ := strconv.ParseUint(id[:16], 16, 64)
	return k
}

// rotateGone drops the slots of gone older than goneFor. Called with mu.
func (r *registry) rotateGone(now time.Time) {
	const slot = goneFor / goneSlots
	for i := 0; now.Sub(r.goneSince) >= slot; i++ {
		if i == goneSlots { // idle for longer than goneFor: start afresh
			r.gone, r.goneSince = [goneSlots]map[uint64]struct{}{}, now
			return
		}
		r.goneHead = (r.goneHead + 1) % goneSlots
		r.gone[r.goneHead] = nil
		r.goneSince = r.goneSince.Add(slot)
	}
}

// receiverGone records that the receiver of session id has gone (after
// its handshake, whatever happened next). A sender held for that id is
// refused at once.
func (r *registry) receiverGone(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rotateGone(time.Now())
	if r.gone[r.goneHead] == nil {
		r.gone[r.goneHead] = make(map[uint64]struct{})
	}
	r.gone[r.goneHead][goneKey(id)] = struct{}{}
	if w := r.waiting[id]; w != nil {
		r.deleteWaiting(id)
		w.waitingFor = ""
		w.interrupt(endNoReceiver)
	}
}

// receiverWasHere reports whether the receiver of session id has come and
// gone lately. Called with mu.
func (r *registry) receiverWasHere(id string) bool {
	r.rotateGone(time.Now())
	k := goneKey(id)
	for _, m := range r.gone {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// shrinkAt is the size from which an emptied map is replaced.
const shrinkAt = 1024

func (r *registry) deletePending(id string) {
	delete(r.pending, id)
	if len(r.pending) == 0 && r.pendingPeak >= shrinkAt {
		r.pending, r.pendingPeak = make(map[string]*session), 0
	}
}

func (r *registry) deletePaired(s *session) {
	if r.paired[s.id] != s {
		return
	}
	delete(r.paired, s.id)
	if len(r.paired) == 0 && r.pairedPeak >= shrinkAt {
		r.paired, r.pairedPeak = make(map[string]*session), 0
	}
}

func (r *registry) deleteWaiting(id string) {
	delete(r.waiting, id)
	if len(r.waiting) == 0 && r.waitingPeak >= shrinkAt {
		r.waiting, r.waitingPeak = make(map[string]*conn), 0
	}
}

// full reports whether file would refuse a session for lack of room.
func (r *registry) full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending) >= r.maxPending
}

// fileResult is what filing a receiver's session did.
type fileResult int

const (
	filed        fileResult = iota // pending: it waits for a sender
	filedPair                      // claimed by the sender that was waiting: pair it
	collision                      // that id has a receiver already
	registryFull                   // MaxPending receivers wait already
)

// file registers s, its receiver's blob received. A sender waiting for
// that id claims it at once.
func (r *registry) file(s *session) fileResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pending[s.id]; ok {
		return collision
	}
	if len(r.pending) >= r.maxPending {
		return registryFull
	}
	r.pending[s.id] = s
	r.pendingPeak = max(r.pendingPeak, len(r.pending))
	s.receiver.sess = s
	if w := r.waiting[s.id]; w != nil {
		r.deleteWaiting(s.id)
		w.waitingFor = ""
		w.sess = s
		s.sender, s.state = w, stateClaimed
		return filedPair
	}
	s.state = statePending
	return filed
}

// claimResult is what a sender's arrival did.
type claimResult int

const (
	claimed    claimResult = iota // its receiver was pending: pair it
	holding                       // no receiver yet: the sender waits for it
	noReceiver                    // refused: the original's "No matching receiver waiting"
)

// claim gives the pending session id to sender. If there is none, the
// sender is held for it if holding is on (hold), no other sender waits for
// that id, its receiver has not come and gone already, and there is room;
// otherwise it is refused. A session that is claimed or paired already
// refuses every further sender at once: one sender per receiver.
func (r *registry) claim(id string, sender *conn, hold bool) (*session, claimResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.pending[id]; s != nil {
		if s.state != statePending {
			return nil, noReceiver
		}
		s.sender, s.state = sender, stateClaimed
		sender.sess = s
		return s, claimed
	}
	if !hold || r.waiting[id] != nil || r.paired[id] != nil || len(r.waiting) >= r.maxWaiting || r.receiverWasHere(id) {
		return nil, noReceiver
	}
	r.waiting[id] = sender
	r.waitingPeak = max(r.waitingPeak, len(r.waiting))
	sender.waitingFor = id
	return nil, holding
}

// stopWaiting removes sender from the waiting senders, if it is still
// there (no receiver came), and reports whether it was.
func (r *registry) stopWaiting(sender *conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := sender.waitingFor
	if id == "" || r.waiting[id] != sender {
		return false
	}
	r.deleteWaiting(id)
	sender.waitingFor = ""
	return true
}

// unclaim returns a claimed session to pending; what its sender sent
// early is dropped with it.
func (r *registry) unclaim(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.state == stateClaimed {
		s.state = statePending
	}
	if s.sender != nil {
		s.sender.sess = nil
	}
	s.sender, s.senderGone = nil, false
}

// commitResult is how a pairing ended.
type commitResult int

const (
	committed    commitResult = iota
	receiverGone              // the receiver left, expired or was shut down meanwhile
	senderGone                // the sender left meanwhile: the receiver waits on
)

// commit bridges a claimed session: it leaves the map and counts as
// bridged. It returns what both wallets sent early, to be relayed first.
func (r *registry) commit(s *session, b *bridge) (fromReceiver, fromSender []message, res commitResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.state != stateClaimed {
		return nil, nil, receiverGone
	}
	if s.senderGone {
		s.state, s.sender, s.senderGone = statePending, nil, false
		return nil, nil, senderGone
	}
	s.state, s.bridge = statePaired, b
	s.receiver.bridged.Store(true)
	s.sender.bridged.Store(true)
	r.deletePending(s.id)
	r.paired[s.id] = s
	r.pairedPeak = max(r.pairedPeak, len(r.paired))
	r.bridged++
	r.served++
	fromReceiver, fromSender = s.receiver.early, s.sender.early
	s.receiver.early, s.receiver.earlyBytes = nil, 0
	s.sender.early, s.sender.earlyBytes = nil, 0
	return fromReceiver, fromSender, committed
}

func (r *registry) unbridge(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bridged--
	r.deletePaired(s)
}

// abandon removes s on its receiver's behalf (the receiver left, expired,
// overflowed or the server is stopping). If a sender has paired with it,
// nothing is removed and abandon returns their bridge, which the caller
// must stop.
func (r *registry) abandon(s *session) *bridge {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.state == statePaired {
		return s.bridge
	}
	s.state = stateGone
	if r.pending[s.id] == s {
		r.deletePending(s.id)
	}
	return nil
}

// expire removes s when its receiver's PendingTTL is over, unless a sender
// has paired with it meanwhile; it reports whether it did. A session a
// sender has claimed but not yet paired expires (the sender is refused).
func (r *registry) expire(s *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.state != statePending && s.state != stateClaimed {
		return false
	}
	s.state = stateGone
	r.deletePending(s.id)
	return true
}

// senderLeft detaches a sender that left before it was bridged. If it had
// been bridged, it returns the bridge, which the caller must stop.
func (r *registry) senderLeft(sender *conn) *bridge {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id := sender.waitingFor; id != "" && r.waiting[id] == sender {
		r.deleteWaiting(id)
		sender.waitingFor = ""
		return nil
	}
	s := sender.sess
	switch {
	case s == nil || s.sender != sender:
		return nil
	case s.state == statePaired:
		return s.bridge
	case s.state == stateClaimed:
		s.senderGone = true
	}
	return nil
}

// queue keeps m, sent by c before its session was bridged, and reports
// whether it did: it returns false once c's session is paired (then relay
// m), and overflow once c has sent more than the limits allow.
func (r *registry) queue(c *conn, m message, maxMessages int, maxBytes int64) (queued, overflow bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := c.sess; s != nil && s.state == statePaired {
		return false, false
	}
	c.early = append(c.early, keep(m))
	c.earlyBytes += int64(len(m.data))
	return true, len(c.early) > maxMessages || c.earlyBytes > maxBytes
}

func (r *registry) counts() (pending, waiting, bridged int, served uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending), len(r.waiting), r.bridged, r.served
}

// A bridge is a paired session: each wallet's goroutine relays that
// wallet's messages to the other until one side ends, a limit is reached
// or the server stops. Either side stops it; both connections then end.
type bridge struct {
	receiver, sender *conn
	lifetime         atomic.Pointer[time.Timer] // stops the bridge SessionLifetime after pairing
	stopped          atomic.Bool
	onStop           func()

	// Payload bytes relayed each way, for MaxSessionBytes. Each is
	// written by one goroutine at a time: the pairing one, then (after
	// session.paired) the sending wallet's own.
	fromReceiver, fromSender int64
}

func newBridge(receiver, sender *conn, onStop func()) *bridge {
	return &bridge{receiver: receiver, sender: sender, onStop: onStop}
}

// limit starts the bridge's lifetime: it stops after d.
func (b *bridge) limit(d time.Duration) {
	t := time.AfterFunc(d, func() { b.stop(endSessionExpired, endSessionExpired) })
	b.lifetime.Store(t)
	if b.stopped.Load() { // stopped meanwhile: stop saw no timer
		t.Stop()
	}
}

// stop ends the bridge: the receiver's connection is to end with
// forReceiver, the sender's with forSender (unless an earlier reason
// stands). The first stop wins.
func (b *bridge) stop(forReceiver, forSender ending) {
	if b.stopped.Swap(true) {
		return
	}
	if t := b.lifetime.Load(); t != nil {
		t.Stop()
	}
	b.receiver.interrupt(forReceiver)
	b.sender.interrupt(forSender)
	if b.onStop != nil {
		b.onStop()
	}
}
