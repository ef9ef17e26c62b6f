package gateway

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/internal/metric"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/selector"
	"github.com/relaygate/relaygate/store"
)

// Selection results, the result label of relaygate_selections_total.
const (
	selectedWithBackup = "with_backup" // a primary and a backup on another site
	selectedNoBackup   = "no_backup"   // a primary only: the client has nothing to fail over to
	selectedNone       = "no_relay"    // no relay could serve the client
	// Relays could serve the client, but none in a country the policy
	// (operator's, token's and request's) permits: apart from no_relay,
	// whose alert must not fire because a client asked for a narrow policy.
	selectedOutside = "outside_jurisdiction"
)

// relayStates are every state label of relaygate_relays, in Relay.State's
// order.
var relayStates = []relay.State{
	relay.StateDrained, relay.StateDraining, relay.StateDown, relay.StateFull, relay.StateDegraded, relay.StateAvailable,
}

// storeOps are the store.Registry methods, the op label of
// relaygate_store_errors_total.
var storeOps = []string{
	opHeartbeat, opRelay, opRelays, opRelaysSince, opSetDrained, opRecordProbes, opAddMeasurements, opMeasurements, opPing,
	opRevoke, opUnrevoke, opRevocations, opRevocationsVersion,
	opAddUsage, opUsageOf, opRelayUsage,
}

const (
	opHeartbeat       = "heartbeat"
	opRelay           = "relay"
	opRelays          = "relays"
	opRelaysSince     = "relays_since"
	opSetDrained      = "set_drained"
	opRecordProbes    = "record_probes"
	opAddMeasurements = "add_measurements"
	opMeasurements    = "measurements"
	opPing            = "ping"

	opRevoke             = "revoke"
	opUnrevoke           = "unrevoke"
	opRevocations        = "revocations"
	opRevocationsVersion = "revocations_version"
	opAddUsage           = "add_usage"
	opUsageOf            = "usage_of"
	opRelayUsage         = "relay_usage"
)

// Results of usage reports, the result label of relaygate_usage_reports_total.
const (
	usageCounted = "counted" // counted, or found counted before (a retry)
	usageFailed  = "failed"  // refused or not stored: the relay sends it again
)

// metrics are the Gateway's own collectors beyond the snapshot's gauges
// and the measurement queue's counter. Labels are bounded: selection
// results, relay states, store operations, and relay regions (capped at
// relay.MaxRegionLabels values); never a relay ID, an address or a user. Label
// values known up front exist from the start, so every family but the
// per-region ones is exported from the first scrape.
type metrics struct {
	selections *prometheus.CounterVec
	// The selections counter of each result, resolved once: Pick runs on
	// every credentials request.
	withBackup, noBackup, noRelay, outside prometheus.Counter
	storeErrors                            *prometheus.CounterVec
	probeRTT                               *prometheus.HistogramVec
	probeLoss                              *prometheus.HistogramVec
	regions                                relay.RegionLabels
	revocationsMade                        prometheus.Counter
	usageReports                           *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		selections:      metric.CounterVec("relaygate_selections_total", "Relay selections by result: with_backup, no_backup (a primary only, nothing to fail over to), no_relay (none could serve).", []string{"result"}),
		storeErrors:     metric.CounterVec("relaygate_store_errors_total", "Registry store calls that failed (not-found answers, invalid arguments and callers that left are not failures), by operation.", []string{"op"}),
		usageReports:    metric.CounterVec("relaygate_usage_reports_total", "Relays' usage reports by result: counted (or found counted before), failed (the relay sends it again). Per-user usage is in GET /v1/usage, never in metrics.", []string{"result"}),
		probeRTT:        metric.HistogramVec("relaygate_probe_rtt_seconds", "Round-trip time of the latest answered STUN probe of a relay, at each probe report, by the relay's region.", []float64{.001, .0025, .005, .01, .02, .04, .08, .12, .16, .25, .4, .6, 1}, []string{"region"}),
		probeLoss:       metric.HistogramVec("relaygate_probe_loss_ratio", "Share of a relay's recent STUN probes that went unanswered, at each probe report, by the relay's region.", []float64{0, .01, .02, .05, .1, .2, .5, .99}, []string{"region"}),
		revocationsMade: metric.Counter("relaygate_revocations_made_total", "Subjects revoked through this replica (POST /v1/revocations)."),
	}
	m.withBackup = m.selections.WithLabelValues(selectedWithBackup)
	m.noBackup = m.selections.WithLabelValues(selectedNoBackup)
	m.noRelay = m.selections.WithLabelValues(selectedNone)
	m.outside = m.selections.WithLabelValues(selectedOutside)
	for _, r := range []string{usageCounted, usageFailed} {
		m.usageReports.WithLabelValues(r)
	}
	for _, op := range storeOps {
		m.storeErrors.WithLabelValues(op)
	}
	return m
}

