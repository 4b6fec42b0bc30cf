package relay

import (
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/kloakprotocol/kloak/kpp"
)

// Defaults of Config's limits (PROTOCOL.md §7). The timeouts are the
// Python original's; the other limits are kloak's (the original has none).
const (
	DefaultMaxMessageSize      = 64 << 10 // bytes per WebSocket message
	DefaultHandshakeTimeout    = 15 * time.Second
	DefaultBlobTimeout         = 60 * time.Second
	DefaultPendingTTL          = 300 * time.Second
	DefaultSenderWait          = 10 * time.Second
	DefaultMaxWaitingSenders   = 5_000
	DefaultSessionLifetime     = 10 * time.Minute
	DefaultMaxSessionBytes     = 1 << 20 // per direction of a bridged session
	DefaultMaxQueuedMessages   = 16
	DefaultMaxQueuedBytes      = 64 << 10
	DefaultMaxPending          = 20_000
	DefaultMaxConnections      = 25_000
	DefaultMaxConnectionsPerIP = 64
	DefaultWriteTimeout        = 10 * time.Second
	DefaultFeeAddressTimeout   = 10 * time.Second
	DefaultCloseTimeout        = 5 * time.Second
)

// Config configures a Server. Every limit has a documented default, used
// where the field is zero (or negative: SenderWait excepted);
// FeeAddresses is the only required field.
type Config struct {
	// FeeAddresses hands out the node's fee ("dust") address, one per
	// pairing. Required.
	FeeAddresses FeeAddresses

	// FeePolicy is announced to every sender in the dust_address message
	// (fee_min, fee_unit and, if set, fee_max, in sompi). Zero means
	// kpp.DefaultNodeFeePolicy: F drawn from 0.2–0.3 KAS, free of the
	// payment (PRIVACY.md). A policy without Max is the Python node's
	// rule, which ties F to the payment.
	FeePolicy kpp.FeePolicy

	// MaxMessageSize caps one WebSocket message in bytes, handshake
	// included. A larger message closes the connection with status 1009
	// (message too big). Default 64 KiB (the original: 1,000,000 bytes).
	MaxMessageSize int64

	// HandshakeTimeout bounds the wait for a wallet's first message.
	// Default 15 s, as the original.
	HandshakeTimeout time.Duration

	// BlobTimeout bounds the wait for a receiver's encrypted blob after
	// its handshake. Default 60 s, as the original.
	BlobTimeout time.Duration

	// PendingTTL is how long a receiver waits for its sender. Default
	// 300 s, as the original.
	PendingTTL time.Duration

	// SenderWait is how long a sender whose receiver is not waiting (its
	// blob not yet filed) is held for it: it is paired the moment the
	// receiver's blob is filed. A sender nobody comes for gets, after
	// SenderWait, the original's "No matching receiver waiting" notice, as
	// if it had just arrived, so a wallet that retries on that notice (a
	// Python sender; kpp's sender, Timeouts.PairRetry) works as with the
	// original. Zero means the default, 10 s; negative means that a sender
	// is never held but refused at once, as the original does. At most
	// kpp.MaxSenderHold (15 s: a Python sender waits that long for its
	// first message); New refuses more.
	SenderWait time.Duration

	// MaxWaitingSenders caps the senders held at once (SenderWait); a
	// sender over the cap is refused at once with the original's notice.
	// There is one held sender per session id at most: a second sender
	// for the same id is refused at once. Default 5,000. Held senders do
	// not count against MaxPending, so that senders cannot lock receivers
	// out.
	MaxWaitingSenders int

	// SessionLifetime caps a bridged session, from pairing to close.
	// Default 10 minutes (the original: unbounded).
	SessionLifetime time.Duration

	// MaxSessionBytes caps the payload bytes relayed in each direction of
	// a bridged session (the receiver's blob not counted). Default 1 MiB.
	MaxSessionBytes int64

	// MaxQueuedMessages and MaxQueuedBytes bound what a waiting receiver
	// may send after its blob and before a sender arrives; it is kept
	// and relayed in order once the pair is bridged. More closes the
	// receiver (status 1008). Defaults 16 messages and 64 KiB. A Python
	// receiver sends nothing in that phase.
	MaxQueuedMessages int
	MaxQueuedBytes    int64

	// MaxPending caps the receivers waiting for a sender. Default 20,000.
	MaxPending int

	// MaxConnections caps open WebSocket connections in total; more are
	// refused with HTTP 503 before the upgrade. Default 25,000.
	MaxConnections int

	// MaxConnectionsPerIP caps open connections per client address (an
	// IPv4 address, or an IPv6 /64); more are refused with HTTP 429.
	// Default 64.
	MaxConnectionsPerIP int

	// TrustedProxies lists the reverse proxies whose X-Forwarded-For
	// header names the client. The header of any other peer is ignored,
	// so that a client cannot choose the address its limit is counted
	// against. Default none: the client is r.RemoteAddr.
	TrustedProxies []netip.Prefix

	// WriteTimeout bounds one write to a wallet; a wallet that does not
	// read for that long is disconnected. Default 10 s.
	WriteTimeout time.Duration

	// FeeAddressTimeout bounds FeeAddresses.NextFeeAddress. Default 10 s.
	FeeAddressTimeout time.Duration

	// CloseTimeout bounds a connection's end: the relay's notice and
	// close frame, and the wallet's close frame (and whatever it sends
	// before it), must pass within it; then the socket is closed whatever
	// the wallet does. Default 5 s. With WriteTimeout it bounds every
	// connection's life in every state (doc.go).
	CloseTimeout time.Duration

	// KeepMemory turns off what the relay does by default after a burst:
	// when its connections have fallen below half their peak, a peak of at
	// least 1,024 (about 8 MB of waiting receivers), it returns the freed
	// memory to the operating system (runtime/debug.FreeOSMemory: a
	// garbage collection, then the free pages released), once departures
	// have paused for 2 s, and at most every 30 s. The Go runtime returns
	// it by itself only after garbage collections that a relay without
	// traffic does not run. Set KeepMemory where the process's memory is
	// managed otherwise (GOMEMLIMIT, another owner).
	KeepMemory bool

	// Logger receives structured events. It never receives a blob, a
	// full session id (8 hex characters at most) or, above Debug, an IP
	// address. Default slog.Default().
	Logger *slog.Logger
}

