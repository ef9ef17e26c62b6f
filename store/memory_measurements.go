package store

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// memoryMeasurements are a Memory store's client-prefix aggregates. They
// have a mutex of their own, so folding measurements never waits on
// heartbeats or relay reads.
//
// Besides the map, a log lists prefixes in the order they were last
// measured: reads since a cursor binary-search it, and garbage collection
// and eviction pop its front, so neither visits every prefix. An entry is
// live while its time equals its prefix's touched time; superseded entries
// are skipped and compacted away once they outnumber the live ones. The
// zero value is empty and ready to use.
type memoryMeasurements struct {
	mu       sync.RWMutex // guards below
	prefixes map[netip.Prefix]*memoryPrefix
	log      []prefixTouch // ascending by at; log[:head] is consumed
	head     int
	last     time.Time // the latest touch: touches never go back, so the log stays sorted
	closed   bool
}

// memoryPrefix is one prefix's aggregates, by relay ID.
type memoryPrefix struct {
	relays  map[string]relay.Aggregate
	touched time.Time // when last measured; the time of its live log entry
}

// prefixTouch is one log entry: prefix p was measured at at.
type prefixTouch struct {
	at time.Time
	p  netip.Prefix
}

// minCompact is the fewest superseded log entries worth a compaction.
const minCompact = 1024

// AddMeasurements folds reporter's ms into prefix's aggregates at the
// store's clock, then drops prefixes older than the aggregates' MaxAge and,
// past MaxPrefixes, the least recently measured.
func (m *Memory) AddMeasurements(ctx context.Context, prefix netip.Prefix, reporter string, ms []relay.Measurement) error {
	if err := checkMeasurements(prefix, reporter, ms); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("add measurements: %w", err)
	}
	now := stamp(m.now)
	mm := &m.meas
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.closed {
		return fmt.Errorf("add measurements: %w", ErrClosed)
	}
	if len(ms) == 0 {
		return nil
	}
	p := mm.prefixes[prefix]
	if p == nil {
		if mm.prefixes == nil {
			mm.prefixes = make(map[netip.Prefix]*memoryPrefix)
		}
		p = &memoryPrefix{relays: make(map[string]relay.Aggregate, len(ms))}
		mm.prefixes[prefix] = p
	}
	for _, x := range ms {
		p.relays[x.RelayID] = p.relays[x.RelayID].Add(reporter, x, now, m.agg)
	}
	capRelays(p.relays)
	at := now
	if at.Before(mm.last) {
		at = mm.last
	}
	mm.last, p.touched = at, at
	mm.log = append(mm.log, prefixTouch{at: at, p: prefix})
	mm.collectLocked(now.Add(-m.agg.MaxAge), m.maxPrefixes)
	return nil
}

// capRelays drops the least recently measured relays (ties: the smallest
// ID) until at most MaxRelaysPerPrefix are left, as the Redis script does.
func capRelays(rs map[string]relay.Aggregate) {
	for len(rs) > MaxRelaysPerPrefix {
		var oldest string
		var o relay.Aggregate
		first := true
		for id, a := range rs {
			if first || a.Updated.Before(o.Updated) || a.Updated.Equal(o.Updated) && id < oldest {
				oldest, o, first = id, a, false
			}
		}
		delete(rs, oldest)
	}
}

// collectLocked pops the log's front while it names a prefix measured
// before cutoff or there are more than maxPrefixes prefixes, and compacts
// the log when superseded entries dominate it.
func (mm *memoryMeasurements) collectLocked(cutoff time.Time, maxPrefixes int) {
	for mm.head < len(mm.log) {
		e := mm.log[mm.head]
		p := mm.prefixes[e.p]
		switch {
		case p == nil || !p.touched.Equal(e.at): // superseded
		case e.at.Before(cutoff) || len(mm.prefixes) > maxPrefixes:
			delete(mm.prefixes, e.p)
		default:
			mm.compactLocked()
			return
		}
		mm.log[mm.head] = prefixTouch{}
		mm.head++
	}
	mm.compactLocked()
}

// compactLocked rewrites the log without consumed and superseded entries
// once those outnumber the live ones, so the log stays within a small
// factor of the prefixes held.
func (mm *memoryMeasurements) compactLocked() {
	if len(mm.log)-len(mm.prefixes) < max(len(mm.prefixes), minCompact) {
		return
	}
	live := make([]prefixTouch, 0, len(mm.prefixes)+minCompact)
	kept := make(map[netip.Prefix]struct{}, len(mm.prefixes))
	for _, e := range mm.log[mm.head:] {
		if p := mm.prefixes[e.p]; p == nil || !p.touched.Equal(e.at) {
			continue
		}
		if _, dup := kept[e.p]; !dup { // two touches at one time: keep one
			kept[e.p] = struct{}{}
			live = append(live, e)
		}
	}
	mm.log, mm.head = live, 0
}

// Measurements returns the aggregates of every prefix measured at or after
// since, leaving out those older than MaxAge, and the next cursor.
func (m *Memory) Measurements(ctx context.Context, since time.Time) (map[netip.Prefix]map[string]relay.Aggregate, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("measurements: %w", err)
	}
	now := stamp(m.now)
	lo := now.Add(-m.agg.MaxAge)
	if since.After(lo) {
		lo = since
	}
	mm := &m.meas
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	if mm.closed {
		return nil, time.Time{}, fmt.Errorf("measurements: %w", ErrClosed)
	}
	log := mm.log[mm.head:]
	first := sort.Search(len(log), func(i int) bool { return !log[i].at.Before(lo) })
	out := make(map[netip.Prefix]map[string]relay.Aggregate, len(log)-first)
	for _, e := range log[first:] {
		p := mm.prefixes[e.p]
		if p == nil || !p.touched.Equal(e.at) {
			continue
		}
		aggs := make(map[string]relay.Aggregate, len(p.relays))
		for id, a := range p.relays {
			if aggregateFresh(a, now, m.agg) {
				a.Reporters = slices.Clone(a.Reporters) // the caller's to change
				aggs[id] = a
			}
		}
		if len(aggs) > 0 {
			out[e.p] = aggs
		}
	}
	return out, now.Add(-CursorOverlap), nil
}

// close drops every aggregate; later calls fail with ErrClosed.
func (mm *memoryMeasurements) close() {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.closed = true
	mm.prefixes, mm.log, mm.head = nil, nil, 0
}
