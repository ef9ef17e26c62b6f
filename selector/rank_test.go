package selector

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// relayAt is a fresh, idle relay offering UDP and TCP.
func relayAt(id, site string, lat, lon float64) relay.Relay {
	return relay.Relay{
		ID: id, Region: "r-" + site, Site: site,
		Location:  relay.Location{Latitude: lat, Longitude: lon},
		Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.5")},
		Ports:     relay.Ports{relay.UDP: 3478, relay.TCP: 3478},
		Capacity:  relay.Capacity{Allocations: 1000, BandwidthBPS: 1e9},
		LastSeen:  t0.Add(-time.Second),
		ExpiresAt: t0.Add(14 * time.Second),
	}
}

func fra1() relay.Relay { return relayAt("fra-1", "fra", 50.11, 8.68) }
func fra2() relay.Relay { return relayAt("fra-2", "fra", 50.11, 8.68) }
func ams2() relay.Relay { return relayAt("ams-2", "ams", 52.37, 4.90) }
func nyc1() relay.Relay { return relayAt("nyc-1", "nyc", 40.71, -74.01) }

func stale(r relay.Relay) relay.Relay    { r.ExpiresAt = t0.Add(-time.Second); return r }
func draining(r relay.Relay) relay.Relay { r.Draining = true; return r }
func drained(r relay.Relay) relay.Relay  { r.Drained = true; return r }
func full(r relay.Relay) relay.Relay     { r.Load.Allocations = r.Capacity.Allocations; return r }
func withTLS(r relay.Relay) relay.Relay {
	r.Ports[relay.TLS] = 5349
	r.Hostname = r.ID + ".relay.example"
	return r
}

func loaded(frac float64) func(relay.Relay) relay.Relay {
	return func(r relay.Relay) relay.Relay {
		r.Load.BandwidthBPS = int64(frac * float64(r.Capacity.BandwidthBPS))
		return r
	}
}

func rs(relays ...relay.Relay) []relay.Relay { return relays }

// static is r listed in the static relays file: no expiry, no load
// reported, probed with health h.
func static(h relay.Health) func(relay.Relay) relay.Relay {
	return func(r relay.Relay) relay.Relay {
		r.Static, r.ExpiresAt, r.Load = true, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), relay.Load{}
		r.Probe = relay.Probe{Health: h}
		return r
	}
}

var (
	berlin       = relay.Client{Prefix: relay.ClientPrefix(netip.MustParseAddr("198.51.100.7")), Location: relay.Location{Latitude: 52.52, Longitude: 13.40}, Located: true}
	unlocated    = relay.Client{Prefix: relay.ClientPrefix(netip.MustParseAddr("198.51.100.7"))}
	berlinClient = Request{Client: berlin}
)

func withMeasurements(ms ...relay.Measurement) Request {
	return Request{Client: berlin, Measurements: ms}
}