// ErrNoFeeAddresses is returned by New for a Config without FeeAddresses.
var ErrNoFeeAddresses = errors.New("relay: Config.FeeAddresses is required")

func (c Config) withDefaults() Config {
	if c.FeePolicy == (kpp.FeePolicy{}) {
		c.FeePolicy = kpp.DefaultNodeFeePolicy
	}
	setDefault(&c.MaxMessageSize, DefaultMaxMessageSize)
	setDefault(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&c.BlobTimeout, DefaultBlobTimeout)
	setDefault(&c.PendingTTL, DefaultPendingTTL)
	if c.SenderWait == 0 { // negative: senders are not held
		c.SenderWait = DefaultSenderWait
	}
	setDefault(&c.MaxWaitingSenders, DefaultMaxWaitingSenders)
	setDefault(&c.SessionLifetime, DefaultSessionLifetime)
	setDefault(&c.MaxSessionBytes, DefaultMaxSessionBytes)
	setDefault(&c.MaxQueuedMessages, DefaultMaxQueuedMessages)
	setDefault(&c.MaxQueuedBytes, DefaultMaxQueuedBytes)
	setDefault(&c.MaxPending, DefaultMaxPending)
	setDefault(&c.MaxConnections, DefaultMaxConnections)
	setDefault(&c.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.FeeAddressTimeout, DefaultFeeAddressTimeout)
	setDefault(&c.CloseTimeout, DefaultCloseTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
