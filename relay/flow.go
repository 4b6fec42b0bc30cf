package relay

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
)

// run is the protocol of one connection, from its handshake: it returns
// how the connection is to end (serve sends that), or the rest of its life
// (serve runs it, and each goroutine that resumes it after it parks).
func (c *conn) run() (ending, restFunc) {
	cfg := &c.srv.cfg
	t := time.AfterFunc(cfg.HandshakeTimeout, func() { c.interrupt(endHandshakeLate) })
	m, err := c.read()
	t.Stop()
	if err != nil {
		return c.conclude(readEnding(err)), nil
	}
	// Text or binary: the original json.loads either.
	h, err := kpp.ParseHandshake(m.data)
	putBuffer(m.data)
	if err != nil {
		var notice *kpp.RelayError
		if !errors.As(err, &notice) {
			notice = &kpp.RelayError{Code: "Invalid handshake", Message: err.Error()}
		}
		c.debug("relay: handshake refused", "error", notice.Code)
		return c.conclude(endInvalid(notice)), nil
	}
	c.role, c.session, c.sid = h.Role, h.SessionID[:8], h.SessionID
	if h.Role == kpp.RoleReceiver {
		return c.runReceiver(h.SessionID)
	}
	return c.runSender(h.SessionID)
}

// restFunc is what a connection does after its first phase, until it is
// to end (it returns why) or parks (it returns parked).
type restFunc func() (e ending, parked bool)

// runReceiver reads the receiver's blob and files the session. The rest,
// until the connection is to end, keeps what the receiver sends and, once
// a sender is paired, relays it. The relay sends the receiver nothing
// while it waits: the original sends no acknowledgement.
func (c *conn) runReceiver(id string) (ending, restFunc) {
	cfg, reg := &c.srv.cfg, c.srv.sessions
	if reg.full() {
		c.log(slog.LevelWarn, "relay: receiver refused: too many pending sessions", "max", cfg.MaxPending)
		return c.conclude(endBusy), nil
	}
	t := time.AfterFunc(cfg.BlobTimeout, func() { c.interrupt(endBlobLate) })
	blob, err := c.read()
	t.Stop()
	if err != nil {
		return c.conclude(readEnding(err)), nil
	}
	s := &session{id: id, receiver: c, blob: keep(blob), paired: make(chan struct{})}
	putBuffer(blob.data)
	switch reg.file(s) {
	case collision:
		c.debug("relay: session collision")
		return c.conclude(endCollision), nil
	case registryFull:
		c.log(slog.LevelWarn, "relay: receiver refused: too many pending sessions", "max", cfg.MaxPending)
		return c.conclude(endBusy), nil
	case filedPair:
		c.debug("relay: receiver filed; its sender was waiting")
		c.srv.pair(s)
	default:
		c.debug("relay: receiver waiting")
	}
	ttl := time.AfterFunc(cfg.PendingTTL, func() {
		if reg.expire(s) {
			c.debug("relay: receiver expired", "ttl", cfg.PendingTTL)
			c.interrupt(endExpired)
		}
	})
	return ending{}, func() (ending, bool) {
		e, parked := c.relayLoop()
		if parked {
			return e, true
		}
		ttl.Stop()
		// Leave: if a sender paired meanwhile, their bridge ends too.
		if b := reg.abandon(s); b != nil {
			return c.leaveBridge(b, e), false
		}
		return e, false
	}
}

// runSender pairs the sender with its receiver: at once if the receiver's
// blob is filed, else when it is, if that happens within SenderWait. The
// rest, until the connection is to end, relays what the sender sends.
func (c *conn) runSender(id string) (ending, restFunc) {
	cfg, reg := &c.srv.cfg, c.srv.sessions
	s, res := reg.claim(id, c, cfg.SenderWait > 0)
	var held *time.Timer
	switch res {
	case noReceiver:
		c.debug("relay: no receiver waiting")
		return c.conclude(endNoReceiver), nil
	case claimed:
		c.srv.pair(s)
	case holding:
		c.debug("relay: sender waiting for its receiver", "max", cfg.SenderWait)
		held = time.AfterFunc(cfg.SenderWait, func() {
			if reg.stopWaiting(c) {
				c.debug("relay: no receiver came", "waited", cfg.SenderWait)
				c.interrupt(endNoReceiver)
			}
		})
	}
	return ending{}, func() (ending, bool) {
		e, parked := c.relayLoop()
		if parked {
			return e, true
		}
		if held != nil {
			held.Stop()
		}
		if b := reg.senderLeft(c); b != nil {
			return c.leaveBridge(b, e), false
		}
		return e, false
	}
}

// leaveBridge ends the bridge of a wallet whose connection is ending with
// e: the other wallet is told that this one left, or, at Shutdown, both
// get status 1001 and no notice (nothing is injected into a bridge).
func (c *conn) leaveBridge(b *bridge, e ending) ending {
	other := endPeerGone
	if e == endCutShort {
		other = endPeerCutShort
	}
	if e.shutdown {
		e, other = endShutdown, endShutdown
	}
	if c == b.receiver {
		b.stop(e, other)
	} else {
		b.stop(other, e)
	}
	return e
}