func TestRank(t *testing.T) {
	tests := []struct {
		name            string
		relays          []relay.Relay
		req             *Request    // nil: berlinClient
		primary, backup string      // backup "" means none
		basis           relay.Basis // of the primary; "" skips the check
		wantErr         error
	}{
		{name: "nearest wins", relays: rs(fra1(), ams2(), nyc1()), primary: "fra-1", backup: "ams-2", basis: relay.BasisGeo},
		{name: "backup comes from another site", relays: rs(fra1(), loaded(0.1)(fra2()), ams2()), primary: "fra-1", backup: "ams-2"},
		{name: "backup from another site even when farther", relays: rs(fra1(), loaded(0.1)(fra2()), nyc1()), primary: "fra-1", backup: "nyc-1"},
		{name: "same-site backup when no other site", relays: rs(fra1(), loaded(0.1)(fra2())), primary: "fra-1", backup: "fra-2"},
		{name: "single relay has no backup", relays: rs(ams2()), primary: "ams-2"},
		{name: "stale heartbeat is dropped", relays: rs(stale(fra1()), ams2()), primary: "ams-2"},
		{name: "draining relay is never chosen", relays: rs(draining(fra1()), ams2(), nyc1()), primary: "ams-2", backup: "nyc-1"},
		{name: "drained relay is never chosen", relays: rs(drained(fra1()), ams2(), nyc1()), primary: "ams-2", backup: "nyc-1"},
		{name: "full relay is skipped", relays: rs(full(fra1()), ams2(), nyc1()), primary: "ams-2", backup: "nyc-1"},
		{name: "static relay is chosen once probed up", relays: rs(static(relay.HealthUp)(fra1()), nyc1()), primary: "fra-1", backup: "nyc-1"},
		{name: "static relay never probed is not chosen", relays: rs(static(relay.HealthUnknown)(fra1()), nyc1()), primary: "nyc-1"},
		{name: "static relay probed down is not chosen", relays: rs(static(relay.HealthDown)(fra1()), nyc1()), primary: "nyc-1"},
		{name: "static relay counts as half full: beats a busier colocated relay", relays: rs(loaded(0.9)(fra2()), static(relay.HealthUp)(fra1())), primary: "fra-1", backup: "fra-2"},
		{name: "static relay counts as half full: loses to a quieter colocated relay", relays: rs(loaded(0.1)(fra2()), static(relay.HealthUp)(fra1())), primary: "fra-2", backup: "fra-1"},
		{name: "static relay counts as half full: distance still decides across a continent", relays: rs(static(relay.HealthUp)(fra1()), loaded(0.1)(nyc1())), primary: "fra-1", backup: "nyc-1"},
		{name: "full on bandwidth is skipped", relays: rs(loaded(1)(fra1()), ams2()), primary: "ams-2"},
		{
			name:   "transport filter",
			relays: rs(fra1(), withTLS(ams2()), withTLS(nyc1())),
			req:    &Request{Client: berlin, Transports: []relay.Transport{relay.UDP, relay.TLS}}, primary: "ams-2", backup: "nyc-1",
		},
		{
			name:   "unknown transport matches nothing",
			relays: rs(fra1(), ams2()),
			req:    &Request{Client: berlin, Transports: []relay.Transport{relay.Transport(relay.NumTransports)}}, wantErr: relay.ErrNoCandidate,
		},
		{
			name: "measured beats geo", relays: rs(fra1(), ams2(), nyc1()),
			req:     ptr(withMeasurements(relay.Measurement{RelayID: "nyc-1", RTT: 3 * time.Millisecond})),
			primary: "nyc-1", backup: "fra-1", basis: relay.BasisMeasured,
		},
		{
			name: "bad measurement makes a relay lose", relays: rs(fra1(), ams2(), nyc1()),
			req:     ptr(withMeasurements(relay.Measurement{RelayID: "fra-1", RTT: 90 * time.Millisecond})),
			primary: "ams-2", backup: "fra-1", basis: relay.BasisGeo, // nyc-1 is about 100 ms
		},
		{
			name: "lossy measurement makes a relay lose", relays: rs(fra1(), ams2(), nyc1()),
			req:     ptr(withMeasurements(relay.Measurement{RelayID: "fra-1", RTT: 5 * time.Millisecond, Loss: 0.5})),
			primary: "ams-2", backup: "nyc-1", basis: relay.BasisGeo,
		},
		{
			name: "loss above 2 % is penalised", relays: rs(fra1(), ams2()),
			req:     ptr(withMeasurements(relay.Measurement{RelayID: "ams-2", RTT: 8 * time.Millisecond, Loss: 0.05})),
			primary: "fra-1", backup: "ams-2", basis: relay.BasisGeo,
		},
		{
			name: "loss up to 2 % is free", relays: rs(fra1(), ams2()),
			req:     ptr(withMeasurements(relay.Measurement{RelayID: "ams-2", RTT: 8 * time.Millisecond, Loss: 0.02})),
			primary: "ams-2", backup: "fra-1", basis: relay.BasisMeasured,
		},
		{
			name: "measurement of an ineligible relay is ignored", relays: rs(drained(fra1()), ams2(), nyc1()),
			req:     ptr(withMeasurements(relay.Measurement{RelayID: "fra-1", RTT: time.Millisecond})),
			primary: "ams-2", backup: "nyc-1",
		},
		{
			name: "measurement of an unknown relay is ignored", relays: rs(fra1(), ams2()),
			req:     ptr(withMeasurements(relay.Measurement{RelayID: "zzz-9", RTT: time.Millisecond})),
			primary: "fra-1", backup: "ams-2",
		},
		{name: "load makes a nearer relay lose", relays: rs(loaded(0.9)(fra1()), ams2()), primary: "ams-2", backup: "fra-1"},
		{name: "load does not beat an ocean", relays: rs(loaded(0.9)(fra1()), nyc1()), primary: "fra-1", backup: "nyc-1"},
		{
			name: "unlocated client falls back to least loaded", relays: rs(loaded(0.5)(fra1()), loaded(0.2)(ams2()), loaded(0.1)(nyc1())),
			req: &Request{Client: unlocated}, primary: "nyc-1", backup: "ams-2", basis: relay.BasisFallback,
		},
		{
			name: "unlocated client prefers measured relays", relays: rs(fra1(), ams2(), nyc1()),
			req:     &Request{Client: unlocated, Measurements: []relay.Measurement{{RelayID: "nyc-1", RTT: 120 * time.Millisecond}}},
			primary: "nyc-1", backup: "fra-1", basis: relay.BasisMeasured, // fra-1 and ams-2 tie on load: rendezvous
		},
		{
			name: "relay without location ranks behind located ones", relays: rs(relayAt("xxx-1", "xxx", math.NaN(), 0), nyc1()),
			primary: "nyc-1", backup: "xxx-1",
		},
		{name: "no relay at all", relays: nil, wantErr: relay.ErrNoCandidate},
		{name: "no eligible relay", relays: rs(drained(fra1()), stale(ams2()), full(nyc1())), wantErr: relay.ErrNoCandidate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := berlinClient
			if tt.req != nil {
				req = *tt.req
			}
			for _, exhaustive := range []bool{false, true} {
				got, err := rank(NewSnapshot(tt.relays), req, t0, exhaustive)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Rank() error = %v, want %v", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("Rank() error = %v", err)
				}
				if p, b := got.Primary.Relay.ID, backupID(got); p != tt.primary || b != tt.backup {
					t.Errorf("Rank() = %s/%s, want %s/%s", p, b, tt.primary, tt.backup)
				}
				if tt.basis != "" && got.Primary.Basis != tt.basis {
					t.Errorf("Rank().Primary.Basis = %s, want %s", got.Primary.Basis, tt.basis)
				}
				if got.Primary.HasEstimate != (got.Primary.Basis != relay.BasisFallback) {
					t.Errorf("Rank().Primary = basis %s, HasEstimate %v", got.Primary.Basis, got.Primary.HasEstimate)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func backupID(p relay.Pair) string {
	if p.Backup == nil {
		return ""
	}
	return p.Backup.Relay.ID
}

func TestRankEstimates(t *testing.T) {
	got, err := Rank(NewSnapshot(rs(fra1(), ams2())), withMeasurements(relay.Measurement{RelayID: "ams-2", RTT: 19 * time.Millisecond}), t0)
	if err != nil {
		t.Fatalf("Rank() error = %v", err)
	}
	// Berlin–Frankfurt is about 424 km: 5 ms + 2 × 1.5 × 424 km / 200 km/ms ≈ 11.4 ms.
	if rtt := got.Primary.EstimatedRTT; got.Primary.Relay.ID != "fra-1" || rtt < 11*time.Millisecond || rtt > 12*time.Millisecond {
		t.Errorf("Rank().Primary = %s %v, want fra-1 ≈ 11.4ms", got.Primary.Relay.ID, rtt)
	}
	if b := got.Backup; b == nil || b.EstimatedRTT != 19*time.Millisecond || b.Basis != relay.BasisMeasured || !b.HasEstimate {
		t.Errorf("Rank().Backup = %+v, want ams-2 measured 19ms", b)
	}
}

func TestRankReturnsCopies(t *testing.T) {
	s := NewSnapshot(rs(fra1(), ams2()))
	got, err := Rank(s, berlinClient, t0)
	if err != nil {
		t.Fatalf("Rank() error = %v", err)
	}
	got.Primary.Relay.Addresses[0] = netip.MustParseAddr("192.0.2.1")
	again, _ := Rank(s, berlinClient, t0)
	if a := again.Primary.Relay.Addresses[0]; a != netip.MustParseAddr("203.0.113.5") {
		t.Errorf("snapshot changed through a Choice: address %v", a)
	}
}

func TestRankNilSnapshot(t *testing.T) {
	if _, err := Rank(nil, berlinClient, t0); !errors.Is(err, relay.ErrNoCandidate) {
		t.Errorf("Rank(nil) error = %v, want ErrNoCandidate", err)
	}
}

// colocated is n identical relays at one site.
func colocated(n int) []relay.Relay {
	var out []relay.Relay
	for i := range n {
		out = append(out, relayAt(fmt.Sprintf("fra-%d", i+1), "fra", 50.11, 8.68))
	}
	return out
}

func TestRankSpreadsEqualRelays(t *testing.T) {
	const prefixes = 20000
	tests := []struct {
		name   string
		client func(i int) relay.Client
	}{
		{name: "located IPv4", client: func(i int) relay.Client {
			return relay.Client{Prefix: relay.ClientPrefix(netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 9})), Location: berlin.Location, Located: true}
		}},
		{name: "unlocated IPv6", client: func(i int) relay.Client {
			return relay.Client{Prefix: relay.ClientPrefix(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 15: 1}))}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSnapshot(colocated(4))
			primaries := map[string]int{}
			backups := map[string]int{}
			for i := range prefixes {
				got, err := Rank(s, Request{Client: tt.client(i)}, t0)
				if err != nil {
					t.Fatalf("Rank() error = %v", err)
				}
				primaries[got.Primary.Relay.ID]++
				backups[backupID(got)]++
			}
			// Each count is binomial(20000, 1/4): σ ≈ 61, so ±6 % (300) is ~5σ.
			for _, counts := range []map[string]int{primaries, backups} {
				if len(counts) != 4 {
					t.Fatalf("chosen relays = %v, want all 4", counts)
				}
				for id, n := range counts {
					if n < prefixes/4-300 || n > prefixes/4+300 {
						t.Errorf("%s chosen %d times of %d, want about %d (all: %v)", id, n, prefixes, prefixes/4, counts)
					}
				}
			}
		})
	}
}

