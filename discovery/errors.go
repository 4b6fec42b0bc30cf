package discovery

import "errors"

// Errors of this package, usually wrapped with the details that matter
// (which field, which URL, which amounts). Test with errors.Is.
var (
	// ErrPayload: a pulse payload is malformed (ParsePayload) or a Payload
	// cannot be announced (NewPayload, BuildPulse).
	ErrPayload = errors.New("invalid pulse payload")

	// ErrRelayURL: a relay URL is not one a pulse may carry: a ws:// or
	// wss:// URL with a host, an optional port, a path ending in /kpp, and
	// no user, query or fragment.
	ErrRelayURL = errors.New("invalid relay URL")

	// ErrPulseInput: the UTXO given to BuildPulse cannot pay for a pulse
	// (fee, dust or mass budget). The message says what would.
	ErrPulseInput = errors.New("UTXO cannot pay for a pulse")

	// ErrPayloadRefused: the kaspa node refuses transaction payloads (a
	// node on pre-Crescendo rules), so it cannot carry pulses.
	ErrPayloadRefused = errors.New("kaspa node refuses transaction payloads (pre-Crescendo rules)")

	// ErrBlockLimit: Scan reached ScanOptions.MaxBlocks before it covered
	// the window; the pulses it returns come from the newest part only.
	ErrBlockLimit = errors.New("scan stopped at its block limit")

	// ErrNoRelay: Select found no candidate that answers as a KPP relay
	// and no cached relay to fall back on.
	ErrNoRelay = errors.New("no KPP relay reachable")

	// ErrNotRelay: a probed URL answered, but not as a KPP relay does.
	ErrNotRelay = errors.New("not a KPP relay")

	// ErrCache: the relay cache file is unreadable or malformed.
	ErrCache = errors.New("relay cache file")
)
