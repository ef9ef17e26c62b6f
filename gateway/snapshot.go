package gateway

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/internal/metric"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/selector"
	"github.com/relaygate/relaygate/store"
)

// snapshots keeps in-memory copies of a store.Registry fresh, so the
// request path never waits on the store: the relays as an immutable
// selector.Snapshot behind an atomic pointer, and the client-prefix
// measurement aggregates (the embedded prefixMeasurements). Run refreshes
// both every Config.RefreshInterval, and the relays at once after Poke (a
// local heartbeat, say), so a relay registered on any gateway replica is
// selectable on every replica within one interval.
//
// This replica's own probe results (RecordProbes) are merged into the
// snapshot as they come, not only once the store has them back, so that a
// relay the prober finds dead leaves selection even while the store is
// unreachable.
//
// While refreshes fail, the last snapshot keeps serving for the store
// grace, with relays judged fresh as of the last good refresh (judgeAt);
// past it relays expire by the clock as they would without an outage. The
// first good refresh after an outage reads every relay, and keeps, for one
// heartbeat TTL, relays the store no longer has: a store that came back
// empty (a restarted Redis) must not empty selection until every relay has
// heartbeated again.
type snapshots struct {
	prefixMeasurements

	reg      store.Registry
	interval time.Duration
	grace    time.Duration // Config.StoreGrace; negative: none
	now      func() time.Time
	log      *slog.Logger
	cur      atomic.Pointer[selector.Snapshot]
	health   atomic.Pointer[storeHealth]
	poke     chan struct{}
	// also refreshes what else Run keeps fresh on the same cadence (the
	// revocations); nil: nothing.
	also    func(ctx context.Context) error
	writes  atomic.Uint64 // Sync calls so far: each follows a write the caller needs to see
	covered atomic.Uint64 // writes counted before the last completed refresh began its read

	refresh  sync.Mutex // serialises reads of the store, so an older read never replaces a newer one; guards below
	relaysAt uint64     // RelaysSince cursor
	fullAt   time.Time  // of the last full read; zero: none yet, or one is due

	// build guards the copy the snapshot is built from; it is held
	// without waiting on the store, so probe results reach selection
	// while a read hangs. Lock order: refresh, then build.
	build sync.Mutex
	// The relays as of the last refresh, kept up to date incrementally
	// from relaysAt with RelaysSince; nil before the first.
	relays map[string]relay.Relay
	static map[string]relay.Relay // SetStatic's relays, by ID; never in the store
	probes map[string]relay.Probe // this replica's latest probe results, by relay ID
	stale  time.Time              // when the next relay expires or probe view ages out
}

// storeHealth is what the last read of the store said. It is replaced
// whole, never changed.
type storeHealth struct {
	failing bool      // the last read failed
	goodAt  time.Time // when the last good read began: the snapshot is the store as of then; zero: none yet
}

// newSnapshots serves an empty snapshot until the first refresh. cfg must
// have its defaults applied; a nil log discards.
func newSnapshots(reg store.Registry, cfg Config, now func() time.Time, log *slog.Logger) *snapshots {
	s := &snapshots{
		prefixMeasurements: prefixMeasurements{reg: reg, agg: cfg.Aggregate},
		reg:                reg,
		interval:           cfg.RefreshInterval,
		grace:              cfg.StoreGrace,
		now:                now,
		log:                cmp.Or(log, slog.New(slog.DiscardHandler)),
		poke:               make(chan struct{}, 1),
		probes:             make(map[string]relay.Probe),
	}
	s.cur.Store(selector.NewSnapshot(nil))
	s.health.Store(&storeHealth{})
	return s
}

// Load returns the current relay snapshot. It never blocks.
func (s *snapshots) Load() *selector.Snapshot { return s.cur.Load() }

// Poke asks Run for a refresh now. It never blocks; pokes coalesce.
func (s *snapshots) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// judgeAt is the time at which relays' freshness is judged for a request
// at now: now, unless the store is failing and its last good read is
// within the grace; then that read's time, so relays fresh then stay
// eligible (their own probe results still take dead ones out).
func (s *snapshots) judgeAt(now time.Time) time.Time {
	if h := s.health.Load(); s.serveStale(h, now) {
		return h.goodAt
	}
	return now
}

