package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/relaygate/relaygate/relay"
)

// memoryRevocations are Memory's revocations, under their own mutex.
type memoryRevocations struct {
	mu      sync.Mutex // guards below
	revs    map[string]relay.Revocation
	version uint64
	closed  bool
}

var _ Revocations = (*Memory)(nil)

// Revoke records rev (see Revocations.Revoke).
func (m *Memory) Revoke(ctx context.Context, rev relay.Revocation) error {
	if err := checkRevocation(rev, m.now); err != nil {
		return err
	}
	r, err := m.lockRevocations(ctx, "revoke")
	if err != nil {
		return err
	}
	defer r.mu.Unlock()
	if r.revs == nil {
		r.revs = make(map[string]relay.Revocation)
	}
	rev.At = stamp(m.now)
	rev.Until = rev.Until.UTC().Round(0)
	r.revs[rev.Subject] = rev
	r.version++
	return nil
}

// Unrevoke lifts subject's revocation (see Revocations.Unrevoke).
func (m *Memory) Unrevoke(ctx context.Context, subject string) error {
	r, err := m.lockRevocations(ctx, "unrevoke")
	if err != nil {
		return err
	}
	defer r.mu.Unlock()
	rev, ok := r.revs[subject]
	if !ok || !rev.InForce(m.now()) {
		delete(r.revs, subject)
		return ErrNotRevoked
	}
	delete(r.revs, subject)
	r.version++
	return nil
}

// Revocations returns the revocations in force (see
// Revocations.Revocations) and forgets lapsed ones.
func (m *Memory) Revocations(ctx context.Context) ([]relay.Revocation, uint64, error) {
	r, err := m.lockRevocations(ctx, "revocations")
	if err != nil {
		return nil, 0, err
	}
	defer r.mu.Unlock()
	now := m.now()
	maps.DeleteFunc(r.revs, func(_ string, rev relay.Revocation) bool { return !rev.InForce(now) })
	out := slices.SortedFunc(maps.Values(r.revs), func(a, b relay.Revocation) int { return strings.Compare(a.Subject, b.Subject) })
	return out, r.version, nil
}

// RevocationsVersion is the revocations' version (see
// Revocations.RevocationsVersion).
func (m *Memory) RevocationsVersion(ctx context.Context) (uint64, error) {
	r, err := m.lockRevocations(ctx, "revocations version")
	if err != nil {
		return 0, err
	}
	defer r.mu.Unlock()
	return r.version, nil
}

// lockRevocations locks m's revocations for op, unless ctx is done or m
// is closed; the caller unlocks.
func (m *Memory) lockRevocations(ctx context.Context, op string) (*memoryRevocations, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	r := &m.revs
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", op, ErrClosed)
	}
	return r, nil
}

func (r *memoryRevocations) close() {
	r.mu.Lock()
	r.closed, r.revs = true, nil
	r.mu.Unlock()
}
