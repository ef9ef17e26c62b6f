package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Memory is a Registry held in the process: the default for a single gateway
// and the fake for tests. Expired relays are invisible to reads at once and
// are removed on the next write after they expire, so memory stays bounded
// by the relays alive within one TTL. Probe views and client-prefix
// measurements follow the same rules as in Redis: reads judge age by the
// data's timestamps, and writes remove what has aged out. It keeps one
// replica's probe view. It is safe for concurrent use.
type Memory struct {
	now         func() time.Time
	agg         relay.AggregateConfig
	maxPrefixes int

	mu         sync.RWMutex // guards below
	relays     map[string]relay.Relay
	drained    map[string]bool        // operator drain marks; kept across expiry
	earliest   time.Time              // no relay expires before this; zero when empty
	probes     map[string]relay.Probe // this replica's view, by relay ID
	probeSweep time.Time              // when RecordProbes next sweeps probes
	seq        uint64                 // the change sequence: bumped by every relay write
	changes    map[string]uint64      // relay ID → seq of its last change; only relays in relays
	closed     bool

	meas  memoryMeasurements // guarded by its own mutex
	revs  memoryRevocations  // guarded by its own mutex
	usage memoryUsage        // guarded by its own mutex
}

var _ Registry = (*Memory)(nil)

// NewMemory returns an empty Memory store, or an ErrConfig error naming
// the bad setting.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Memory{
		now:         cfg.Now,
		agg:         cfg.Aggregate,
		maxPrefixes: cfg.MaxPrefixes,
		relays:      make(map[string]relay.Relay),
		drained:     make(map[string]bool),
		probes:      make(map[string]relay.Probe),
		changes:     make(map[string]uint64),
	}, nil
}

// stamp reads the clock as the store keeps times: UTC, no monotonic reading,
// so values compare and round-trip the same way as Redis's.
func stamp(now func() time.Time) time.Time { return now().UTC() }

// Heartbeat records r, stamping LastSeen and ExpiresAt from the store's clock.
func (m *Memory) Heartbeat(ctx context.Context, r relay.Relay, ttl time.Duration) error {
	if err := checkHeartbeat(r.ID, ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("heartbeat %q: %w", r.ID, err)
	}
	now := stamp(m.now)
	r = r.Clone()
	reasserted := r.Drained
	r.Drained = false       // marks are kept apart, in drained
	r.Probe = relay.Probe{} // probes are the gateway's, kept apart
	r.LastSeen = now
	r.ExpiresAt = now.Add(ttl)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("heartbeat %q: %w", r.ID, ErrClosed)
	}
	m.collectLocked(now)
	if old, known := m.relays[r.ID]; reasserted && (!known || !old.Fresh(now)) {
		m.drained[r.ID] = true // the relay reasserts a mark this store no longer knows
	}
	m.relays[r.ID] = r
	m.changedLocked(r.ID)
	if m.earliest.IsZero() || r.ExpiresAt.Before(m.earliest) {
		m.earliest = r.ExpiresAt
	}
	return nil
}

// collectLocked deletes expired relays once the earliest known expiry has
// passed; steady heartbeats thus cost one sweep per TTL, not one per call.
func (m *Memory) collectLocked(now time.Time) {
	if m.earliest.IsZero() || now.Before(m.earliest) {
		return
	}
	m.earliest = time.Time{}
	for id, r := range m.relays {
		if !r.Fresh(now) {
			delete(m.relays, id)
			delete(m.changes, id)
			continue
		}
		if m.earliest.IsZero() || r.ExpiresAt.Before(m.earliest) {
			m.earliest = r.ExpiresAt
		}
	}
}

// Relay returns the fresh relay with that ID, or a NotFoundError.
func (m *Memory) Relay(ctx context.Context, id string) (relay.Relay, error) {
	if err := ctx.Err(); err != nil {
		return relay.Relay{}, fmt.Errorf("relay %q: %w", id, err)
	}
	now := stamp(m.now)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return relay.Relay{}, fmt.Errorf("relay %q: %w", id, ErrClosed)
	}
	r, ok := m.relays[id]
	if !ok || !r.Fresh(now) {
		return relay.Relay{}, &NotFoundError{ID: id}
	}
	r = r.Clone()
	r.Drained = m.drained[id]
	r.Probe = m.probeLocked(id, now)
	return r, nil
}

