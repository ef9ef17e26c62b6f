package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Registry is the relay registry as the handlers need it, in the order of
// routes.go; gateway.Gateway satisfies it, making each replica see its own
// writes at once. Errors that mean "no such relay" have a NotFound() bool
// method that reports true (404); errors that mean "the store did not
// answer, try again" an Unavailable() bool method (503 with Retry-After).
type Registry interface {
	// Ping answers GET /readyz: can the registry be reached?
	Ping(ctx context.Context) error
	// SnapshotHealth answers GET /readyz too: how old the relay snapshot
	// selection reads is (negative before its first refresh), whether the
	// store has failed to refresh it since (stale), and whether selection
	// still serves it (false past the gateway's store grace).
	SnapshotHealth() (age time.Duration, stale, serving bool)
	// Heartbeat answers PUT /v1/relays/{id}: r, as the relay reported
	// itself, stays fresh for ttl. drained is the operator's drain mark on
	// the relay, echoed in the answer for the relay to reassert.
	Heartbeat(ctx context.Context, r relay.Relay, ttl time.Duration) (drained bool, err error)
	// Relays answers GET /v1/relays: every fresh relay, by ID.
	Relays(ctx context.Context) ([]relay.Relay, error)
	// Relay answers GET /v1/relays/{id}, and the drain routes with the
	// relay as it now stands.
	Relay(ctx context.Context, id string) (relay.Relay, error)
	// SetDrained answers POST and DELETE /v1/relays/{id}/drain.
	SetDrained(ctx context.Context, id string, drained bool) error
}

// Locator places a client address on the map; geoip.DB implements it. It
// is the one place besides this package that sees a client's address.
type Locator interface {
	Locate(netip.Addr) (relay.Location, bool)
}

// Picker chooses the primary and backup relay for one client. subject is
// the verified subject of the client's user token: the user's own past
// reports may steer its own picks, never others'. within is the policy of
// the token's country claims and the request's own lists; the picker
// narrows its operator's policy with it (it can never widen it), and
// answers relay.ErrOutsideJurisdiction when relays are eligible but none
// is permitted. It reads an in-memory snapshot: no I/O per request.
type Picker interface {
	PickWithin(client relay.Client, subject string, want []relay.Transport, measured []relay.Measurement, within relay.Jurisdiction) (relay.Pair, error)
	// RelayState answers GET /v1/call-relays: the relay's state in the
	// same snapshot; false for a relay it does not hold.
	RelayState(id string) (relay.State, bool)
	// Candidates answers GET /v1/candidates: the relays, one per site, a
	// client should measure before its first call (a few, never the
	// registry), among those PickWithin could choose for it under want and
	// within.
	Candidates(client relay.Client, want []relay.Transport, within relay.Jurisdiction) []relay.Relay
}

// Minter mints TURN credentials for a user-token subject; the minter turns
// the subject into an opaque pseudonym.
type Minter interface {
	Mint(subject string, ttl time.Duration, now time.Time) relay.Credential
}

// Measurements takes the RTTs clients report (POST /v1/measurements, and
// inline in POST /v1/credentials) to fold them into their prefix's figures.
// subject is the verified subject of the reporting token: the prefix's
// figures count each subject once, however often it reports, so one user
// cannot steer its network. Record must not wait on a store: it queues, and
// may drop under overload.
type Measurements interface {
	Record(client relay.Client, subject string, ms []relay.Measurement)
}

// Limiter keeps request budgets per scope ("user", "prefix",
// "measurements", "relay") and key (a token subject, a client prefix);
// ratelimit.Memory and ratelimit.Redis implement it. Allow must not wait on
// a store: it decides in memory.
type Limiter interface {
	// Allow spends one request of key's budget in scope. When it refuses,
	// retry is how long until one more request would be admitted.
	Allow(scope, key string) (ok bool, retry time.Duration)
	// Policy is scope's rule: quota requests per window; on is false when
	// the scope admits everything.
	Policy(scope string) (quota int, window time.Duration, on bool)
}

// Revocations are the operator's revocations of user-token subjects;
// gateway.Gateway satisfies them. Revoked and RelayRevocations are on the
// request path: they read memory, never a store.
type Revocations interface {
	// Revoked reports whether subject's credentials are refused at now
	// (403 subject-revoked on POST /v1/credentials and GET /v1/turn).
	Revoked(subject string, now time.Time) bool
	// RelayRevocations is what heartbeat answers carry: the revoked
	// pseudonyms (Subject empty) in force at now, and whether the list was
	// cut short.
	RelayRevocations(now time.Time) (revs []relay.Revocation, truncated bool)
	// Revoke answers POST /v1/revocations: until is in the future (the
	// handler checked it against Now).
	Revoke(ctx context.Context, subject string, until time.Time) (relay.Revocation, error)
	// Unrevoke answers DELETE /v1/revocations; an error with NotFound()
	// true when subject has no revocation in force (404).
	Unrevoke(ctx context.Context, subject string) error
	// Revocations answers GET /v1/revocations.
	Revocations(ctx context.Context) ([]relay.Revocation, error)
}

// Usage keeps what relays carry per user; gateway.Gateway implements it.
// Users are token subjects at this edge; the implementation turns them
// into the pseudonyms relays count under.
type Usage interface {
	// RecordUsage counts a relay's usage report (from its heartbeat) once
	// per (relay, epoch, seq). An error leaves it uncounted: the relay
	// sends it again.
	RecordUsage(ctx context.Context, relayID string, rep relay.UsageReport) error
	// UsageOf answers GET /v1/usage: subject's usage per hour in [from, to).
	UsageOf(ctx context.Context, subject string, from, to time.Time) ([]relay.UsagePeriod, error)
	// RelayUsage answers GET /v1/usage/relays: each relay's usage in [from, to).
	RelayUsage(ctx context.Context, from, to time.Time) ([]relay.UsageOnRelay, error)
}

// Deps are what the handlers call. Registry, Picker and Minter are required.
type Deps struct {
	Registry     Registry
	Picker       Picker
	Minter       Minter
	Measurements Measurements     // nil: client measurements are used inline only
	Revocations  Revocations      // nil: nobody is revoked, and /v1/revocations answers 404
	Locator      Locator          // nil: clients are not located (no GeoIP database)
	Limiter      Limiter          // nil: no rate limits
	Usage        Usage            // nil: heartbeats' usage reports are not acknowledged, the usage endpoints answer 404
	Log          *slog.Logger     // default: discard
	Now          func() time.Time // default: time.Now
	Metrics      *Metrics         // default: a fresh, unregistered set
	// MetricsHandler serves GET /metrics; nil answers 404.
	MetricsHandler http.Handler
}
