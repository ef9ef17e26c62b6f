package main

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
)

// measurementQueueLen bounds the reports waiting to be folded into the
// store. Reports beyond it are dropped (and counted): a measurement is a
// hint, and an overloaded store must not back up into request handling.
const measurementQueueLen = 4096

type measurementBatch struct {
	prefix netip.Prefix
	ms     []relay.Measurement
}

// measurementQueue is api.Measurements: Record queues without waiting and
// Run, owned by run's errgroup, folds the batches into the store.
type measurementQueue struct {
	reg     store.Registry
	snaps   *store.Snapshots
	ch      chan measurementBatch
	dropped prometheus.Counter
	log     *slog.Logger
}

func newMeasurementQueue(reg store.Registry, snaps *store.Snapshots, promReg prometheus.Registerer, log *slog.Logger) *measurementQueue {
	q := &measurementQueue{
		reg: reg, snaps: snaps, log: log,
		ch: make(chan measurementBatch, measurementQueueLen),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relaygate_measurements_dropped_total",
			Help: "Client measurement reports dropped because the queue to the store was full.",
		}),
	}
	promReg.MustRegister(q.dropped)
	return q
}

// Record keeps the measurements of relays this gateway knows (others would
// only take space) and queues them for the client's prefix.
func (q *measurementQueue) Record(c relay.Client, ms []relay.Measurement) {
	prefix := c.Prefix
	if !prefix.IsValid() {
		return
	}
	snap := q.snaps.Load()
	known := make([]relay.Measurement, 0, len(ms))
	for _, m := range ms {
		if _, ok := snap.Relay(m.RelayID); ok {
			known = append(known, m)
		}
	}
	if len(known) == 0 {
		return
	}
	select {
	case q.ch <- measurementBatch{prefix: prefix, ms: known}:
	default:
		q.dropped.Inc()
	}
}

// Run folds queued batches into the store until ctx is done.
func (q *measurementQueue) Run(ctx context.Context) error {
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-q.ch:
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := q.reg.AddMeasurements(sctx, b.prefix, b.ms)
			cancel()
			switch {
			case err != nil && !failing && ctx.Err() == nil:
				failing = true
				q.log.Warn("storing client measurements fails; they are dropped until it recovers", "err", err)
			case err == nil && failing:
				failing = false
				q.log.Info("storing client measurements recovered")
			}
		}
	}
}

// probeTargets lists what the prober measures: each relay's STUN/TURN UDP
// address, IPv4 first. Relays without UDP are judged by heartbeats alone.
func probeTargets(snaps *store.Snapshots) func() []probe.Target {
	return func() []probe.Target {
		relays := snaps.Load().Relays()
		out := make([]probe.Target, 0, len(relays))
		for _, r := range relays {
			if r.Ports[relay.UDP] == 0 || len(r.Addresses) == 0 {
				continue
			}
			addr := r.Addresses[0]
			for _, a := range r.Addresses {
				if a.Is4() {
					addr = a
					break
				}
			}
			out = append(out, probe.Target{RelayID: r.ID, Addr: netip.AddrPortFrom(addr, uint16(r.Ports[relay.UDP]))})
		}
		return out
	}
}

// probeReporter stores probe results (this replica's view) and refreshes
// the snapshot so selection sees a relay go down at once.
func probeReporter(ctx context.Context, reg store.Registry, snaps *store.Snapshots, log *slog.Logger) func([]probe.Result) {
	failing := false
	return func(rs []probe.Result) {
		m := make(map[string]relay.Probe, len(rs))
		for _, r := range rs {
			m[r.RelayID] = relay.Probe{
				Health: relay.Health(r.Health), RTT: r.RTT, MinRTT: r.MinRTT,
				Jitter: r.Jitter, Loss: r.Loss, ProbedAt: r.ProbedAt,
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := reg.RecordProbes(sctx, m)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			failing = true
			log.Warn("storing probe results fails", "err", err)
		case err == nil:
			failing = false
			snaps.Poke()
		}
	}
}
