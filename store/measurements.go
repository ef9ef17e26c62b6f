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
var maxAggregateSamples = relay.Aggregate{Samples: math.MaxInt32}.Add(relay.Measurement{}, time.Time{}, relay.AggregateConfig{}).Samples

// checkMeasurements rejects what no store can keep. Its errors name the
// operation, never the prefix.
func checkMeasurements(prefix netip.Prefix, ms []relay.Measurement) error {
	if !prefix.IsValid() || relay.ClientPrefix(prefix.Addr()) != prefix {
		return fmt.Errorf("add measurements: not a client prefix: %w", ErrInvalid)
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

// aggregateVersion is the format version of a stored aggregate. The Redis
// script writes it and refuses others.
const aggregateVersion = 1

// aggregateRecord is an aggregate as the Redis store keeps it, version 1,
// written by the add script. Floats carry 17 significant digits, so they
// round-trip exactly; the time is split into seconds and nanoseconds,
// since Lua's numbers (doubles) cannot hold Unix nanoseconds exactly.
type aggregateRecord struct {
	V         int     `json:"v"`
	RTTMillis float64 `json:"rtt_ms"`
	Loss      float64 `json:"loss"`
	Weight    float64 `json:"weight"`
	Samples   int     `json:"samples"`
	UpdatedS  int64   `json:"updated_s"`  // Unix seconds
	UpdatedNS int64   `json:"updated_ns"` // nanoseconds within the second
}

// decodeAggregate parses the stored aggregate for relay id.
func decodeAggregate(id string, data []byte) (relay.Aggregate, error) {
	var rec aggregateRecord
	if err := decodeVersioned(id, "aggregate", data, &rec, aggregateVersion); err != nil {
		return relay.Aggregate{}, err
	}
	return relay.Aggregate{
		RTTMillis: rec.RTTMillis,
		Loss:      rec.Loss,
		Weight:    rec.Weight,
		Samples:   rec.Samples,
		Updated:   time.Unix(rec.UpdatedS, rec.UpdatedNS).UTC(),
	}, nil
}
