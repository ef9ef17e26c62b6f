package gateway

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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
type snapshots struct {
	prefixMeasurements

	reg      store.Registry
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger
	cur      atomic.Pointer[selector.Snapshot]
	poke     chan struct{}
	refresh  sync.Mutex    // serialises Refresh, so an older read never replaces a newer one
	writes   atomic.Uint64 // Sync calls so far: each follows a write the caller needs to see
	covered  atomic.Uint64 // writes counted before the last completed refresh began its read

	// The relays as of the last refresh, kept up to date incrementally
	// from relaysAt with RelaysSince; guarded by refresh.
	relays   map[string]relay.Relay
	relaysAt uint64    // RelaysSince cursor
	fullAt   time.Time // of the last full read; zero: none yet
	stale    time.Time // when the next relay expires or probe view ages out
}

// newSnapshots serves an empty snapshot until the first refresh. cfg must
// have its defaults applied; a nil log discards.
func newSnapshots(reg store.Registry, cfg Config, now func() time.Time, log *slog.Logger) *snapshots {
	s := &snapshots{
		prefixMeasurements: prefixMeasurements{reg: reg, agg: cfg.Aggregate},
		reg:                reg,
		interval:           cfg.RefreshInterval,
		now:                now,
		log:                cmp.Or(log, slog.New(slog.DiscardHandler)),
		poke:               make(chan struct{}, 1),
	}
	s.cur.Store(selector.NewSnapshot(nil))
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

// fullReadEvery is how often Refresh reads every relay rather than what
// changed since the last read: a safety net for changes the store's change
// sequence cannot report (its keys deleted, writes by an older gateway).
const fullReadEvery = time.Minute

// Refresh reads the relays changed since the last refresh (all of them on
// the first refresh and then every minute), merges them into its copy,
// drops relays that have expired by the clock, and swaps in a new snapshot.
// On error the old snapshot stays: stale relays still expire by their
// timestamps, which selection checks against the clock.
func (s *snapshots) Refresh(ctx context.Context) error {
	s.refresh.Lock()
	defer s.refresh.Unlock()
	return s.refreshLocked(ctx)
}

func (s *snapshots) refreshLocked(ctx context.Context) error {
	reading := s.writes.Load() // every write counted so far is in the store before this read
	now := s.now()
	full := s.relays == nil || now.Sub(s.fullAt) >= fullReadEvery || now.Before(s.fullAt)
	cursor := s.relaysAt
	if full {
		cursor = 0
	}
	rs, next, err := s.reg.RelaysSince(ctx, cursor)
	if err != nil {
		return err
	}
	if full {
		s.relays = make(map[string]relay.Relay, len(rs))
		s.fullAt = now
	}
	for _, r := range rs {
		s.relays[r.ID] = r
	}
	s.relaysAt = next
	if !full && len(rs) == 0 && now.Before(s.stale) {
		s.covered.Store(reading) // nothing changed: the snapshot stands
		return nil
	}
	s.stale = time.Time{}
	// In ID order: NewSnapshot's sort then has nothing to do, and sorting
	// the IDs moves far less memory than sorting the relays.
	ids := make([]string, 0, len(s.relays))
	for id, r := range s.relays {
		if !r.Fresh(now) {
			delete(s.relays, id)
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]relay.Relay, len(ids))
	for i, id := range ids {
		r := s.relays[id]
		if !r.Probe.ProbedAt.IsZero() && now.Sub(r.Probe.ProbedAt) > store.ProbeMaxAge {
			r.Probe = relay.Probe{} // as the store reads an aged view
			s.relays[id] = r
		}
		s.stale = earliest(s.stale, r.ExpiresAt)
		if !r.Probe.ProbedAt.IsZero() {
			s.stale = earliest(s.stale, r.Probe.ProbedAt.Add(store.ProbeMaxAge+time.Nanosecond))
		}
		out[i] = r
	}
	s.cur.Store(selector.NewSnapshot(out))
	s.covered.Store(reading)
	return nil
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

// Run refreshes until ctx is done. Failures are logged once per outage.
func (s *snapshots) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	outage := outageLog{log: s.log,
		failed:    "snapshot refresh failing; serving the last snapshot",
		recovered: "snapshot refresh recovered"}
	for {
		ctx2, cancel := context.WithTimeout(ctx, s.interval*2)
		err := s.Refresh(ctx2)
		if err == nil {
			err = s.RefreshMeasurements(ctx2, s.now())
		}
		cancel()
		outage.note(ctx, err)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.poke:
		}
	}
}