// serveStale reports whether, with the store as h says, selection at now
// judges by the last good read.
func (s *snapshots) serveStale(h *storeHealth, now time.Time) bool {
	return h.failing && !h.goodAt.IsZero() && s.grace >= 0 && !now.Before(h.goodAt) && now.Sub(h.goodAt) <= s.grace
}

// Health reports, at now, the age of the snapshot (since its last good
// read; negative before the first), whether the store has failed to
// refresh it since (stale), and whether selection still serves it: not a
// stale snapshot past the grace.
func (s *snapshots) Health(now time.Time) (age time.Duration, stale, serving bool) {
	h := s.health.Load()
	age = -1
	if !h.goodAt.IsZero() {
		age = max(now.Sub(h.goodAt), 0)
	}
	return age, h.failing, !h.failing || s.serveStale(h, now)
}

// collectors are the snapshot's gauges, read at scrape time: whether the
// store answers the refreshes, and how old the snapshot is.
func (s *snapshots) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		metric.GaugeFunc("relaygate_store_up", "1 while the registry store answers the relay snapshot's refreshes, 0 while they fail (selection then serves the last snapshot for the store grace).", func() float64 {
			if s.health.Load().failing {
				return 0
			}
			return 1
		}),
		metric.GaugeFunc("relaygate_snapshot_age_seconds", "Seconds since the relay snapshot was last refreshed from the registry store (0 before the first refresh): about the refresh interval while the store answers, growing while it does not.", func() float64 {
			age, _, _ := s.Health(s.now())
			return max(age, 0).Seconds()
		}),
	}
}

// fullReadEvery is how often Refresh reads every relay rather than what
// changed since the last read: a safety net for changes the store's change
// sequence cannot report (its keys deleted, writes by an older gateway).
const fullReadEvery = time.Minute

// Refresh reads the relays changed since the last refresh (all of them on
// the first refresh, after a failed one, and then every minute), merges
// them into its copy, drops relays that have expired, and swaps in a new
// snapshot. On error the old snapshot stays, judged as judgeAt says.
func (s *snapshots) Refresh(ctx context.Context) error {
	s.refresh.Lock()
	defer s.refresh.Unlock()
	return s.refreshLocked(ctx)
}

func (s *snapshots) refreshLocked(ctx context.Context) error {
	reading := s.writes.Load() // every write counted so far is in the store before this read
	now := s.now()
	full := s.fullAt.IsZero() || now.Sub(s.fullAt) >= fullReadEvery || now.Before(s.fullAt)
	cursor := s.relaysAt
	if full {
		cursor = 0
	}
	rs, next, err := s.reg.RelaysSince(ctx, cursor)
	before := s.health.Load()
	if err != nil {
		if !errors.Is(ctx.Err(), context.Canceled) { // a caller that left says nothing about the store; a deadline does
			s.health.Store(&storeHealth{failing: true, goodAt: before.goodAt})
			s.fullAt = time.Time{} // once it answers, read everything: it may have lost data meanwhile
		}
		return err
	}
	// The store may have lost data: it failed meanwhile, or its change
	// sequence went back (its keys were deleted).
	lost := before.failing || next < s.relaysAt
	s.relaysAt = next
	if full {
		s.fullAt = now
	}
	s.build.Lock()
	defer s.build.Unlock()
	at := s.judgeAt(now) // as selection judged until this read
	s.health.Store(&storeHealth{goodAt: now})
	if full {
		fresh := make(map[string]relay.Relay, len(rs))
		for _, r := range rs {
			fresh[r.ID] = r
		}
		if lost {
			s.bridgeLocked(fresh, at, now)
		}
		s.relays = fresh
	} else {
		for _, r := range rs {
			s.relays[r.ID] = r
		}
		if len(rs) == 0 && now.Before(s.stale) {
			s.covered.Store(reading) // nothing changed: the snapshot stands
			return nil
		}
	}
	s.buildLocked(now, now)
	s.covered.Store(reading)
	return nil
}

// bridgeLocked adds to fresh, the store's relays after an outage, the
// relays selection served (fresh at at) that the store no longer has, each
// until one of its heartbeat TTLs from now: a relay alive through the
// outage heartbeats within that and brings its own record; one that does
// not expires as usual.
func (s *snapshots) bridgeLocked(fresh map[string]relay.Relay, at, now time.Time) {
	for id, r := range s.relays {
		if _, ok := fresh[id]; ok || !r.Fresh(at) {
			continue
		}
		r.ExpiresAt = now.Add(r.ExpiresAt.Sub(r.LastSeen))
		fresh[id] = r
	}
}