// Relays returns every fresh relay sorted by ID.
func (m *Memory) Relays(ctx context.Context) ([]relay.Relay, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("relays: %w", err)
	}
	now := stamp(m.now)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, fmt.Errorf("relays: %w", ErrClosed)
	}
	out := make([]relay.Relay, 0, len(m.relays))
	for id, r := range m.relays {
		if !r.Fresh(now) {
			continue
		}
		r = r.Clone()
		r.Drained = m.drained[id]
		r.Probe = m.probeLocked(id, now)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b relay.Relay) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// SetDrained sets or clears the drain mark of a fresh relay.
func (m *Memory) SetDrained(ctx context.Context, id string, drained bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("set drained %q: %w", id, err)
	}
	now := stamp(m.now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("set drained %q: %w", id, ErrClosed)
	}
	m.collectLocked(now)
	if r, ok := m.relays[id]; !ok || !r.Fresh(now) {
		return &NotFoundError{ID: id}
	}
	if drained {
		m.drained[id] = true
	} else {
		delete(m.drained, id)
	}
	m.changedLocked(id)
	return nil
}

// changedLocked gives relay id the next change sequence.
func (m *Memory) changedLocked(id string) {
	m.seq++
	m.changes[id] = m.seq
}

// RelaysSince returns the relays changed after cursor, expired ones not yet
// collected included, and the current change sequence.
func (m *Memory) RelaysSince(ctx context.Context, cursor uint64) ([]relay.Relay, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("relays since: %w", err)
	}
	now := stamp(m.now)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, 0, fmt.Errorf("relays since: %w", ErrClosed)
	}
	if cursor > m.seq {
		cursor = 0 // not this store's cursor: read everything
	}
	var out []relay.Relay
	for id, r := range m.relays {
		if cursor != 0 && m.changes[id] <= cursor {
			continue
		}
		r = r.Clone()
		r.Drained = m.drained[id]
		r.Probe = m.probeLocked(id, now)
		out = append(out, r)
	}
	return out, m.seq, nil
}

// probeLocked returns this replica's view of relay id, zero when it has
// none younger than ProbeMaxAge.
func (m *Memory) probeLocked(id string, now time.Time) relay.Probe {
	p, ok := m.probes[id]
	if !ok || !probeFresh(p, now) {
		return relay.Probe{}
	}
	return p
}

// RecordProbes stores this replica's latest probe view of each relay in
// probes. At most once a minute it also drops views of relays that are
// gone and views older than ProbeMaxAge.
func (m *Memory) RecordProbes(ctx context.Context, probes map[string]relay.Probe) error {
	if err := checkProbes(probes); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("record probes: %w", err)
	}
	now := stamp(m.now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("record probes: %w", ErrClosed)
	}
	for id, p := range probes {
		p.ProbedAt = p.ProbedAt.UTC()
		m.probes[id] = p
		if _, ok := m.relays[id]; ok {
			m.changedLocked(id)
		}
	}
	if now.Before(m.probeSweep) {
		return nil
	}
	m.probeSweep = now.Add(probeSweepEvery)
	m.collectLocked(now)
	for id, p := range m.probes {
		if _, ok := m.relays[id]; !ok || !probeFresh(p, now) {
			delete(m.probes, id)
		}
	}
	return nil
}

// Ping reports ErrClosed after Close and nil before.
func (m *Memory) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return fmt.Errorf("ping: %w", ErrClosed)
	}
	return nil
}

// Close drops the registry's contents; later calls fail with ErrClosed.
// Closing twice is harmless.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	m.relays, m.drained, m.probes, m.changes = nil, nil, nil, nil
	m.mu.Unlock()
	m.meas.close()
	m.revs.close()
	return nil
}

// checkHeartbeat rejects what no store can keep.
func checkHeartbeat(id string, ttl time.Duration) error {
	if id == "" {
		return fmt.Errorf("heartbeat: empty relay id: %w", ErrInvalid)
	}
	if ttl <= 0 {
		return fmt.Errorf("heartbeat %q: ttl %v not positive: %w", id, ttl, ErrInvalid)
	}
	return nil
}
