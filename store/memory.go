package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/relaygate/relaygate/selector"
)

// Memory is a Registry held in the process: the default for a single gateway
// and the fake for tests. Expired relays are invisible to reads at once and
// are removed on the next write after they expire, so memory stays bounded
// by the relays alive within one TTL. It is safe for concurrent use.
type Memory struct {
	now func() time.Time

	mu       sync.RWMutex // guards below
	relays   map[string]selector.Relay
	drained  map[string]bool // operator drain marks; kept across expiry
	earliest time.Time       // no relay expires before this; zero when empty
	closed   bool
}

var _ Registry = (*Memory)(nil)

// NewMemory returns an empty Memory store.
func NewMemory(cfg MemoryConfig) *Memory {
	cfg = cfg.withDefaults()
	return &Memory{
		now:     cfg.Now,
		relays:  make(map[string]selector.Relay),
		drained: make(map[string]bool),
	}
}

// stamp reads the clock as the store keeps times: UTC, no monotonic reading,
// so values compare and round-trip the same way as Redis's.
func stamp(now func() time.Time) time.Time { return now().UTC() }

// Heartbeat records r, stamping LastSeen and ExpiresAt from the store's clock.
func (m *Memory) Heartbeat(ctx context.Context, r selector.Relay, ttl time.Duration) error {
	if err := checkHeartbeat(r.ID, ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("heartbeat %q: %w", r.ID, err)
	}
	now := stamp(m.now)
	r = r.Clone()
	r.Drained = false
	r.LastSeen = now
	r.ExpiresAt = now.Add(ttl)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("heartbeat %q: %w", r.ID, ErrClosed)
	}
	m.collectLocked(now)
	m.relays[r.ID] = r
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
			continue
		}
		if m.earliest.IsZero() || r.ExpiresAt.Before(m.earliest) {
			m.earliest = r.ExpiresAt
		}
	}
}

// Relay returns the fresh relay with that ID, or a NotFoundError.
func (m *Memory) Relay(ctx context.Context, id string) (selector.Relay, error) {
	if err := ctx.Err(); err != nil {
		return selector.Relay{}, fmt.Errorf("relay %q: %w", id, err)
	}
	now := stamp(m.now)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return selector.Relay{}, fmt.Errorf("relay %q: %w", id, ErrClosed)
	}
	r, ok := m.relays[id]
	if !ok || !r.Fresh(now) {
		return selector.Relay{}, &NotFoundError{ID: id}
	}
	r = r.Clone()
	r.Drained = m.drained[id]
	return r, nil
}

// Relays returns every fresh relay sorted by ID.
func (m *Memory) Relays(ctx context.Context) ([]selector.Relay, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("relays: %w", err)
	}
	now := stamp(m.now)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, fmt.Errorf("relays: %w", ErrClosed)
	}
	out := make([]selector.Relay, 0, len(m.relays))
	for id, r := range m.relays {
		if !r.Fresh(now) {
			continue
		}
		r = r.Clone()
		r.Drained = m.drained[id]
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b selector.Relay) int { return strings.Compare(a.ID, b.ID) })
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
	defer m.mu.Unlock()
	m.closed = true
	m.relays, m.drained = nil, nil
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
