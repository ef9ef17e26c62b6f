package gateway_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// turnSecret is the TURN REST secret the fixture's minter uses.
const turnSecret = "turn-secret-0123456789abcdef"

// berlin is a located client in a Berlin /24.
var berlin = relay.Client{
	Prefix:   netip.MustParsePrefix("198.51.100.0/24"),
	Location: relay.Location{Latitude: 52.52, Longitude: 13.40},
	Located:  true,
}

// relayAt is storetest.Fra1, not draining, as relay id at site and (lat, lon).
func relayAt(id, site string, lat, lon float64) relay.Relay {
	r := storetest.Fra1()
	r.ID, r.Site, r.Draining = id, site, false
	r.Location = relay.Location{Latitude: lat, Longitude: lon}
	return r
}

// docNets are the documentation ranges the tests' relays sit in
// (storetest's among them): the fixture's gateway allows them unless its
// Config names other networks.
var docNets = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
}

func fra1() relay.Relay { return relayAt("fra-1", "fra", 50.11, 8.68) }
func ams2() relay.Relay { return relayAt("ams-2", "ams", 52.37, 4.90) }
func nyc1() relay.Relay { return relayAt("nyc-1", "nyc", 40.71, -74.0) }

// fixture is a Gateway over a Memory store, probing off (the relays sit at
// documentation addresses, which it allows: docNets), with its metrics in a
// registry of its own.
type fixture struct {
	t       *testing.T
	clk     *storetest.Clock // nil in a synctest bubble, whose clock is time.Now
	gw      *gateway.Gateway
	store   *store.Memory
	metrics *prometheus.Registry
}

// newFixture builds the fixture with the default Config, on a
// storetest.Clock at storetest.T0 that the test moves by hand (f.clk), and
// heartbeats relays through it.
func newFixture(t *testing.T, relays ...relay.Relay) *fixture {
	t.Helper()
	return newFixtureWith(t, gateway.Config{}, gateway.Deps{}, relays...)
}

// newFixtureWith is newFixture with cfg and deps; deps' Store, Minter,
// Metrics and Now are the fixture's.
func newFixtureWith(t *testing.T, cfg gateway.Config, deps gateway.Deps, relays ...relay.Relay) *fixture {
	t.Helper()
	clk := storetest.NewClock(storetest.T0)
	f := build(t, clk.Now, cfg, deps)
	f.clk = clk
	for _, r := range relays {
		f.heartbeat(r)
	}
	return f
}

// inBubble runs test inside a synctest bubble with a fixture built there
// with cfg, on the bubble's fake clock.
func inBubble(t *testing.T, cfg gateway.Config, test func(t *testing.T, f *fixture)) {
	synctest.Test(t, func(t *testing.T) {
		test(t, build(t, time.Now, cfg, gateway.Deps{}))
	})
}

// build is the fixture on the clock now. Its gateway uses deps.Store when
// set (a wrapper the test then points at f.store), else f.store.
func build(t *testing.T, now func() time.Time, cfg gateway.Config, deps gateway.Deps) *fixture {
	t.Helper()
	mem := storetest.NewMemory(t, store.MemoryConfig{Now: now})
	f := &fixture{t: t, store: mem, metrics: prometheus.NewRegistry()}
	cfg.ProbeOff = true
	if cfg.AllowRelayNetworks == nil {
		cfg.AllowRelayNetworks = docNets
	}
	if deps.Store == nil {
		deps.Store = mem
	}
	if deps.Usage == nil {
		deps.Usage = mem
	}
	deps.Minter, deps.Metrics, deps.Now = testMinter(t), f.metrics, now
	var err error
	if f.gw, err = gateway.New(cfg, deps); err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return f
}

func testMinter(t testing.TB) *turncred.Minter {
	t.Helper()
	secrets, err := turncred.ParseSecrets("k1:" + turnSecret)
	if err != nil {
		t.Fatal(err)
	}
	m, err := turncred.NewMinter(secrets, []byte("pseudonym-key-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run runs the Gateway until the test ends, then requires a clean stop.
func (f *fixture) run() { testenv.RunUntilCleanup(f.t, "Run()", f.gw.Run) }

// heartbeat writes r through the Gateway.
func (f *fixture) heartbeat(r relay.Relay) {
	f.t.Helper()
	if _, err := f.gw.Heartbeat(f.t.Context(), r, storetest.TTL); err != nil {
		f.t.Fatalf("Heartbeat(%s) error = %v", r.ID, err)
	}
}

// pick picks for c, as the user alice, and returns the primary's and the
// backup's IDs ("" for none), failing the test on error.
func (f *fixture) pick(c relay.Client, measured ...relay.Measurement) (primary, backup string) {
	f.t.Helper()
	return f.pickFor(c, "alice", measured...)
}

// pickFor is pick for the user subject.
func (f *fixture) pickFor(c relay.Client, subject string, measured ...relay.Measurement) (primary, backup string) {
	f.t.Helper()
	p, err := f.gw.Pick(c, subject, nil, measured)
	if err != nil {
		f.t.Fatalf("Pick() error = %v", err)
	}
	if p.Backup != nil {
		backup = p.Backup.Relay.ID
	}
	return p.Primary.Relay.ID, backup
}

// metric returns the value of the counter or gauge name in the fixture's
// metrics.
func (f *fixture) metric(name string) float64 {
	f.t.Helper()
	mfs, err := f.metrics.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue() // the other kind reads 0
		}
	}
	f.t.Fatalf("metric %s not registered", name)
	return 0
}
