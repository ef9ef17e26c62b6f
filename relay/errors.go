package relay

import "errors"

// ErrNoCandidate means no relay is eligible for a request: none is fresh,
// undrained, below capacity and offering the requested transports.
var ErrNoCandidate = errors.New("relay: no eligible relay")

var (
	errUnknownTransport = errors.New("relay: unknown transport")
	errPortRange        = errors.New("relay: port out of range 1-65535")
)
