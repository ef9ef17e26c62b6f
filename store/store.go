package store

import (
	"context"
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Registry is the set of live relays, shared by every gateway replica that
// uses the same backend. Implementations are safe for concurrent use.
type Registry interface {
	// Heartbeat records r as the relay reported it. The store stamps
	// LastSeen with its clock and ExpiresAt = LastSeen + ttl;
	// r.LastSeen/ExpiresAt as passed in are ignored. The drain mark is the
	// operator's, kept by SetDrained: r.Drained true is the relay
	// reasserting a mark it was told of, and restores the mark only when
	// the store holds no fresh record of the relay (new to it, expired, or
	// its data lost), so that losing the store's data does not undo a
	// drain; while the store knows the relay its mark stands, so an
	// operator's clearing wins over a relay that has not heard of it yet.
	// r.Drained false never clears a mark.
	Heartbeat(ctx context.Context, r relay.Relay, ttl time.Duration) error

	// Relay returns one fresh relay with its drain mark and this replica's
	// probe view of it (zero when none is recorded, or none younger than
	// ProbeMaxAge), or an error that satisfies IsNotFound when no fresh
	// relay has that ID.
	Relay(ctx context.Context, id string) (relay.Relay, error)

	// Relays returns every fresh relay, with drain marks and this
	// replica's probe views, sorted by ID.
	Relays(ctx context.Context) ([]relay.Relay, error)

	// RelaysSince returns the relays whose record, drain mark or this
	// replica's probe view changed after cursor (0: every stored relay),
	// with drain marks and probe views as Relays gives them, in no
	// particular order, and the cursor to pass next time. Relays that
	// have expired since they changed come back too, with their
	// ExpiresAt, so that a caller keeping a copy can drop them; relays the
	// store has already garbage-collected (all long expired) do not. A
	// write that completed before the call is in its result. A relay may
	// come back again after an unrelated write, or with a probe view that
	// has since aged past ProbeMaxAge: a caller keeping a copy judges age
	// by the timestamps.
	RelaysSince(ctx context.Context, cursor uint64) (changed []relay.Relay, next uint64, err error)

	// SetDrained sets or clears an operator's drain mark on a fresh relay.
	// A drain mark survives the relay's heartbeats and its expiry: a relay
	// that comes back stays drained until an operator clears the mark.
	// Unknown (or expired) IDs give an IsNotFound error.
	SetDrained(ctx context.Context, id string, drained bool) error

	// RecordProbes stores this replica's latest probe view of each relay
	// in probes, keyed by relay ID, replacing what it held for those IDs.
	// Other replicas' views are untouched. Every probe needs a ProbedAt,
	// which decides its age: probes older than ProbeMaxAge read as zero
	// and are garbage-collected, as are probes of relays that are gone.
	// An empty relay ID or a zero ProbedAt gives ErrInvalid.
	RecordProbes(ctx context.Context, probes map[string]relay.Probe) error

	// AddMeasurements folds one report, the measurements of one reporter,
	// into the aggregates of (prefix, relay) with relay.Aggregate.Add at
	// the store's clock. reporter is an opaque ID that the store keeps as
	// given: callers pass a keyed hash, never a user's name (the gateway
	// passes a pseudonym of the user and the prefix, so that one user
	// cannot be followed from network to network in the store). prefix
	// must be what relay.ClientPrefix returns for some address (a masked
	// /24 or /48); anything else, a reporter that is not 1 to
	// MaxReporterLen letters, digits, '-' or '_', an empty relay ID, or
	// more than MaxMeasurementsPerAdd measurements give ErrInvalid. The measurements of one call are folded
	// atomically, also across gateways sharing a Redis, so concurrent
	// calls lose no sample. A prefix keeps at most MaxRelaysPerPrefix
	// relays (the least recently measured go), and the store at most its
	// MaxPrefixes prefixes. Errors never name the prefix or the reporter:
	// they identify a client network and a user.
	AddMeasurements(ctx context.Context, prefix netip.Prefix, reporter string, ms []relay.Measurement) error

	// Measurements returns the aggregates of every prefix measured at or
	// after since (the zero time: all), by prefix and relay ID, leaving
	// out aggregates older than the Aggregate.MaxAge. It also returns the
	// cursor to pass as since next time: a little before now
	// (CursorOverlap), so that writes racing the read are seen next time;
	// a prefix may therefore come back twice. Deletions (expiry,
	// eviction) are not reported: a caller keeping a copy drops
	// aggregates past MaxAge itself.
	Measurements(ctx context.Context, since time.Time) (map[netip.Prefix]map[string]relay.Aggregate, time.Time, error)

	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error

	// Close releases the backend's resources.
	Close() error
}
