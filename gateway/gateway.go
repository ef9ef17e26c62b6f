package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/relaygate/relaygate/netpolicy"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// Gateway is one relaygate replica's application layer over a store. It is
// api's Registry, Picker, Minter, Measurements and Usage. Its methods are safe for
// concurrent use.
type Gateway struct {
	cfg       Config
	store     store.Registry
	usage     store.Usage // nil: usage is not kept
	minter    *turncred.Minter
	log       *slog.Logger
	now       func() time.Time
	rand      func() uint64
	countries Countries // nil: relays are placed by what they state alone
	snaps     *snapshots
	primaries *primaries
	queue     *measurementQueue
	relayNets *netpolicy.Filter // where relay addresses may be: the public Internet and AllowRelayNetworks
	metrics   *metrics
	revs      *revocations
	ran       atomic.Bool
}

// New checks cfg and deps and builds a Gateway. It starts nothing: until
// Run runs, selection sees only what Heartbeat, SetDrained and Refresh
// brought into the snapshot, and measurements wait in the queue.
func New(cfg Config, deps Deps) (*Gateway, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := deps.validate(); err != nil {
		return nil, err
	}
	deps = deps.withDefaults()
	if cfg.Probe.Now == nil {
		cfg.Probe.Now = deps.Now
	}
	m := newMetrics()
	var revStore store.Revocations // Memory and Redis keep them; a test's fake may not
	if rs, ok := deps.Store.(store.Revocations); ok {
		revStore = countingRevocations{revs: rs, errs: m.storeErrors}
	}
	deps.Store = countingStore{Registry: deps.Store, errs: m.storeErrors}
	if deps.Usage != nil {
		deps.Usage = countingUsage{Usage: deps.Usage, c: countingStore{errs: m.storeErrors}}
	}
	g := &Gateway{
		cfg:       cfg,
		store:     deps.Store,
		usage:     deps.Usage,
		minter:    deps.Minter,
		log:       deps.Log,
		now:       deps.Now,
		rand:      deps.Rand,
		countries: deps.Countries,
		snaps:     newSnapshots(deps.Store, cfg, deps.Now, deps.Log.With("component", "snapshot")),
		primaries: newPrimaries(cfg.HysteresisPrefixes),
		metrics:   m,
		revs:      newRevocations(revStore, deps.Minter),
	}
	g.snaps.reporter = g.reporter
	g.snaps.also = func(ctx context.Context) error { return g.revs.Refresh(ctx, false) }
	q, err := newMeasurementQueue(cfg.MeasurementQueue, deps.Metrics)
	if err != nil {
		return nil, err
	}
	g.queue = q
	if deps.Metrics != nil {
		for _, c := range slices.Concat(g.snaps.collectors(), m.collectors(g.snaps), g.revocationCollectors()) {
			if err := deps.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("gateway: register metrics: %w", err)
			}
		}
	}
	if g.relayNets, err = netpolicy.New(cfg.AllowRelayNetworks, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err) // validate has refused this already
	}
	return g, nil
}

// Run refreshes the snapshot, folds queued measurements into the store and,
// unless Config.ProbeOff, probes the relays, until ctx is done. It waits
// for every goroutine it started and returns nil when ctx ends. It may be
// called once.
func (g *Gateway) Run(ctx context.Context) error {
	if !g.ran.CompareAndSwap(false, true) {
		return ErrReused
	}
	eg, ctx := errgroup.WithContext(ctx)
	if !g.cfg.ProbeOff {
		plog := g.log.With("component", "probe")
		prober, err := probe.New(g.cfg.Probe, g.probeTargets, g.probeReporter(ctx, plog), plog)
		if err != nil {
			return fmt.Errorf("gateway: prober: %w", err)
		}
		eg.Go(func() error { return prober.Run(ctx) })
	}
	eg.Go(func() error { return g.snaps.Run(ctx) })
	eg.Go(func() error { return g.runMeasurements(ctx, g.log.With("component", "measurements")) })
	return eg.Wait()
}

// Refresh brings the snapshot up to date with the store now: the relays,
// the client-prefix measurements and the revocations, as Run does every refresh interval.
// Heartbeat and SetDrained need no Refresh; a caller that writes to the
// store directly (a tool, a test) and wants selection to see it at once
// does. On error the old snapshot stays.
func (g *Gateway) Refresh(ctx context.Context) error {
	if err := g.snaps.Refresh(ctx); err != nil {
		return fmt.Errorf("gateway: refresh relays: %w", err)
	}
	if err := g.snaps.RefreshMeasurements(ctx, g.now()); err != nil {
		return fmt.Errorf("gateway: refresh measurements: %w", err)
	}
	if err := g.revs.Refresh(ctx, false); err != nil {
		return fmt.Errorf("gateway: refresh revocations: %w", err)
	}
	return nil
}