// buildLocked builds and swaps in the snapshot of s.relays fresh at at,
// each with the newer of the store's probe view and this replica's own,
// views older than store.ProbeMaxAge at now dropped. Relays not fresh at
// at are forgotten, and so are probe results of relays no longer known.
func (s *snapshots) buildLocked(at, now time.Time) {
	s.stale = time.Time{}
	// In ID order: NewSnapshot's sort then has nothing to do, and sorting
	// the IDs moves far less memory than sorting the relays.
	ids := make([]string, 0, len(s.relays)+len(s.static))
	for id, r := range s.relays {
		if !r.Fresh(at) {
			delete(s.relays, id)
			continue
		}
		if _, ok := s.static[id]; !ok { // the static entry wins an ID both have
			ids = append(ids, id)
		}
	}
	for id := range s.static {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	maps.DeleteFunc(s.probes, func(id string, _ relay.Probe) bool {
		_, ok := s.relays[id]
		_, static := s.static[id]
		return !ok && !static
	})
	out := make([]relay.Relay, len(ids))
	for i, id := range ids {
		r, ok := s.static[id]
		if !ok {
			r = s.relays[id]
		}
		if mine, ok := s.probes[id]; ok && mine.ProbedAt.After(r.Probe.ProbedAt) {
			r.Probe = mine
		}
		if !r.Probe.ProbedAt.IsZero() && now.Sub(r.Probe.ProbedAt) > store.ProbeMaxAge {
			r.Probe = relay.Probe{} // as the store reads an aged view
		}
		s.stale = earliest(s.stale, r.ExpiresAt)
		if !r.Probe.ProbedAt.IsZero() {
			s.stale = earliest(s.stale, r.Probe.ProbedAt.Add(store.ProbeMaxAge+time.Nanosecond))
		}
		out[i] = r
	}
	s.cur.Store(selector.NewSnapshot(out))
}

// RecordProbes merges this replica's latest probe results into the
// snapshot now, without the store: selection sees a relay go down at once,
// whether or not the store can take the results.
func (s *snapshots) RecordProbes(probes map[string]relay.Probe) {
	s.build.Lock()
	defer s.build.Unlock()
	maps.Copy(s.probes, probes)
	if s.relays == nil && s.static == nil {
		return // nothing read yet: the first refresh merges them
	}
	now := s.now()
	s.buildLocked(s.judgeAt(now), now)
}

// SetStatic replaces the static relays with static (by ID; the caller
// gives up the map) and swaps in a snapshot with them at once, whether or
// not the store has been read: static relays do not need it.
func (s *snapshots) SetStatic(static map[string]relay.Relay) {
	s.build.Lock()
	defer s.build.Unlock()
	s.static = static
	now := s.now()
	s.buildLocked(s.judgeAt(now), now)
}

// earliest returns the earlier of a and b, the zero time counting as
// "never".
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// Sync returns once the snapshot reflects the registry as of the call: the
// caller has just written something (a new relay) that the next request must
// see. Concurrent calls share refreshes: a burst of N writes (a fleet of
// relays registering with a restarted gateway) costs about two refreshes,
// not N.
func (s *snapshots) Sync(ctx context.Context) error {
	mine := s.writes.Add(1)
	s.refresh.Lock()
	defer s.refresh.Unlock()
	if s.covered.Load() >= mine {
		return nil // a refresh that began after our write has completed
	}
	return s.refreshLocked(ctx)
}

// Run refreshes until ctx is done. Failures are logged once per outage,
// and once more when the grace runs out.
func (s *snapshots) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	outage := outageLog{log: s.log,
		failed:    "snapshot refresh failing; serving the last snapshot for the store grace",
		recovered: "snapshot refresh recovered"}
	graceOver := false
	for {
		ctx2, cancel := context.WithTimeout(ctx, s.interval*2)
		err := s.Refresh(ctx2)
		if err == nil {
			err = s.RefreshMeasurements(ctx2, s.now())
		}
		if err == nil && s.also != nil {
			err = s.also(ctx2)
		}
		cancel()
		outage.note(ctx, err)
		switch _, stale, serving := s.Health(s.now()); {
		case stale && !serving && !graceOver && ctx.Err() == nil:
			graceOver = true
			s.log.Error("store unreachable for longer than the store grace: relays have expired from selection, credentials fail until it answers")
		case !stale:
			graceOver = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.poke:
		}
	}
}
