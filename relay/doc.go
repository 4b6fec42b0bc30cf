// Package relay is kloak's blind KPP relay: the WebSocket server of a
// kloak node, which pairs a payment's receiver and sender by session id
// and relays their end-to-end encrypted messages without reading them.
// On the wire it is the Python original's relay (kloak-v1-python.md §1),
// so Python wallets work with it unchanged.
//
//	fees := relay.NewWalletFeeAddresses(w, 0) // w: the node's *wallet.Wallet
//	srv, err := relay.New(relay.Config{FeeAddresses: fees})
//	ln, err := net.Listen("tcp", ":8765")
//	go srv.Serve(ln)                          // ws://host:8765/kpp
//	...
//	err = srv.Shutdown(ctx)                   // tells every wallet, waits for them
//
// # Protocol
//
// A wallet connects to ws://host:port/kpp (Path) and sends, in a text or
// binary frame, {"role":"receiver"|"sender","session_id":"<64 hex>"}, the
// session id being hex(SHA-256(E2EE key)) (kpp.ParseHandshake).
//
// The receiver then sends one message, its encrypted blob, which the relay
// keeps verbatim, and waits; the relay sends it nothing until a sender
// comes. A sender that arrives first, before the receiver's blob is filed,
// is held (Config.SenderWait, default 10 s) and paired the moment it is;
// one nobody comes for gets the original's "No matching receiver waiting"
// notice, so a wallet that retries on it works as with the original. The
// sender that names the same session id gets, in this order:
//
//	{"type":"dust_address","address":"kaspa:…","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}
//	<the receiver's blob, verbatim, in the frame type it came in>
//
// and from then on every frame of either wallet goes to the other,
// unmodified and of the same type, until one of them leaves; then both are
// closed. fee_min, fee_unit and fee_max (integer sompi, kpp.FeePolicy)
// are kloak's additions; a Python wallet ignores them. With fee_max a kloak
// sender pays a node fee drawn from [fee_min, fee_max], whatever the
// payment (Config.FeePolicy; PRIVACY.md).
//
// A refusal is a text frame {"error":..,"message":..} (kpp.RelayError)
// followed by a close frame:
//
//	"error"                        when                                           close
//	Session collision              that session id has a receiver waiting         1000  (the original's text)
//	No matching receiver waiting   a sender whose receiver did not come within    1000  (the original's text)
//	                               SenderWait; at once if that id is paired, has
//	                               a sender held already, or MaxWaitingSenders
//	                               are held
//	Missing session_id             {"error":"Missing session_id"}                 1008  (the original's text)
//	Invalid session_id             not 64 hexadecimal characters                  1008
//	Invalid role                   not "receiver" or "sender"                     1008
//	Invalid handshake              not a JSON object                              1008
//	Node busy                      MaxPending receivers already waiting           1013
//	Node unavailable               no fee address could be allocated              1013
//	Node shutting down             Shutdown, to every wallet not in a bridge      1001
//
// Other ends carry only a close frame: 1009 for a message over
// MaxMessageSize, 1008 for a late handshake or blob, a receiver (or a held
// sender) that sends too much before it is paired, or a bridged session
// over its time or traffic limit, 1001 for a bridged pair at Shutdown and
// for a wallet whose peer left in the middle of a message, 1002 for a
// violation of RFC 6455 (an unmasked frame, a length with its top bit set,
// a message cut short by the socket's end), 1000 otherwise (the other
// wallet left, no sender within PendingTTL). Nothing of a message that
// did not end in a final frame is relayed.
//
// Every connection's life is bounded in every state: HandshakeTimeout,
// BlobTimeout, PendingTTL or SenderWait, then SessionLifetime, each write
// by WriteTimeout, and its end (the notice, the close frame and the
// wallet's close reply) by CloseTimeout (5 s), after which the socket is
// closed whatever the wallet sends (a frame that declares 2^63−1 bytes
// instead of a close reply included). A wallet should check
// every plaintext frame for an "error" member before it treats it as a
// ciphertext: the base64 of an E2EE message never starts with "{".
//
// # What kloak's relay does differently
//
// Nothing a Python wallet relies on changes; these do:
//
//   - A sender that comes before its receiver's blob is held for it
//     (SenderWait) instead of being refused, so neither wallet has to poll
//     for the other; exactly one sender pairs with a receiver, as before.
//     The original refuses it at once (a negative SenderWait does too).
//   - A fee address is allocated when a sender pairs, not when a receiver
//     connects, so receivers that never pair cost no address and no disk
//     write (the original saved its whole wallet file per receiver).
//     If no address can be had, the sender is told "Node unavailable" and
//     the receiver stays waiting for a sender that tries again.
//   - Every limit of Config is enforced; the original has none besides its
//     timeouts and a 1 MB message cap.
//   - The session id must be 64 hex characters, the role "receiver" or
//     "sender", the handshake a JSON object; each is refused with a
//     notice, where the original closes silently or fails later.
//   - A waiting receiver's connection is read: if it leaves, its session
//     is removed at once (the original kept it until the 300 s TTL and
//     paired a sender with a dead receiver). What it sends meanwhile is
//     kept (MaxQueuedMessages, MaxQueuedBytes) and relayed once bridged,
//     as the original relays its socket's queue.
//   - Only the path /kpp is served; the original accepted any path.
//   - Close frames carry statuses and reasons (above); the original closes
//     with 1000 and no reason. Neither sends a notice for a late handshake
//     or a late blob.
//   - permessage-deflate is not negotiated (the original's server offers
//     it); messages are the same, only their framing differs.
//   - The relay sends no pings of its own (the original pings every 20 s);
//     it answers the wallets' pings. A half-open connection is held until
//     a timeout or limit ends it.
//
// # Resources
//
// One goroutine serves a connection while it has something to do. A
// connection that waits for the other wallet (a receiver for its sender, a
// held sender for its receiver) parks, on Linux: no goroutine serves it,
// one epoll instance per Server watches its socket, and a fresh goroutine
// resumes it when its wallet sends something (a ping is answered, and it
// parks again) or leaves, or when a timeout or Shutdown comes. Buffers are
// pooled and held only while bytes pass, not per connection (coder/websocket
// and net/http would keep 8 KiB each). A waiting receiver thus costs its
// blob, its connection's state and the kernel's socket: about 8 KB of
// resident memory (10,000 in under 100 MiB; BENCHMARKS.md). When many
// have left, the relay returns the memory to the operating system
// (Config.KeepMemory). Elsewhere than on Linux a waiting connection keeps
// a goroutine (2 KiB more). Logs of single sessions are at Debug level, so
// that Info costs nothing per session.
//
// # Privacy
//
// The relay sees both wallets' IP addresses, the session id, message
// sizes and timing, and which fee address it gave to which session; it
// cannot read the E2EE messages. It logs through log/slog (Config.Logger)
// without blobs, with at most the first 8 hex characters of a session id,
// and with IP addresses and fee addresses only at Debug level.
//
// # What it does not do
//
// It does not terminate TLS (put it behind a reverse proxy for wss://, and
// list the proxy in Config.TrustedProxies), rate-limit connection attempts
// over time (only concurrent connections), authenticate wallets (the QR
// code is a bearer credential: whoever sends its session id first is the
// sender), announce itself on-chain (pulses), or look at the payment.
package relay
