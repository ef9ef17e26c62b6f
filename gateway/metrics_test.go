package gateway_test

import (
	"testing"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
)

// labelled returns the value of name's series whose label is value, and
// whether it is exported.
func (f *fixture) labelled(name, label, value string) (float64, bool) {
	f.t.Helper()
	mfs, err := f.metrics.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

func TestMetricsExportedFromTheStart(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ name, label string }{
		{"relaygate_relays", "state"},
		{"relaygate_selections_total", "result"},
		{"relaygate_store_errors_total", "op"},
	} {
		var values []string
		switch tt.label {
		case "state":
			values = []string{"available", "degraded", "full", "draining", "drained", "down"}
		case "result":
			values = []string{"with_backup", "no_backup", "no_relay", "outside_jurisdiction"}
		case "op":
			values = []string{"heartbeat", "relay", "relays", "relays_since", "set_drained", "record_probes", "add_measurements", "measurements", "ping",
				"add_usage", "usage_of", "relay_usage"}
		}
		for _, v := range values {
			if got, ok := f.labelled(tt.name, tt.label, v); !ok || got != 0 {
				t.Errorf("%s{%s=%q} = %v, exported %v; want 0, exported", tt.name, tt.label, v, got, ok)
			}
		}
	}
}

func TestSelectionsByResult(t *testing.T) {
	f := newFixture(t)
	if _, err := f.gw.Pick(berlin, "alice", nil, nil); err == nil {
		t.Fatal("Pick() with no relay: error = nil")
	}
	f.heartbeat(fra1())
	f.pick(berlin)
	f.heartbeat(ams2())
	f.pick(berlin)
	f.pick(berlin)
	for result, want := range map[string]float64{"no_relay": 1, "no_backup": 1, "with_backup": 2} {
		if got, _ := f.labelled("relaygate_selections_total", "result", result); got != want {
			t.Errorf("relaygate_selections_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

func TestRelaysByState(t *testing.T) {
	draining := nyc1()
	draining.Draining = true
	full := relayAt("par-1", "par", 48.86, 2.35)
	full.Capacity.Allocations, full.Load.Allocations = 10, 10
	f := newFixture(t, fra1(), ams2(), draining, full)
	if err := f.gw.SetDrained(t.Context(), "ams-2", true); err != nil {
		t.Fatal(err)
	}
	want := map[relay.State]float64{relay.StateAvailable: 1, relay.StateDrained: 1, relay.StateDraining: 1, relay.StateFull: 1, relay.StateDown: 0}
	for s, n := range want {
		if got, _ := f.labelled("relaygate_relays", "state", string(s)); got != n {
			t.Errorf("relaygate_relays{state=%q} = %v, want %v", s, got, n)
		}
	}
	// Past their TTL (and the refresh that drops them) relays are not counted.
	f.clk.Advance(time.Hour)
	if got, _ := f.labelled("relaygate_relays", "state", string(relay.StateAvailable)); got != 0 {
		t.Errorf("relaygate_relays{state=available} after expiry = %v, want 0", got)
	}
}

func TestStoreErrorsCountFailuresOnly(t *testing.T) {
	inOutage(t, gateway.Config{}, func(t *testing.T, f *fixture, sw *switchStore) {
		if _, err := f.gw.Relay(t.Context(), "no-such-relay"); !store.IsNotFound(err) {
			t.Fatalf("Relay(unknown) error = %v, want not found", err)
		}
		if got, _ := f.labelled("relaygate_store_errors_total", "op", "relay"); got != 0 {
			t.Errorf("store errors after a not-found answer = %v, want 0", got)
		}
		sw.set(f.store, true)
		if err := f.gw.Refresh(t.Context()); err == nil {
			t.Fatal("Refresh() with the store down: error = nil")
		}
		if got, _ := f.labelled("relaygate_store_errors_total", "op", "relays_since"); got < 1 {
			t.Errorf("relaygate_store_errors_total{op=relays_since} with the store down = %v, want >= 1", got)
		}
		if got := f.metric("relaygate_store_up"); got != 0 {
			t.Errorf("relaygate_store_up with the store down = %v, want 0", got)
		}
		sw.set(f.store, false)
	})
}
