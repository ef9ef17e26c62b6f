package store

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// MaxRelaysPerPrefix caps the relays one prefix keeps aggregates for; past
// it the least recently measured go (ties: the smallest relay ID). A
// client measures the handful of relays it was offered, so this leaves
// room for every plausible one while a client reporting made-up relay IDs
// cannot bloat its prefix.
const MaxRelaysPerPrefix = 64

// MaxMeasurementsPerAdd caps the measurements of one AddMeasurements call,
// so one call (one Redis script, which blocks the server) stays short.
const MaxMeasurementsPerAdd = 1024

// maxMeasuredRelayIDLen bounds a measured relay ID: measurements come from
// clients, and relay IDs are short names.
const maxMeasuredRelayIDLen = 256

// CursorOverlap is how far before the read the cursor Measurements returns
// lies. A write stamped with its gateway's clock may reach the store a
// little after a read that started later; so long as write latency plus
// clock skew between gateways stays under this, the next read sees it.
const CursorOverlap = 2 * time.Second

// measureBatch is how many prefixes Redis.Measurements reads per pipeline:
// large enough to amortise round trips, small enough that one reply stays
// a few hundred kilobytes.
const measureBatch = 1000

// maxAggregateSamples is the cap relay.Aggregate.Add puts on Samples,
// found by asking it, so the Redis script folds exactly as Add does.
var maxAggregateSamples = relay.Aggregate{Samples: math.MaxInt32}.Add("", relay.Measurement{}, time.Time{}, relay.AggregateConfig{}).Samples

// MaxReporterLen bounds the reporter of an AddMeasurements call: an
// opaque ID such as a base64url or hex keyed hash, a few dozen characters.
const MaxReporterLen = 64

// validReporter reports whether r is 1 to MaxReporterLen letters, digits,
// '-' or '_': the base64url and hex alphabets, which the Redis script may
// write into JSON as they are.
func validReporter(r string) bool {
	if r == "" || len(r) > MaxReporterLen {
		return false
	}
	for _, c := range []byte(r) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// checkMeasurements rejects what no store can keep. Its errors name the
// operation, never the prefix or the reporter.
func checkMeasurements(prefix netip.Prefix, reporter string, ms []relay.Measurement) error {
	if !prefix.IsValid() || relay.ClientPrefix(prefix.Addr()) != prefix {
		return fmt.Errorf("add measurements: not a client prefix: %w", ErrInvalid)
	}
	if !validReporter(reporter) {
		return fmt.Errorf("add measurements: reporter not 1 to %d letters, digits, '-' or '_': %w", MaxReporterLen, ErrInvalid)
	}
	if len(ms) > MaxMeasurementsPerAdd {
		return fmt.Errorf("add measurements: %d measurements, at most %d: %w", len(ms), MaxMeasurementsPerAdd, ErrInvalid)
	}
	for _, m := range ms {
		if m.RelayID == "" || len(m.RelayID) > maxMeasuredRelayIDLen {
			return fmt.Errorf("add measurements: relay id empty or over %d bytes: %w", maxMeasuredRelayIDLen, ErrInvalid)
		}
	}
	return nil
}

// aggregateFresh reports whether an aggregate is still kept at now: the
// same rule as relay.Aggregate.Trusted's age check.
func aggregateFresh(a relay.Aggregate, now time.Time, cfg relay.AggregateConfig) bool {
	return now.Sub(a.Updated) <= cfg.MaxAge
}

// aggregateVersion is the format version of a stored aggregate and of a
// prefix's meta record. The Redis scripts write it and refuse others.
// Version 1 (one decayed mean over every sample, under the registry's hash
// tag) is no longer read: those keys expire within MaxAge of the upgrade.
const aggregateVersion = 2

// aggregateRecord is an aggregate as the Redis store keeps it, version 2,
// written by the fold script. Floats carry 17 significant digits, so they
// round-trip exactly; times are split into seconds and nanoseconds, since
// Lua's numbers (doubles) cannot hold Unix nanoseconds exactly.
type aggregateRecord struct {
	V         int              `json:"v"`
	Samples   int              `json:"samples"`
	UpdatedS  int64            `json:"updated_s"`  // Unix seconds
	UpdatedNS int64            `json:"updated_ns"` // nanoseconds within the second
	Reporters []reporterRecord `json:"reporters"`
}

// reporterRecord is one relay.Reporter of an aggregateRecord. Its id is
// the reporter as the caller named it: an opaque keyed hash.
type reporterRecord struct {
	ID        string  `json:"id"`
	RTTMillis float64 `json:"rtt_ms"`
	Loss      float64 `json:"loss"`
	Weight    float64 `json:"weight"`
	UpdatedS  int64   `json:"updated_s"`
	UpdatedNS int64   `json:"updated_ns"`
}

// decodeAggregate parses the stored aggregate for relay id.
func decodeAggregate(id string, data []byte) (relay.Aggregate, error) {
	var rec aggregateRecord
	if err := decodeVersioned(id, "aggregate", data, &rec, aggregateVersion); err != nil {
		return relay.Aggregate{}, err
	}
	a := relay.Aggregate{
		Samples:   rec.Samples,
		Updated:   time.Unix(rec.UpdatedS, rec.UpdatedNS).UTC(),
		Reporters: make([]relay.Reporter, len(rec.Reporters)),
	}
	for i, r := range rec.Reporters {
		a.Reporters[i] = relay.Reporter{ID: r.ID, RTTMillis: r.RTTMillis, Loss: r.Loss, Weight: r.Weight,
			Updated: time.Unix(r.UpdatedS, r.UpdatedNS).UTC()}
	}
	return a, nil
}
