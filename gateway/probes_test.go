package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// TestProbeTargets: the prober gets each relay's UDP address from the
// snapshot, IPv4 when the relay has one; relays without UDP are left out.
func TestProbeTargets(t *testing.T) {
	v6First := relayAt("a-1", "a", 50, 8)
	v6First.Addresses = []netip.Addr{netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("203.0.113.7")}
	v6Only := relayAt("b-1", "b", 50, 8)
	v6Only.Addresses, v6Only.Ports = []netip.Addr{netip.MustParseAddr("2001:db8::8")}, relay.Ports{relay.UDP: 3479}
	tcpOnly := relayAt("c-1", "c", 50, 8)
	tcpOnly.Ports = relay.Ports{relay.TCP: 443}
	f := newFixture(t, v6First, v6Only, tcpOnly)
	want := []probe.Target{
		{RelayID: "a-1", Addr: netip.MustParseAddrPort("203.0.113.7:3478")},
		{RelayID: "b-1", Addr: netip.MustParseAddrPort("[2001:db8::8]:3479")},
	}
	if got := f.gw.ProbeTargetsForTest(); !slices.Equal(got, want) {
		t.Errorf("probe targets = %v, want %v", got, want)
	}
}

// TestProbeResultsReachSelection: a relay the prober reports down is stored
// as this replica's probe view and leaves selection at once, without
// waiting for the refresh interval.
func TestProbeResultsReachSelection(t *testing.T) {
	inBubble(t, gateway.Config{RefreshInterval: time.Hour}, func(t *testing.T, f *fixture) {
		f.run()
		f.heartbeat(fra1())
		synctest.Wait() // Run's first refresh is done; the next is an hour away
		down := probe.Result{RelayID: "fra-1", Health: probe.HealthDown, RTT: 30 * time.Millisecond,
			MinRTT: 20 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.5, ProbedAt: time.Now().UTC().Round(0)} // as the store keeps times
		f.gw.ProbeReporterForTest(t.Context(), slog.New(slog.DiscardHandler))([]probe.Result{down})
		want := relay.Probe{Health: relay.HealthDown, RTT: down.RTT, MinRTT: down.MinRTT, Jitter: down.Jitter, Loss: down.Loss, ProbedAt: down.ProbedAt}
		if r, err := f.store.Relay(t.Context(), "fra-1"); err != nil || r.Probe != want {
			t.Fatalf("stored probe view = %+v, %v; want %+v", r.Probe, err, want)
		}
		synctest.Wait()
		if _, err := f.gw.Pick(berlin, "alice", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
			t.Errorf("Pick() with fra-1 probed down: error = %v, want ErrNoCandidate", err)
		}
	})
}

// failingProbes is a store whose probe writes fail.
type failingProbes struct{ store.Registry }

func (failingProbes) RecordProbes(context.Context, map[string]relay.Probe) error {
	return errors.New("store down")
}

// TestProbeStoreFailureLoggedOnce: a store that keeps failing is one
// warning, not one per batch, and a failure during shutdown none.
func TestProbeStoreFailureLoggedOnce(t *testing.T) {
	mem := storetest.NewMemory(t, store.MemoryConfig{})
	gw, err := gateway.New(gateway.Config{ProbeOff: true}, gateway.Deps{Store: failingProbes{mem}, Minter: testMinter(t)})
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	batch := []probe.Result{{RelayID: "fra-1", Health: probe.HealthUp, ProbedAt: storetest.T0}}
	report := gw.ProbeReporterForTest(t.Context(), log)
	for range 3 {
		report(batch)
	}
	if n := strings.Count(logs.String(), "storing probe results fails"); n != 1 {
		t.Errorf("%d warnings over three failing batches, want 1:\n%s", n, logs.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var quiet testenv.Buffer
	gw.ProbeReporterForTest(ctx, slog.New(slog.NewJSONHandler(&quiet, nil)))(batch)
	if quiet.String() != "" {
		t.Errorf("a failure after shutdown began was logged: %s", quiet.String())
	}
}
