package relay

import (
	"context"
	"errors"
	"time"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
)

// run is the protocol of one connection, from handshake to bridge. It
// returns how the connection is to end; serve sends that.
func (c *conn) run() ending {
	m, ev := c.next(c.srv.cfg.HandshakeTimeout)
	switch ev {
	case connEnded:
		return endDone
	case timedOut:
		return endHandshakeLate
	case stopping:
		return endShutdownNotice
	}
	// Text or binary: the original json.loads either.
	h, err := kpp.ParseHandshake(m.data)
	if err != nil {
		var notice *kpp.RelayError
		if !errors.As(err, &notice) {
			notice = &kpp.RelayError{Code: "Invalid handshake", Message: err.Error()}
		}
		c.log.Debug("relay: handshake refused", "error", notice.Code)
		return endInvalid(notice)
	}
	// Never the full session id in a log: it names the E2EE key's hash,
	// and whoever holds it can connect as the sender.
	c.log = c.log.With("role", h.Role, "session", h.SessionID[:8])
	if h.Role == kpp.RoleReceiver {
		return c.runReceiver(h.SessionID)
	}
	return c.runSender(h.SessionID)
}

// runReceiver reads the receiver's blob, registers the session and waits
// for a sender, reading (and keeping) what the receiver sends meanwhile,
// and sending it nothing: the original sends no acknowledgement.
func (c *conn) runReceiver(id string) ending {
	cfg, reg := &c.srv.cfg, c.srv.sessions
	if reg.full() {
		c.log.Warn("relay: receiver refused: too many pending sessions", "max", cfg.MaxPending)
		return endBusy
	}
	blob, ev := c.next(cfg.BlobTimeout)
	switch ev {
	case connEnded:
		return endDone
	case timedOut:
		return endBlobLate
	case stopping:
		return endShutdownNotice
	}
	s := &session{id: id, receiver: c, blob: blob, paired: make(chan struct{})}
	switch err := reg.add(s); {
	case errors.Is(err, errCollision):
		c.log.Info("relay: session collision")
		return endCollision
	case errors.Is(err, errFull):
		c.log.Warn("relay: receiver refused: too many pending sessions", "max", cfg.MaxPending)
		return endBusy
	}
	c.log.Info("relay: receiver waiting")

	var (
		queue  []message
		queued int64
	)
	ttl := time.NewTimer(cfg.PendingTTL)
	defer ttl.Stop()
	// leave removes the session; if a sender paired with it meanwhile, it
	// ends their bridge instead.
	leave := func(own, peer ending) ending {
		if b := reg.abandon(s); b != nil {
			b.stop(peer)
		}
		return own
	}
	for {
		select {
		case <-s.paired:
			return c.relay(s.bridge, s.bridge.sender, queue)
		case m, ok := <-c.in:
			if !ok {
				c.log.Info("relay: receiver left before a sender came")
				return leave(endDone, endPeerGone)
			}
			queue = append(queue, m)
			queued += int64(len(m.data))
			if len(queue) > cfg.MaxQueuedMessages || queued > cfg.MaxQueuedBytes {
				c.log.Info("relay: receiver sent too much before a sender came", "messages", len(queue), "bytes", queued)
				return leave(endQueueFull, endPeerGone)
			}
		case <-ttl.C:
			if b := reg.abandon(s); b == nil {
				c.log.Info("relay: receiver expired", "ttl", cfg.PendingTTL)
				return endExpired
			}
			// A sender is pairing with it right now: s.paired comes next.
		case <-c.srv.stopping:
			if b := reg.abandon(s); b != nil {
				b.stop(endShutdown)
				return endShutdown
			}
			return endShutdownNotice
		}
	}
}

// runSender pairs the sender with its waiting receiver: it allocates a fee
// address, sends the sender the dust_address message and the receiver's
// blob, and bridges the two.
func (c *conn) runSender(id string) ending {
	cfg, reg := &c.srv.cfg, c.srv.sessions
	s := reg.claim(id)
	if s == nil {
		c.log.Info("relay: no receiver waiting")
		return endNoReceiver
	}
	// The fee address is allocated now, for a sender that has a receiver,
	// and not for every receiver that connects (the original's address
	// burn, kloak-v1-python.md §8.3).
	ctx, cancel := context.WithTimeout(c.ctx, cfg.FeeAddressTimeout)
	fee, err := cfg.FeeAddresses.NextFeeAddress(ctx)
	cancel()
	if err == nil && fee.IsZero() {
		err = errors.New("FeeAddresses returned no address")
	}
	if err != nil {
		// The receiver stays pending: this sender, or another, may try
		// again within its TTL.
		reg.unclaim(s)
		c.log.Error("relay: no fee address for a sender", "err", err)
		return endUnavailable
	}
	select {
	case <-c.srv.stopping:
		reg.unclaim(s)
		return endShutdownNotice
	default:
	}
	b := newBridge(cfg.SessionLifetime, s.receiver, c)
	if !reg.pair(s, b) {
		c.log.Info("relay: receiver left while its sender was pairing; fee address unused")
		select {
		case <-c.srv.stopping:
			return endShutdownNotice
		default:
			return endNoReceiver
		}
	}
	err = c.write(message{websocket.MessageText, kpp.NewFeeAddress(fee.String(), cfg.FeePolicy).Marshal()})
	if err == nil {
		err = c.write(s.blob)
	}
	close(s.paired)
	if err != nil {
		c.log.Info("relay: sender left while pairing", "err", err)
		b.stop(endPeerGone)
		return endDone
	}
	c.log.Info("relay: session paired")
	c.log.Debug("relay: fee address", "address", fee.String())
	return c.relay(b, s.receiver, nil)
}

// relay forwards this side's messages to peer, unmodified and with their
// frame type, starting with queue, until the bridge stops. Each side's
// handler runs relay for its own direction.
func (c *conn) relay(b *bridge, peer *conn, queue []message) ending {
	cfg := &c.srv.cfg
	var sent int64
	end := func(own, other ending) ending {
		b.stop(other)
		c.log.Info("relay: session ended", "reason", own.reason, "bytes_relayed", sent)
		return own
	}
	forward := func(m message) (ending, bool) {
		sent += int64(len(m.data))
		if sent > cfg.MaxSessionBytes {
			return end(endSessionBytes, endSessionBytes), false
		}
		if err := peer.write(m); err != nil {
			return end(endPeerGone, endPeerGone), false
		}
		return ending{}, true
	}
	for _, m := range queue {
		if e, ok := forward(m); !ok {
			return e
		}
	}
	limit := time.NewTimer(time.Until(b.deadline))
	defer limit.Stop()
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				return end(endDone, endPeerGone)
			}
			if e, ok := forward(m); !ok {
				return e
			}
		case <-b.done:
			c.log.Info("relay: session ended", "reason", b.end.reason, "bytes_relayed", sent)
			return b.end
		case <-limit.C:
			return end(endSessionExpired, endSessionExpired)
		case <-c.srv.stopping:
			return end(endShutdown, endShutdown)
		}
	}
}
