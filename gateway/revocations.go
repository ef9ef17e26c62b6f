package gateway

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/internal/metric"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// MaxRelayRevocations bounds the revocation list a heartbeat answer
// carries: 512 pseudonyms of ~20 characters with their times are about
// 30 KB of JSON, well inside a relay's 64 KB answer limit, and far more
// users than an operator bans within one credential lifetime. Past it the
// newest revocations go, and the answer says it is truncated.
const MaxRelayRevocations = 512

// revocations is this replica's copy of the store's revocations, so the
// credentials path decides with one map read and no store round trip. The
// snapshot loop refreshes it every refresh interval at the cost of one
// version read when nothing changed; a revocation made or lifted through
// this replica applies here before its call returns. Other replicas see it
// within one refresh interval.
type revocations struct {
	store  store.Revocations // nil: the store keeps none, nobody is revoked
	minter *turncred.Minter
	cur    atomic.Pointer[revocationSet]

	refresh sync.Mutex // serialises reads, so an older read never replaces a newer one
}

// revocationSet is one read of the store's revocations. It is replaced
// whole, never changed.
type revocationSet struct {
	version   uint64
	read      bool                 // read from the store (false: the empty set before the first read)
	until     map[string]time.Time // by subject
	relays    []relay.Revocation   // for heartbeat answers: newest first, Subject cleared, at most MaxRelayRevocations
	truncated bool                 // relays leaves some out
}

func newRevocations(st store.Revocations, minter *turncred.Minter) *revocations {
	r := &revocations{store: st, minter: minter}
	r.cur.Store(&revocationSet{})
	return r
}

// Refresh reads the store's revocations if their version changed since
// the last read (always when force).
func (r *revocations) Refresh(ctx context.Context, force bool) error {
	if r.store == nil {
		return nil
	}
	r.refresh.Lock()
	defer r.refresh.Unlock()
	cur := r.cur.Load()
	if !force && cur.read {
		v, err := r.store.RevocationsVersion(ctx)
		if err != nil {
			return err
		}
		if v == cur.version {
			return nil
		}
	}
	revs, v, err := r.store.Revocations(ctx)
	if err != nil {
		return err
	}
	r.cur.Store(newRevocationSet(revs, v))
	return nil
}

func newRevocationSet(revs []relay.Revocation, version uint64) *revocationSet {
	s := &revocationSet{version: version, read: true, until: make(map[string]time.Time, len(revs))}
	for _, rev := range revs {
		s.until[rev.Subject] = rev.Until
	}
	byAge := slices.Clone(revs)
	slices.SortStableFunc(byAge, func(a, b relay.Revocation) int { return b.At.Compare(a.At) })
	if len(byAge) > MaxRelayRevocations {
		byAge, s.truncated = byAge[:MaxRelayRevocations], true
	}
	for i := range byAge {
		byAge[i].Subject = "" // relays are told pseudonyms only
	}
	s.relays = byAge
	return s
}

// revoked reports whether subject is revoked at now: one map read.
func (r *revocations) revoked(subject string, now time.Time) bool {
	until, ok := r.cur.Load().until[subject]
	return ok && now.Before(until)
}

// inForce counts the revocations in force at now, for the gauge.
func (r *revocations) inForce(now time.Time) int {
	n := 0
	for _, until := range r.cur.Load().until {
		if now.Before(until) {
			n++
		}
	}
	return n
}

// Revoked reports whether subject's credentials are refused at now, as
// this replica's copy of the store's revocations says: one map read, no
// store round trip (the credentials path asks it on every request).
func (g *Gateway) Revoked(subject string, now time.Time) bool { return g.revs.revoked(subject, now) }

// Revoke revokes subject until until (which must be after now: else an
// error wrapping store.ErrInvalid), replacing any revocation of it, and
// returns once this replica refuses the subject; other replicas refuse it
// within one refresh interval. Relays learn the subject's pseudonym, never
// the subject, in their next heartbeat answer.
func (g *Gateway) Revoke(ctx context.Context, subject string, until time.Time) (relay.Revocation, error) {
	if g.revs.store == nil {
		return relay.Revocation{}, ErrNoRevocations
	}
	rev := relay.Revocation{Subject: subject, Pseudonym: g.minter.Pseudonym(subject), Until: until.UTC(), At: g.now().UTC()}
	if err := g.revs.store.Revoke(ctx, rev); err != nil {
		return relay.Revocation{}, fmt.Errorf("gateway: %w", err)
	}
	g.metrics.revocationsMade.Inc()
	return rev, g.syncRevocations(ctx)
}

// Unrevoke lifts subject's revocation (an error satisfying NotFound() bool
// when none is in force) and returns once this replica takes the subject's
// requests again.
func (g *Gateway) Unrevoke(ctx context.Context, subject string) error {
	if g.revs.store == nil {
		return ErrNoRevocations
	}
	if err := g.revs.store.Unrevoke(ctx, subject); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return g.syncRevocations(ctx)
}

// Revocations lists the revocations in force, from the store, sorted by
// subject.
func (g *Gateway) Revocations(ctx context.Context) ([]relay.Revocation, error) {
	if g.revs.store == nil {
		return nil, nil
	}
	revs, _, err := g.revs.store.Revocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return revs, nil
}

// RelayRevocations is the revocation list for relays' heartbeat answers,
// from this replica's copy: pseudonyms (Subject empty) in force at now,
// newest first, at most MaxRelayRevocations; truncated when some were left
// out.
func (g *Gateway) RelayRevocations(now time.Time) (revs []relay.Revocation, truncated bool) {
	s := g.revs.cur.Load()
	for _, rev := range s.relays {
		if rev.InForce(now) {
			revs = append(revs, rev)
		}
	}
	return revs, s.truncated
}

// syncRevocations rereads the revocations after this replica wrote them.
func (g *Gateway) syncRevocations(ctx context.Context) error {
	if err := g.revs.Refresh(ctx, true); err != nil {
		return fmt.Errorf("gateway: reread revocations after a write: %w", err)
	}
	return nil
}

// revocationCollectors are the revocations' metrics: no label names a
// user.
func (g *Gateway) revocationCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		metric.GaugeFunc("relaygate_revocations", "Subjects revoked now, as this replica's copy of the store has them.", func() float64 { return float64(g.revs.inForce(g.now())) }),
		g.metrics.revocationsMade,
	}
}
