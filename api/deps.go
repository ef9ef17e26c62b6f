package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/relaygate/relaygate/selector"
)

// Registry is the relay registry as the handlers need it. store.Memory and
// store.Redis satisfy it.
type Registry interface {
	Heartbeat(ctx context.Context, r selector.Relay, ttl time.Duration) error
	Relay(ctx context.Context, id string) (selector.Relay, error)
	Relays(ctx context.Context) ([]selector.Relay, error)
	SetDrained(ctx context.Context, id string, drained bool) error
	Ping(ctx context.Context) error
}

// Picker chooses the primary and backup relay for one client. It reads an
// in-memory snapshot: no I/O per request.
type Picker interface {
	Pick(client Addr, want []selector.Transport, measured []selector.Measurement) (selector.Pair, error)
}

// Credential is a minted TURN credential as the API returns it.
type Credential struct {
	Username string
	Password string
	Expires  time.Time
}

// Minter mints TURN credentials for a user-token subject; the minter turns
// the subject into an opaque pseudonym.
type Minter interface {
	Mint(subject string, ttl time.Duration, now time.Time) Credential
}

// Measurements takes the RTTs clients report (POST /v1/measurements, and
// inline in POST /v1/credentials) to fold them into their prefix's figures.
// Record must not wait on a store: it queues, and may drop under overload.
type Measurements interface {
	Record(client Addr, ms []selector.Measurement)
}

// Deps are what the handlers call. Registry, Picker and Minter are required.
type Deps struct {
	Registry     Registry
	Picker       Picker
	Minter       Minter
	Measurements Measurements     // nil: client measurements are used inline only
	Log          *slog.Logger     // default: discard
	Now          func() time.Time // default: time.Now
	Metrics      *Metrics         // default: a fresh, unregistered set
	// MetricsHandler serves GET /metrics; nil answers 404.
	MetricsHandler http.Handler
}
