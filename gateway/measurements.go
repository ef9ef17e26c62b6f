package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/internal/metric"
	"github.com/relaygate/relaygate/relay"
)

// storeTimeout bounds one write of the measurement queue or the probe
// bridge: a store slower than that is failing, and the next batch should
// not wait behind it.
const storeTimeout = 2 * time.Second

// measurementBatch is one client report waiting for the store.
type measurementBatch struct {
	prefix   netip.Prefix
	reporter string // the pseudonym of the reporting token's subject
	ms       []relay.Measurement
}

// measurementQueue holds reports between Record, which never waits, and
// Run's writer.
type measurementQueue struct {
	ch      chan measurementBatch
	dropped prometheus.Counter
}

func newMeasurementQueue(n int, reg prometheus.Registerer) (*measurementQueue, error) {
	q := &measurementQueue{
		ch:      make(chan measurementBatch, n),
		dropped: metric.Counter("relaygate_measurements_dropped_total", "Client measurement reports dropped because the queue to the store was full."),
	}
	if reg != nil {
		if err := reg.Register(q.dropped); err != nil {
			return nil, fmt.Errorf("gateway: register metrics: %w", err)
		}
	}
	return q, nil
}

// Record queues what a client measured for its prefix, keeping only relays
// this gateway knows (others would only take space). subject is the
// reporting token's: the report is stored under the user's reporter ID for
// that prefix (see reporter), so that the prefix's aggregates count each
// user once however often it reports (see relay.Aggregate), and the user's
// own figures can steer its own picks. It never waits: when the queue is
// full the report is dropped and counted in
// relaygate_measurements_dropped_total. Clients without a prefix are
// ignored.
func (g *Gateway) Record(c relay.Client, subject string, ms []relay.Measurement) {
	if !c.Prefix.IsValid() {
		return
	}
	snap := g.snaps.Load()
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
	case g.queue.ch <- measurementBatch{prefix: c.Prefix, reporter: g.reporter(c.Prefix, subject), ms: known}:
	default:
		g.queue.dropped.Inc()
	}
}

// reporter is the ID under which subject's reports for prefix are kept: a
// keyed hash of both under the pseudonym key (the one TURN usernames are
// made with, so every replica agrees), unlike the user's pseudonym and
// different in every prefix, so that the store never holds anything that
// follows one user from network to network. 20 base64url characters.
func (g *Gateway) reporter(prefix netip.Prefix, subject string) string {
	return g.minter.Pseudonym(reporterDomain + prefix.String() + "\x00" + subject)
}

// reporterDomain starts what reporter hashes, so that no subject's TURN
// pseudonym is a reporter ID.
const reporterDomain = "relaygate measurements v1\x00"

// runMeasurements folds queued reports into the store until ctx is done.
// Failures are logged once per outage, never with the prefix.
func (g *Gateway) runMeasurements(ctx context.Context, log *slog.Logger) error {
	outage := outageLog{log: log,
		failed:    "storing client measurements fails; they are dropped until it recovers",
		recovered: "storing client measurements recovered"}
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-g.queue.ch:
			sctx, cancel := context.WithTimeout(ctx, storeTimeout)
			err := g.store.AddMeasurements(sctx, b.prefix, b.reporter, b.ms)
			cancel()
			outage.note(ctx, err)
		}
	}
}
