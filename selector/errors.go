package selector

import "errors"

// ErrNoCandidate means no relay is eligible for the request: none is fresh,
// undrained, below capacity and offering the requested transports.
var ErrNoCandidate = errors.New("selector: no eligible relay")