// collectors are m's collectors and the relays-by-state gauge over snaps.
func (m *metrics) collectors(snaps *snapshots) []prometheus.Collector {
	return []prometheus.Collector{m.selections, m.storeErrors, m.usageReports, m.probeRTT, m.probeLoss, relayStateCollector{snaps: snaps}}
}

// selected counts one Pick's outcome.
func (m *metrics) selected(pair relay.Pair, err error) {
	switch {
	case errors.Is(err, relay.ErrOutsideJurisdiction):
		m.outside.Inc()
	case err != nil:
		m.noRelay.Inc()
	case pair.Backup == nil:
		m.noBackup.Inc()
	default:
		m.withBackup.Inc()
	}
}

// probed observes one probe report, each result under its relay's region
// as snap has it.
func (m *metrics) probed(snap *selector.Snapshot, rs []probe.Result) {
	for _, r := range rs {
		rel, ok := snap.Relay(r.RelayID)
		if !ok {
			continue // gone since it was probed
		}
		region := m.regions.Label(rel.Region)
		if r.Health != probe.HealthDown && r.LastRTT > 0 {
			m.probeRTT.WithLabelValues(region).Observe(r.LastRTT.Seconds())
		}
		m.probeLoss.WithLabelValues(region).Observe(r.Loss)
	}
}

// relayStateCollector exports relaygate_relays: the fresh relays of the
// current snapshot by state, read at scrape time, every state always
// present (zero when no relay is in it).
type relayStateCollector struct{ snaps *snapshots }

var relaysDesc = prometheus.NewDesc("relaygate_relays",
	"Relays with a fresh heartbeat in this replica's snapshot, by state (as GET /v1/relays reports it).", []string{"state"}, nil)

// Describe implements prometheus.Collector.
func (relayStateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- relaysDesc }

