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

	prefixes sync.Map // netip.Prefix → map[string]relay.Aggregate (replaced whole, never mutated)
	npfx     atomic.Int64

	meas   sync.Mutex // serialises RefreshMeasurements; guards below
	cursor time.Time  // of the last measurement read
	lastGC time.Time
}

// PrefixMeasurements returns the trusted aggregates of what clients in
// prefix measured, as of now: one lock-free map read.
func (pm *prefixMeasurements) PrefixMeasurements(prefix netip.Prefix, now time.Time) []relay.Measurement {
	v, ok := pm.prefixes.Load(prefix)
	if !ok {
		return nil
	}
	aggs := v.(map[string]relay.Aggregate)
	out := make([]relay.Measurement, 0, len(aggs))
	for id, a := range aggs {
		if m, ok := a.Trusted(id, now, pm.agg); ok {
			out = append(out, m)
		}
	}
	return out
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
