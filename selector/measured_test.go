package selector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
)

func probed(h relay.Health, rtt time.Duration, loss float64) func(relay.Relay) relay.Relay {
	return func(r relay.Relay) relay.Relay {
		r.Probe = relay.Probe{Health: h, RTT: rtt, MinRTT: rtt, Loss: loss, ProbedAt: t0}
		return r
	}
}

func congested(rtt, minRTT time.Duration) func(relay.Relay) relay.Relay {
	return func(r relay.Relay) relay.Relay {
		r.Probe = relay.Probe{Health: relay.HealthUp, RTT: rtt, MinRTT: minRTT, ProbedAt: t0}
		return r
	}
}

// Two relays 1 ms apart for a Berlin client: fra (~13 ms) and a relay at
// almost the same place.
func fraTwin() relay.Relay { return relayAt("fra-9", "fra9", 50.12, 8.69) }

func TestRankProbesAndPrefixes(t *testing.T) {
	tests := []struct {
		name            string
		relays          []relay.Relay
		req             Request
		primary, backup string
		basis           relay.Basis
	}{
		{name: "down by probe is never chosen", relays: rs(probed(relay.HealthDown, 0, 1)(fra1()), ams2(), nyc1()), req: berlinClient, primary: "ams-2", backup: "nyc-1"},
		{name: "lossy by probe loses to a healthy neighbour", relays: rs(probed(relay.HealthDegraded, 20*time.Millisecond, 0.06)(fra1()), ams2()), req: berlinClient, primary: "ams-2", backup: "fra-1"},
		{name: "lossy by probe still beats an ocean", relays: rs(probed(relay.HealthDegraded, 20*time.Millisecond, 0.06)(fra1()), nyc1()), req: berlinClient, primary: "fra-1", backup: "nyc-1"},
		{name: "far from the gateway is no fault", relays: rs(probed(relay.HealthDegraded, 220*time.Millisecond, 0)(fra1()), ams2()), req: berlinClient, primary: "fra-1", backup: "ams-2"},
		{name: "congested relay loses to a calm neighbour", relays: rs(congested(80*time.Millisecond, 10*time.Millisecond)(fra1()), ams2()), req: berlinClient, primary: "ams-2", backup: "fra-1"},
		{name: "up relays rank by distance", relays: rs(probed(relay.HealthUp, 10*time.Millisecond, 0)(fra1()), probed(relay.HealthUp, 10*time.Millisecond, 0)(ams2())), req: berlinClient, primary: "fra-1", backup: "ams-2"},
		{name: "prefix measurements beat geo", relays: rs(fra1(), ams2(), nyc1()),
			req:     Request{Client: berlin, PrefixMeasurements: []relay.Measurement{{RelayID: "ams-2", RTT: 4 * time.Millisecond}, {RelayID: "fra-1", RTT: 40 * time.Millisecond}}},
			primary: "ams-2", backup: "fra-1", basis: relay.BasisMeasured},
		{name: "inline measurement overrides the prefix's", relays: rs(fra1(), ams2()),
			req: Request{Client: berlin, Measurements: []relay.Measurement{{RelayID: "ams-2", RTT: 50 * time.Millisecond}},
				PrefixMeasurements: []relay.Measurement{{RelayID: "ams-2", RTT: 4 * time.Millisecond}}},
			primary: "fra-1", backup: "ams-2", basis: relay.BasisGeo},
		{name: "previous primary kept when only slightly worse", relays: rs(fra1(), ams2()),
			req: Request{Client: berlin, Previous: "ams-2"}, primary: "ams-2", backup: "fra-1"},
		{name: "previous primary left when clearly worse", relays: rs(fra1(), nyc1()),
			req: Request{Client: berlin, Previous: "nyc-1"}, primary: "fra-1", backup: "nyc-1"},
		{name: "previous primary that is gone is ignored", relays: rs(fra1(), ams2()),
			req: Request{Client: berlin, Previous: "lon-1"}, primary: "fra-1", backup: "ams-2"},
		{name: "previous primary that is drained is left", relays: rs(fra1(), drained(ams2()), nyc1()),
			req: Request{Client: berlin, Previous: "ams-2"}, primary: "fra-1", backup: "nyc-1"},
		{name: "kept previous gets a backup off its own site", relays: rs(fra1(), loaded(0.1)(fra2()), ams2()),
			req: Request{Client: berlin, Previous: "ams-2"}, primary: "ams-2", backup: "fra-1"},
		{name: "kept previous at the best's site keeps the other-site backup", relays: rs(fra1(), loaded(0.2)(fra2()), ams2()),
			req: Request{Client: berlin, Previous: "fra-2"}, primary: "fra-2", backup: "ams-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rank(NewSnapshot(tt.relays), tt.req, t0)
			if err != nil {
				t.Fatalf("Rank() error = %v", err)
			}
			backup := ""
			if got.Backup != nil {
				backup = got.Backup.Relay.ID
			}
			if got.Primary.Relay.ID != tt.primary || backup != tt.backup {
				t.Errorf("Rank() = %s/%s, want %s/%s", got.Primary.Relay.ID, backup, tt.primary, tt.backup)
			}
			if tt.basis != "" && got.Primary.Basis != tt.basis {
				t.Errorf("primary basis = %s, want %s", got.Primary.Basis, tt.basis)
			}
		})
	}
}

