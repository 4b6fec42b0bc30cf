package relay

import (
	"errors"
	"io"
	"net"
	"os"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
)

// Path is the URL path of the relay's WebSocket endpoint; the original
// advertises ws://host:port/kpp.
const Path = "/kpp"

// Error texts of kloak's relay that the Python original does not have. The
// texts it does have (kpp.ErrTextCollision, kpp.ErrTextNoReceiver, ...)
// are sent exactly as it sends them.
const (
	ErrTextShuttingDown = "Node shutting down"
	ErrTextBusy         = "Node busy"
	ErrTextUnavailable  = "Node unavailable"
)

// The relay's notices: plaintext {"error":..,"message":..} objects sent
// before it closes a connection (kpp.RelayError).
var (
	noticeCollision   = &kpp.RelayError{Code: kpp.ErrTextCollision, Message: kpp.ErrTextCollisionMessage}
	noticeNoReceiver  = &kpp.RelayError{Code: kpp.ErrTextNoReceiver, Message: kpp.ErrTextNoReceiverMsg}
	noticeShutdown    = &kpp.RelayError{Code: ErrTextShuttingDown, Message: "The relay node is stopping. Please reconnect later or use another node."}
	noticeBusy        = &kpp.RelayError{Code: ErrTextBusy, Message: "Too many sessions are waiting on this node. Please try again later or use another node."}
	noticeUnavailable = &kpp.RelayError{Code: ErrTextUnavailable, Message: "The node could not allocate a fee address. Please try again later."}
)

// ending is how the relay ends a connection: an optional notice (a text
// frame), then a close frame with a status and a short fixed reason.
type ending struct {
	notice *kpp.RelayError
	code   websocket.StatusCode
	reason string // at most 123 bytes; never dynamic data
	// shutdown marks the relay's Shutdown: a wallet in a bridge gets
	// endShutdown instead (no notice), any other the notice.
	shutdown bool
}

// Close statuses and reasons. A Python wallet sees only that the
// connection closed; the reasons are for people and kloak wallets.
var (
	endDone           = ending{code: websocket.StatusNormalClosure, reason: "session ended"}
	endPeerGone       = ending{code: websocket.StatusNormalClosure, reason: "the other wallet disconnected"}
	endExpired        = ending{code: websocket.StatusNormalClosure, reason: "no sender connected in time"}
	endCollision      = ending{notice: noticeCollision, code: websocket.StatusNormalClosure, reason: "session collision"}
	endNoReceiver     = ending{notice: noticeNoReceiver, code: websocket.StatusNormalClosure, reason: "no matching receiver waiting"}
	endBusy           = ending{notice: noticeBusy, code: websocket.StatusTryAgainLater, reason: "too many pending sessions"}
	endUnavailable    = ending{notice: noticeUnavailable, code: websocket.StatusTryAgainLater, reason: "fee address unavailable"}
	endShutdown       = ending{code: websocket.StatusGoingAway, reason: "relay shutting down"}
	endShutdownNotice = ending{notice: noticeShutdown, code: websocket.StatusGoingAway, reason: "relay shutting down", shutdown: true}
	endHandshakeLate  = ending{code: websocket.StatusPolicyViolation, reason: "handshake timeout"}
	endBlobLate       = ending{code: websocket.StatusPolicyViolation, reason: "timeout waiting for the encrypted blob"}
	endQueueFull      = ending{code: websocket.StatusPolicyViolation, reason: "too many messages before a sender connected"}
	endSessionBytes   = ending{code: websocket.StatusPolicyViolation, reason: "session traffic limit reached"}
	endSessionExpired = ending{code: websocket.StatusPolicyViolation, reason: "session lifetime limit reached"}
	endCutShort       = ending{code: websocket.StatusProtocolError, reason: "message cut short"}
	endPeerCutShort   = ending{code: websocket.StatusGoingAway, reason: "the other wallet left in the middle of a message"}
	endProtocolError  = ending{code: websocket.StatusProtocolError, reason: "protocol error"}
)

// readEnding is how a connection whose read failed with err ends (unless
// an interrupt decided first): a message cut short by the socket's end
// (its peer gets endPeerCutShort), a violation of RFC 6455 that
// coder/websocket reports without a close of its own (an unmasked frame,
// a length with its top bit set: status 1002), or the wallet gone.
func readEnding(err error) ending {
	var op *net.OpError
	switch {
	case errors.Is(err, errCutShort):
		return endCutShort
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &op), websocket.CloseStatus(err) != -1:
		return endDone
	}
	return endProtocolError
}

// endStopping is what Shutdown interrupts every connection with.
var endStopping = endShutdownNotice

// endInvalid ends a connection whose handshake was refused with notice.
func endInvalid(notice *kpp.RelayError) ending {
	return ending{notice: notice, code: websocket.StatusPolicyViolation, reason: "invalid handshake"}
}
