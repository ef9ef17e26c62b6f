package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// coturn is a static relay near Berlin: a stock coturn the file lists.
func coturn() relay.Relay {
	r := relayAt("coturn-1", "ber", 52.52, 13.40)
	r.Load = relay.Load{Allocations: 7} // a file states none; SetStatic must not keep any
	return r
}

// report hands the gateway one probe round, as its prober would.
func (f *fixture) report(health probe.Health, ids ...string) {
	f.t.Helper()
	now := time.Now // in a synctest bubble
	if f.clk != nil {
		now = f.clk.Now
	}
	rs := make([]probe.Result, len(ids))
	for i, id := range ids {
		rs[i] = probe.Result{RelayID: id, Health: health, RTT: time.Millisecond, ProbedAt: now()}
	}
	f.gw.ProbeReporterForTest(f.t.Context(), slog.New(slog.DiscardHandler))(rs)
}

// TestStaticRelaysJudgedByProbes: a static relay is in the snapshot as soon
// as SetStatic returns, before the store was ever read, but is selected
// only once a probe finds it up, and leaves when one finds it down.
func TestStaticRelaysJudgedByProbes(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.SetStatic([]relay.Relay{coturn()}); err != nil {
		t.Fatalf("SetStatic() error = %v", err)
	}
	if got := f.gw.ProbeTargetsForTest(); len(got) != 1 || got[0].RelayID != "coturn-1" {
		t.Fatalf("probe targets = %v, want coturn-1's", got)
	}
	if _, err := f.gw.Pick(berlin, "alice", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
		t.Fatalf("Pick() before any probe: error = %v, want ErrNoCandidate", err)
	}
	f.report(probe.HealthUp, "coturn-1")
	if primary, _ := f.pick(berlin); primary != "coturn-1" {
		t.Fatalf("primary = %q once probed up, want coturn-1", primary)
	}
	f.report(probe.HealthDown, "coturn-1")
	if _, err := f.gw.Pick(berlin, "alice", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
		t.Fatalf("Pick() once probed down: error = %v, want ErrNoCandidate", err)
	}
	// It never expires by the clock: up again a day later, it is chosen.
	f.clk.Advance(24 * time.Hour)
	f.report(probe.HealthUp, "coturn-1")
	if primary, _ := f.pick(berlin); primary != "coturn-1" {
		t.Errorf("primary = %q a day later, want coturn-1", primary)
	}
}

// TestStaticRelaysListedNotStored: the admin listing shows static relays,
// marked, beside the heartbeating ones; the store never holds them nor
// their probe results; a new set replaces the old one at once.
func TestStaticRelaysListedNotStored(t *testing.T) {
	f := newFixture(t, fra1())
	ctx := t.Context()
	if err := f.gw.SetStatic([]relay.Relay{coturn()}); err != nil {
		t.Fatal(err)
	}
	f.report(probe.HealthUp, "coturn-1", "fra-1")
	rs, err := f.gw.Relays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].ID != "coturn-1" || !rs[0].Static || rs[1].ID != "fra-1" || rs[1].Static {
		t.Fatalf("Relays() = %v, want static coturn-1 then fra-1", rs)
	}
	if st := rs[0]; st.Load != (relay.Load{}) || st.Probe.Health != relay.HealthUp || st.ExpiresAt.Year() != 9999 {
		t.Errorf("static relay = load %+v, probe %v, expires %v; want no load, up, never", st.Load, st.Probe.Health, st.ExpiresAt)
	}
	if r, err := f.gw.Relay(ctx, "coturn-1"); err != nil || !r.Static {
		t.Errorf("Relay(coturn-1) = %+v, %v; want the static relay", r, err)
	}
	if _, err := f.store.Relay(ctx, "coturn-1"); err == nil {
		t.Error("the store has coturn-1, want it never written")
	}
	if err := f.store.Heartbeat(ctx, coturn(), storetest.TTL); err != nil { // a relay heartbeating under the same ID
		t.Fatal(err)
	}
	if err := f.gw.SetStatic(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gw.Relay(ctx, "fra-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.gw.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r, ok := f.gw.SnapshotForTest().Relay("coturn-1"); !ok || r.Static {
		t.Errorf("after SetStatic(nil) the snapshot's coturn-1 = %+v (found %v), want the heartbeating one", r, ok)
	}
}

