package store

import (
	"context"
	"time"

	"github.com/relaygate/relaygate/selector"
)

// Registry is the set of live relays, shared by every gateway replica that
// uses the same backend. Implementations are safe for concurrent use.
type Registry interface {
	// Heartbeat records r as the relay reported it. The store stamps
	// LastSeen with its clock and ExpiresAt = LastSeen + ttl; r.Drained and
	// r.LastSeen/ExpiresAt as passed in are ignored (the drain mark is the
	// operator's, kept by SetDrained).
	Heartbeat(ctx context.Context, r selector.Relay, ttl time.Duration) error

	// Relay returns one fresh relay with its drain mark, or an error that
	// satisfies IsNotFound when no fresh relay has that ID.
	Relay(ctx context.Context, id string) (selector.Relay, error)

	// Relays returns every fresh relay, with drain marks, sorted by ID.
	Relays(ctx context.Context) ([]selector.Relay, error)

	// SetDrained sets or clears an operator's drain mark on a fresh relay.
	// A drain mark survives the relay's heartbeats and its expiry: a relay
	// that comes back stays drained until an operator clears the mark.
	// Unknown (or expired) IDs give an IsNotFound error.
	SetDrained(ctx context.Context, id string, drained bool) error

	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error

	// Close releases the backend's resources.
	Close() error
}