func TestRankIsStablePerPrefix(t *testing.T) {
	relays := colocated(4)
	s := NewSnapshot(relays)
	// The same relays given in another order make the same snapshot.
	reversed := NewSnapshot([]relay.Relay{relays[3], relays[2], relays[1], relays[0]})
	for i := range 256 {
		first, err := Rank(s, Request{Client: relay.Client{Prefix: relay.ClientPrefix(netip.AddrFrom4([4]byte{198, 51, byte(i), 1})), Location: berlin.Location, Located: true}}, t0)
		if err != nil {
			t.Fatalf("Rank() error = %v", err)
		}
		for host := range 4 { // other hosts in the same /24, and a minute later
			c := relay.Client{Prefix: relay.ClientPrefix(netip.AddrFrom4([4]byte{198, 51, byte(i), byte(host * 60)})), Location: berlin.Location, Located: true}
			for _, snap := range []*Snapshot{s, reversed} {
				got, _ := Rank(snap, Request{Client: c}, t0.Add(time.Duration(host)*time.Second))
				if got.Primary.Relay.ID != first.Primary.Relay.ID || backupID(got) != backupID(first) {
					t.Fatalf("prefix %d: Rank() = %s/%s, first answer %s/%s",
						i, got.Primary.Relay.ID, backupID(got), first.Primary.Relay.ID, backupID(first))
				}
			}
		}
	}
}

// TestRendezvousIsPinned guards the weights every gateway replica (and every
// release during a rolling update) must agree on.
func TestRendezvousIsPinned(t *testing.T) {
	got := rendezvous(prefixHash(relay.ClientPrefix(netip.MustParseAddr("198.51.100.7"))), idHash("fra-1"))
	const want = 0xde1fc19e9c0bfb26
	if got != want {
		t.Errorf("rendezvous(198.51.100.0/24, fra-1) = %#x, want %#x", got, uint64(want))
	}
}