// TestStaticRelayWinsItsID: a static relay and a heartbeating one with the
// same ID: the file's entry is what this replica selects and lists.
func TestStaticRelayWinsItsID(t *testing.T) {
	hb := coturn()
	hb.Site = "elsewhere"
	f := newFixture(t, hb)
	if err := f.gw.SetStatic([]relay.Relay{coturn()}); err != nil {
		t.Fatal(err)
	}
	rs, err := f.gw.Relays(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !rs[0].Static || rs[0].Site != "ber" {
		t.Errorf("Relays() = %+v, want the static coturn-1 alone", rs)
	}
}

// TestSetStaticRefuses: a set with a refused address, a repeated ID or an
// empty one is refused whole, and the previous set stays.
func TestSetStaticRefuses(t *testing.T) {
	private := coturn()
	private.ID = "coturn-2"
	private.Addresses = []netip.Addr{netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("10.1.2.3")}
	noID := coturn()
	noID.ID = ""
	tests := []struct {
		name  string
		set   []relay.Relay
		check func(error) bool
	}{
		{name: "address outside the allowed networks", set: []relay.Relay{coturn(), private}, check: func(err error) bool {
			var ae *gateway.AddressError
			return errors.As(err, &ae) && ae.RelayID == "coturn-2" && len(ae.Refused) == 1 && ae.Refused[0].Index == 1
		}},
		{name: "repeated id", set: []relay.Relay{coturn(), coturn()}, check: func(err error) bool { return errors.Is(err, gateway.ErrStatic) }},
		{name: "empty id", set: []relay.Relay{noID}, check: func(err error) bool { return errors.Is(err, gateway.ErrStatic) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			before := coturn()
			before.ID = "kept-1"
			if err := f.gw.SetStatic([]relay.Relay{before}); err != nil {
				t.Fatal(err)
			}
			err := f.gw.SetStatic(tt.set)
			if err == nil || !tt.check(err) {
				t.Fatalf("SetStatic() error = %v, want a refusal naming the problem", err)
			}
			rs, err := f.gw.Relays(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].ID != "kept-1" {
				t.Errorf("Relays() after the refusal = %v, want kept-1 alone", rs)
			}
		})
	}
}

// probeStore is a store that keeps the relay IDs whose probe views it was
// given.
type probeStore struct {
	store.Registry
	mu  sync.Mutex
	ids []string
}

func (s *probeStore) RecordProbes(ctx context.Context, probes map[string]relay.Probe) error {
	s.mu.Lock()
	s.ids = append(s.ids, slices.Sorted(maps.Keys(probes))...)
	s.mu.Unlock()
	return s.Registry.RecordProbes(ctx, probes)
}

// TestStaticProbesNotStored: the store is given the probe views of the
// relays it knows, never a static relay's (it has no record to hang them
// on, and every replica probes static relays itself).
func TestStaticProbesNotStored(t *testing.T) {
	ps := &probeStore{}
	f := newFixtureWith(t, gateway.Config{}, gateway.Deps{Store: ps})
	ps.Registry = f.store
	f.heartbeat(fra1())
	if err := f.gw.SetStatic([]relay.Relay{coturn()}); err != nil {
		t.Fatal(err)
	}
	f.report(probe.HealthUp, "coturn-1", "fra-1")
	f.report(probe.HealthUp, "coturn-1")
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if !slices.Equal(ps.ids, []string{"fra-1"}) {
		t.Errorf("the store was given probe views of %v, want fra-1's alone", ps.ids)
	}
}

// TestStaticRelaysOutliveStoreOutage: static relays need no store: past
// the store grace, when the heartbeating relays have expired from
// selection, a static relay that probes up is still chosen.
func TestStaticRelaysOutliveStoreOutage(t *testing.T) {
	inOutage(t, gateway.Config{StoreGrace: time.Minute}, func(t *testing.T, f *fixture, sw *switchStore) {
		sw.set(f.store, true)
		if err := f.gw.SetStatic([]relay.Relay{coturn()}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute) // fake time: past the grace
		synctest.Wait()
		f.report(probe.HealthUp, "coturn-1")
		if primary, backup := f.pick(berlin); primary != "coturn-1" || backup != "" {
			t.Errorf("past the grace: %s/%s, want coturn-1 alone", primary, backup)
		}
	})
}