// relayLoop reads the wallet's messages until its connection is to end,
// and returns why. Until the session is bridged it keeps them (up to
// MaxQueuedMessages and MaxQueuedBytes); then it relays them to the other
// wallet, unmodified and with their frame type, after what was kept.
// While the session is not bridged and nothing is buffered, it parks the
// connection and returns parked.
func (c *conn) relayLoop() (e ending, parked bool) {
	cfg, reg := &c.srv.cfg, c.srv.sessions
	var (
		b    *bridge
		peer *conn
		sent *int64 // this direction's bytes, for MaxSessionBytes
	)
	for {
		// Park while the session is not bridged (and parking works).
		mayPark := b == nil && c.wire != nil && !c.noPark && !c.bridged.Load()
		if c.woken {
			c.woken = false // read what woke it first
		} else if mayPark && !c.wire.buffered() {
			if c.park() {
				return ending{}, true
			}
			c.noPark, mayPark = true, false
		}
		if mayPark {
			// A ping, say, is answered; then, with nothing more to
			// read, the read returns errWouldPark.
			c.wire.mayPark = true
		}
		m, err := c.read()
		if mayPark {
			c.wire.mayPark = false
		}
		if errors.Is(err, errWouldPark) {
			continue
		}
		if err != nil {
			return c.conclude(readEnding(err)), false
		}
		if b == nil {
			queued, overflow := reg.queue(c, m, cfg.MaxQueuedMessages, cfg.MaxQueuedBytes)
			if queued {
				putBuffer(m.data)
				if overflow {
					c.debug("relay: wallet sent too much before it was paired")
					return c.conclude(endQueueFull), false
				}
				continue
			}
			// Paired: relay once the pairing goroutine has sent what
			// comes first (the fee address, the blob, the kept messages).
			s := c.sess
			<-s.paired
			b = s.bridge
			if c == b.receiver {
				peer, sent = b.sender, &b.fromReceiver
			} else {
				peer, sent = b.receiver, &b.fromSender
			}
		}
		if !b.stopped.Load() {
			relayTo(b, c, peer, sent, m)
		}
		putBuffer(m.data)
	}
}

// relayTo sends m from the wallet on from to the one on to, within the
// session's traffic limit. It stops the bridge (and reports false) when
// the limit is reached or the write fails.
func relayTo(b *bridge, from, to *conn, sent *int64, m message) bool {
	*sent += int64(len(m.data))
	if *sent > from.srv.cfg.MaxSessionBytes {
		b.stop(endSessionBytes, endSessionBytes)
		return false
	}
	if err := to.write(m); err != nil {
		from.debug("relay: the other wallet is not reading", "err", err)
		b.stop(endPeerGone, endPeerGone)
		return false
	}
	return true
}

// pair completes a claimed session: it allocates a fee address, bridges
// the two wallets, and sends the sender the dust_address message, the
// receiver's blob and whatever the receiver sent meanwhile (and the
// receiver whatever the sender did). It runs on the goroutine of the
// wallet that came second. A failure is sent to the wallet concerned
// through interrupt.
func (s *Server) pair(sess *session) {
	cfg, reg := &s.cfg, s.sessions
	receiver, sender := sess.receiver, sess.sender
	// The fee address is allocated now, for a sender that has a receiver,
	// and not for every receiver that connects (the original's address
	// burn, kloak-v1-python.md §8.3).
	ctx, cancel := context.WithTimeout(context.Background(), cfg.FeeAddressTimeout)
	fee, err := cfg.FeeAddresses.NextFeeAddress(ctx)
	cancel()
	if err == nil && fee.IsZero() {
		err = errors.New("FeeAddresses returned no address")
	}
	if err != nil {
		// The receiver stays pending: this sender, or another, may try
		// again within its TTL.
		reg.unclaim(sess)
		sender.log(slog.LevelError, "relay: no fee address for a sender", "err", err)
		sender.interrupt(endUnavailable)
		return
	}
	if s.isStopping() {
		reg.unclaim(sess)
		sender.interrupt(endStopping)
		return
	}
	b := newBridge(receiver, sender, func() { reg.unbridge(sess) })
	fromReceiver, fromSender, res := reg.commit(sess, b)
	switch res {
	case receiverGone:
		sender.debug("relay: receiver left while its sender was pairing; fee address unused")
		if s.isStopping() {
			sender.interrupt(endStopping)
		} else {
			sender.interrupt(endNoReceiver)
		}
		return
	case senderGone:
		receiver.debug("relay: sender left while pairing; fee address unused")
		return
	}
	b.limit(cfg.SessionLifetime)
	defer close(sess.paired)
	// The sender gets, in one write: the fee address, the blob, and what
	// the receiver sent meanwhile, within the session's traffic limit.
	first := []message{
		{websocket.MessageText, kpp.NewFeeAddress(fee.String(), cfg.FeePolicy).Marshal()},
		sess.blob,
	}
	over := false
	for _, m := range fromReceiver {
		if b.fromReceiver += int64(len(m.data)); b.fromReceiver > cfg.MaxSessionBytes {
			over = true
			break
		}
		first = append(first, m)
	}
	if err := sender.writeAll(first); err != nil {
		sender.debug("relay: sender left while pairing", "err", err)
		b.stop(endPeerGone, endDone)
		return
	}
	if over {
		b.stop(endSessionBytes, endSessionBytes)
		return
	}
	for _, m := range fromSender {
		if !relayTo(b, sender, receiver, &b.fromSender, m) {
			return
		}
	}
	if sender.debugEnabled() {
		sender.debug("relay: session paired", "fee_address", fee.String())
	}
}
