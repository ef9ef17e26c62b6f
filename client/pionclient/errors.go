package pionclient

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/relaygate/relaygate/wire"
)

var (
	// ErrUnsafeCandidate means a candidate about to be signalled is not a
	// relay candidate, or its related address is not blank. The error that
	// wraps it says which rule failed, never the address.
	ErrUnsafeCandidate = errors.New("pionclient: unsafe candidate")
	// ErrUnsafeSDP means a description about to be signalled names an
	// address outside its candidates (a connection or origin address that
	// is not the unspecified one), or is no SDP at all.
	ErrUnsafeSDP = errors.New("pionclient: unsafe SDP")
	// ErrBadAnswer means the gateway answered 200 with something that is
	// not a usable Credentials document.
	ErrBadAnswer = errors.New("pionclient: bad answer from the gateway")
	// ErrRefusedSocket means the hardened network refused a socket a
	// relay-only ICE agent never needs (a listening socket on an interface
	// address).
	ErrRefusedSocket = errors.New("pionclient: socket refused by the relay-only network")
	// ErrNoRelayCandidate means ICE gathering completed without a single
	// relay candidate: every relay was unreachable or refused the
	// credentials.
	ErrNoRelayCandidate = errors.New("pionclient: no relay candidate gathered")
)

// Problem types the gateway sends that callers commonly branch on
// (openapi.yaml's Problem.type; match on these, never on titles).
const (
	ProblemRateLimited      = problemTypePrefix + "rate-limited"
	ProblemNoRelayAvailable = problemTypePrefix + "no-relay-available"
	ProblemStoreUnavailable = problemTypePrefix + "store-unavailable"
	ProblemUnauthorized     = problemTypePrefix + "unauthorized"
)

const problemTypePrefix = "urn:relaygate:problem:"

// maxProblemDetailInMessage bounds how much of the gateway's detail an
// error repeats: enough for any detail relaygate writes.
const maxProblemDetailInMessage = 200

// GatewayError is an answer of the gateway other than 200: its status, the
// problem+json body when it sent one, and how long it asked the client to
// wait (Retry-After, 429 and 503) before asking again.
type GatewayError struct {
	Status     int
	Problem    wire.Problem  // zero when the body was not problem+json
	RetryAfter time.Duration // 0 when the gateway sent no (valid) Retry-After
}

// Error names the status, the problem type and title, and the wait; the
// gateway's details never contain an address, token or credential.
func (e *GatewayError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pionclient: gateway answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Problem.Type != "" {
		fmt.Fprintf(&b, ": %s", strings.TrimPrefix(e.Problem.Type, problemTypePrefix))
	}
	if e.Problem.Detail != "" {
		d := e.Problem.Detail
		if len(d) > maxProblemDetailInMessage {
			d = d[:maxProblemDetailInMessage] + "…"
		}
		fmt.Fprintf(&b, " (%s)", d)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %v", e.RetryAfter)
	}
	return b.String()
}

// Temporary reports whether asking again later may succeed: rate limited
// (429), or the gateway cannot answer now (503: no relay available, store
// unreachable) or a gateway in front of it failed (502, 504).
func (e *GatewayError) Temporary() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
