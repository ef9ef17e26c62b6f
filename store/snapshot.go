package store

import (
	"cmp"
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/relaygate/relaygate/selector"
)

// Snapshots keeps an in-memory selector.Snapshot of a Registry fresh, so the
// request path never waits on the store: it loads the current snapshot, an
// atomic pointer read. Run refreshes it every Interval, and at once after
// Poke (a local heartbeat, say), so a relay registered on any gateway
// replica is selectable on every replica within one Interval.
type Snapshots struct {
	reg      Registry
	interval time.Duration
	log      *slog.Logger
	cur      atomic.Pointer[selector.Snapshot]
	poke     chan struct{}
	failing  atomic.Bool
}

// NewSnapshots serves an empty snapshot until the first refresh. interval
// defaults to one second.
func NewSnapshots(reg Registry, interval time.Duration, log *slog.Logger) *Snapshots {
	s := &Snapshots{
		reg:      reg,
		interval: cmp.Or(interval, time.Second),
		log:      cmp.Or(log, slog.New(slog.DiscardHandler)),
		poke:     make(chan struct{}, 1),
	}
	s.cur.Store(selector.NewSnapshot(nil))
	return s
}

// Load returns the current snapshot. It never blocks.
func (s *Snapshots) Load() *selector.Snapshot { return s.cur.Load() }

// Poke asks Run for a refresh now. It never blocks; pokes coalesce.
func (s *Snapshots) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Refresh reads the registry once and swaps in a new snapshot. On error the
// old snapshot stays: stale relays still expire by their timestamps, which
// selection checks against the clock.
func (s *Snapshots) Refresh(ctx context.Context) error {
	rs, err := s.reg.Relays(ctx)
	if err != nil {
		return err
	}
	s.cur.Store(selector.NewSnapshot(rs))
	return nil
}

// Run refreshes until ctx is done. Failures are logged once per outage.
func (s *Snapshots) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		ctx2, cancel := context.WithTimeout(ctx, s.interval*2)
		err := s.Refresh(ctx2)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !s.failing.Swap(true):
			s.log.Warn("snapshot refresh failing; serving the last snapshot", "err", err)
		case err == nil && s.failing.Swap(false):
			s.log.Info("snapshot refresh recovered")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.poke:
		}
	}
}