// TestHysteresisStopsFlapping: two relays whose measured RTTs wobble around
// each other keep one primary; without Previous the answer would flip.
func TestHysteresisStopsFlapping(t *testing.T) {
	s := NewSnapshot(rs(fra1(), fraTwin()))
	prev, flips, naive := "", 0, 0
	var lastNaive string
	for i := range 50 {
		wobble := time.Duration(i%2) * 2 * time.Millisecond
		ms := []relay.Measurement{{RelayID: "fra-1", RTT: 20*time.Millisecond + wobble}, {RelayID: "fra-9", RTT: 21*time.Millisecond - wobble}}
		got, err := Rank(s, Request{Client: berlin, PrefixMeasurements: ms, Previous: prev}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" && got.Primary.Relay.ID != prev {
			flips++
		}
		prev = got.Primary.Relay.ID
		n, _ := Rank(s, Request{Client: berlin, PrefixMeasurements: ms}, t0)
		if lastNaive != "" && n.Primary.Relay.ID != lastNaive {
			naive++
		}
		lastNaive = n.Primary.Relay.ID
	}
	if flips != 0 {
		t.Errorf("with hysteresis the primary changed %d times, want 0", flips)
	}
	if naive == 0 {
		t.Errorf("the test does not wobble: without hysteresis the primary never changed")
	}
}

// TestExploreCoversOtherRelays: exploring answers keep the primary and
// spread the backup over every other-site relay.
func TestExploreCoversOtherRelays(t *testing.T) {
	relays := rs(fra1(), ams2(), nyc1(), relayAt("waw-1", "waw", 52.23, 21.01), relayAt("mad-1", "mad", 40.42, -3.70))
	s := NewSnapshot(relays)
	plain, _ := Rank(s, berlinClient, t0)
	seen := map[string]int{}
	for seed := uint64(1); seed <= 400; seed++ {
		got, err := Rank(s, Request{Client: berlin, Explore: seed}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got.Primary.Relay.ID != plain.Primary.Relay.ID {
			t.Fatalf("exploring changed the primary to %s", got.Primary.Relay.ID)
		}
		if got.Backup == nil || got.Backup.Relay.Site == got.Primary.Relay.Site {
			t.Fatalf("exploring gave backup %+v", got.Backup)
		}
		if !got.Backup.HasEstimate {
			t.Errorf("explored backup %s has no estimate", got.Backup.Relay.ID)
		}
		seen[got.Backup.Relay.ID]++
	}
	if len(seen) != len(relays)-1 {
		t.Errorf("explored backups %v, want every relay but the primary", seen)
	}
}

var _ = netip.Addr{}
