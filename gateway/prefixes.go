package gateway

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
)

// prefixMeasurements is an in-memory copy of a store.Registry's
// client-prefix measurement aggregates, in a concurrent map updated
// incrementally: the request path reads a prefix's figures without waiting
// on the store. snapshots embeds it and refreshes it in its Run.
type prefixMeasurements struct {
	reg store.Registry
	agg relay.AggregateConfig
	// reporter is the ID a user's reports of a prefix are kept under
	// (Gateway.reporter); nil: users' own figures are not looked up.
	reporter func(prefix netip.Prefix, subject string) string

	prefixes sync.Map // netip.Prefix → map[string]relay.Aggregate (replaced whole, never mutated)
	npfx     atomic.Int64

	meas   sync.Mutex // serialises RefreshMeasurements; guards below
	cursor time.Time  // of the last measurement read
	lastGC time.Time
}

// PrefixMeasurements returns what clients in prefix measured, as of now,
// for subject's picks: each relay's trusted aggregate (see
// relay.Aggregate.Trusted) and, where there is none, subject's own figures
// (relay.Aggregate.Own), which steer its own picks as its inline
// measurements would and no one else's; own reports whether any did. One
// lock-free map read, and a keyed hash for subject's reporter ID only when
// some relay lacks a trusted aggregate.
//
// Through the prefix's hysteresis (primaries) a user's own figures, like
// its inline measurements, may keep its prefix on a relay it chose for
// itself, but only while no other is clearly better: within 10 ms or a
// third (selector's rule).
func (pm *prefixMeasurements) PrefixMeasurements(prefix netip.Prefix, subject string, now time.Time) (ms []relay.Measurement, own bool) {
	v, ok := pm.prefixes.Load(prefix)
	if !ok {
		return nil, false
	}
	aggs := v.(map[string]relay.Aggregate)
	ms = make([]relay.Measurement, 0, len(aggs))
	reporter := ""
	for id, a := range aggs {
		if m, ok := a.Trusted(id, now, pm.agg); ok {
			ms = append(ms, m)
			continue
		}
		if reporter == "" && pm.reporter != nil {
			reporter = pm.reporter(prefix, subject)
		}
		if m, ok := a.Own(reporter, id, now, pm.agg); ok { // reporter "" is no one's
			ms, own = append(ms, m), true
		}
	}
	return ms, own
}

// Prefixes is the number of prefixes with measurements held in memory.
func (pm *prefixMeasurements) Prefixes() int { return int(pm.npfx.Load()) }

// RefreshMeasurements reads the prefixes measured since the last call and
// replaces their entries; every minute it drops prefixes whose newest
// aggregate is past MaxAge (the store expires them too, but does not report
// deletions). Concurrent calls take turns.
func (pm *prefixMeasurements) RefreshMeasurements(ctx context.Context, now time.Time) error {
	pm.meas.Lock()
	defer pm.meas.Unlock()
	ms, cursor, err := pm.reg.Measurements(ctx, pm.cursor)
	if err != nil {
		return err
	}
	for p, aggs := range ms {
		if _, loaded := pm.prefixes.Swap(p, aggs); !loaded {
			pm.npfx.Add(1)
		}
	}
	pm.cursor = cursor
	if now.Sub(pm.lastGC) >= time.Minute {
		pm.lastGC = now
		pm.prefixes.Range(func(k, v any) bool {
			fresh := false
			for _, a := range v.(map[string]relay.Aggregate) {
				fresh = fresh || now.Sub(a.Updated) <= pm.agg.MaxAge
			}
			if !fresh {
				pm.prefixes.Delete(k) // only under pm.meas
				pm.npfx.Add(-1)
			}
			return true
		})
	}
	return nil
}