// Collect implements prometheus.Collector.
func (c relayStateCollector) Collect(ch chan<- prometheus.Metric) {
	at := c.snaps.judgeAt(c.snaps.now())
	counts := make(map[relay.State]int, len(relayStates))
	for _, r := range c.snaps.Load().Relays() {
		if r.Fresh(at) {
			counts[r.State()]++
		}
	}
	for _, s := range relayStates {
		ch <- prometheus.MustNewConstMetric(relaysDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}

// countingStore is a store.Registry that counts its failures by operation
// in relaygate_store_errors_total.
type countingStore struct {
	store.Registry
	errs *prometheus.CounterVec
}

// count notes err as a failure of op unless it is an answer rather than a
// failure: not found, an invalid argument, or a caller that left.
func (c countingStore) count(op string, err error) error { return countStoreError(c.errs, op, err) }

func countStoreError(errs *prometheus.CounterVec, op string, err error) error {
	if err != nil && !store.IsNotFound(err) && !errors.Is(err, store.ErrNotRevoked) && !errors.Is(err, store.ErrInvalid) && !errors.Is(err, context.Canceled) {
		errs.WithLabelValues(op).Inc()
	}
	return err
}

// countingRevocations is a store.Revocations that counts its failures in
// relaygate_store_errors_total, as countingStore does.
type countingRevocations struct {
	revs store.Revocations
	errs *prometheus.CounterVec
}

func (c countingRevocations) Revoke(ctx context.Context, rev relay.Revocation) error {
	return countStoreError(c.errs, opRevoke, c.revs.Revoke(ctx, rev))
}

func (c countingRevocations) Unrevoke(ctx context.Context, subject string) error {
	return countStoreError(c.errs, opUnrevoke, c.revs.Unrevoke(ctx, subject))
}

func (c countingRevocations) Revocations(ctx context.Context) ([]relay.Revocation, uint64, error) {
	revs, v, err := c.revs.Revocations(ctx)
	return revs, v, countStoreError(c.errs, opRevocations, err)
}

func (c countingRevocations) RevocationsVersion(ctx context.Context) (uint64, error) {
	v, err := c.revs.RevocationsVersion(ctx)
	return v, countStoreError(c.errs, opRevocationsVersion, err)
}

func (c countingStore) Heartbeat(ctx context.Context, r relay.Relay, ttl time.Duration) error {
	return c.count(opHeartbeat, c.Registry.Heartbeat(ctx, r, ttl))
}

func (c countingStore) Relay(ctx context.Context, id string) (relay.Relay, error) {
	r, err := c.Registry.Relay(ctx, id)
	return r, c.count(opRelay, err)
}

func (c countingStore) Relays(ctx context.Context) ([]relay.Relay, error) {
	rs, err := c.Registry.Relays(ctx)
	return rs, c.count(opRelays, err)
}

func (c countingStore) RelaysSince(ctx context.Context, cursor uint64) ([]relay.Relay, uint64, error) {
	rs, next, err := c.Registry.RelaysSince(ctx, cursor)
	return rs, next, c.count(opRelaysSince, err)
}

func (c countingStore) SetDrained(ctx context.Context, id string, drained bool) error {
	return c.count(opSetDrained, c.Registry.SetDrained(ctx, id, drained))
}

func (c countingStore) RecordProbes(ctx context.Context, probes map[string]relay.Probe) error {
	return c.count(opRecordProbes, c.Registry.RecordProbes(ctx, probes))
}

func (c countingStore) AddMeasurements(ctx context.Context, prefix netip.Prefix, reporter string, ms []relay.Measurement) error {
	return c.count(opAddMeasurements, c.Registry.AddMeasurements(ctx, prefix, reporter, ms))
}

func (c countingStore) Measurements(ctx context.Context, since time.Time) (map[netip.Prefix]map[string]relay.Aggregate, time.Time, error) {
	ms, next, err := c.Registry.Measurements(ctx, since)
	return ms, next, c.count(opMeasurements, err)
}

func (c countingStore) Ping(ctx context.Context) error {
	return c.count(opPing, c.Registry.Ping(ctx))
}

// countingUsage is a store.Usage that counts its failures by operation in
// relaygate_store_errors_total.
type countingUsage struct {
	store.Usage
	c countingStore
}

func (c countingUsage) AddUsage(ctx context.Context, relayID string, rep relay.UsageReport) error {
	return c.c.count(opAddUsage, c.Usage.AddUsage(ctx, relayID, rep))
}

func (c countingUsage) UsageOf(ctx context.Context, pseudonyms []string, from, to time.Time) ([]relay.UsagePeriod, error) {
	ps, err := c.Usage.UsageOf(ctx, pseudonyms, from, to)
	return ps, c.c.count(opUsageOf, err)
}

func (c countingUsage) RelayUsage(ctx context.Context, from, to time.Time) ([]relay.UsageOnRelay, error) {
	rs, err := c.Usage.RelayUsage(ctx, from, to)
	return rs, c.c.count(opRelayUsage, err)
}
