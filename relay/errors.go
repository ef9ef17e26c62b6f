package relay

import (
	"errors"
	"fmt"
)

// ErrNoCandidate means no relay is eligible for a request: none is fresh,
// undrained, below capacity and offering the requested transports.
var ErrNoCandidate = errors.New("relay: no eligible relay")

// ErrOutsideJurisdiction means relays are eligible for a request but none
// is in a country its Jurisdiction permits. It wraps ErrNoCandidate: it is
// a reason there is no candidate.
var ErrOutsideJurisdiction = fmt.Errorf("%w in a permitted country", ErrNoCandidate)

// ErrCountry refuses a code that is not an assigned ISO 3166-1 alpha-2
// country code.
var ErrCountry = errors.New("relay: not an assigned ISO 3166-1 alpha-2 country code")

var (
	errUnknownTransport = errors.New("relay: unknown transport")
	errPortRange        = errors.New("relay: port out of range 1-65535")
)
