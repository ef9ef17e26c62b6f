package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Registry is the relay registry as the handlers need it; gateway.Gateway
// satisfies it, making each replica see its own writes at once.
type Registry interface {
	Heartbeat(ctx context.Context, r relay.Relay, ttl time.Duration) error
	Relay(ctx context.Context, id string) (relay.Relay, error)
	Relays(ctx context.Context) ([]relay.Relay, error)
	SetDrained(ctx context.Context, id string, drained bool) error
	Ping(ctx context.Context) error
}

// Locator places a client address on the map; geoip.DB implements it. It
// is the one place besides this package that sees a client's address.
type Locator interface {
	Locate(netip.Addr) (relay.Location, bool)
}

// Picker chooses the primary and backup relay for one client. It reads an
// in-memory snapshot: no I/O per request.
type Picker interface {
	Pick(client relay.Client, want []relay.Transport, measured []relay.Measurement) (relay.Pair, error)
}

// Minter mints TURN credentials for a user-token subject; the minter turns
// the subject into an opaque pseudonym.
type Minter interface {
	Mint(subject string, ttl time.Duration, now time.Time) relay.Credential
}

// Measurements takes the RTTs clients report (POST /v1/measurements, and
// inline in POST /v1/credentials) to fold them into their prefix's figures.
// Record must not wait on a store: it queues, and may drop under overload.
type Measurements interface {
	Record(client relay.Client, ms []relay.Measurement)
}

// Deps are what the handlers call. Registry, Picker and Minter are required.
type Deps struct {
	Registry     Registry
	Picker       Picker
	Minter       Minter
	Measurements Measurements     // nil: client measurements are used inline only
	Locator      Locator          // nil: clients are not located (no GeoIP database)
	Log          *slog.Logger     // default: discard
	Now          func() time.Time // default: time.Now
	Metrics      *Metrics         // default: a fresh, unregistered set
	// MetricsHandler serves GET /metrics; nil answers 404.
	MetricsHandler http.Handler
}
