package selector

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
)

func inCountry(c relay.Country) func(relay.Relay) relay.Relay {
	return func(r relay.Relay) relay.Relay { r.Country = c; return r }
}

// TestRankWithin: the policy moves every kind of choice to a permitted
// relay, and says so when none is left.
func TestRankWithin(t *testing.T) {
	de, nl, us := relay.MustParseCountry("DE"), relay.MustParseCountry("NL"), relay.MustParseCountry("US")
	world := rs(inCountry(de)(fra1()), inCountry(de)(fra2()), inCountry(nl)(ams2()), inCountry(us)(nyc1()))
	s := NewSnapshot(world)
	tests := []struct {
		name            string
		req             Request
		primary, backup string
		err             error
	}{
		{name: "deny moves the primary", req: Request{Client: berlin, Within: relay.Deny(de)}, primary: "ams-2", backup: "nyc-1"},
		{name: "allow keeps to its countries", req: Request{Client: berlin, Within: relay.Allow(de)}, primary: "fra-1", backup: "fra-2"},
		{name: "previous outside the policy is not kept", req: Request{Client: berlin, Previous: "nyc-1", Within: relay.Deny(us)}, primary: "fra-1", backup: "ams-2"},
		{name: "unlocated client's fallback stays inside", req: Request{Client: relay.Client{Prefix: berlin.Prefix}, Within: relay.Allow(us)}, primary: "nyc-1"},
		{name: "exploration stays inside", req: Request{Client: berlin, Explore: 12345, Within: relay.Deny(nl, us)}, primary: "fra-1", backup: "fra-2"},
		{name: "measured relay outside is ignored", req: Request{Client: berlin, Measurements: []relay.Measurement{{RelayID: "nyc-1", RTT: time.Millisecond}}, Within: relay.Allow(nl)}, primary: "ams-2"},
		{name: "none permitted", req: Request{Client: berlin, Within: relay.Allow(relay.MustParseCountry("JP"))}, err: relay.ErrOutsideJurisdiction},
		{name: "none at all is not a policy matter", req: Request{Client: berlin, Transports: []relay.Transport{relay.TLS}, Within: relay.Allow(relay.MustParseCountry("JP"))}, err: relay.ErrNoCandidate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rank(s, tt.req, t0)
			if tt.err != nil {
				// ErrOutsideJurisdiction wraps ErrNoCandidate: the plain
				// case must not be the policy's.
				outside := errors.Is(err, relay.ErrOutsideJurisdiction)
				if !errors.Is(err, tt.err) || outside != errors.Is(tt.err, relay.ErrOutsideJurisdiction) {
					t.Fatalf("Rank() error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got.Primary.Relay.ID != tt.primary || backupID(got) != tt.backup {
				t.Fatalf("Rank() = %s/%s, %v; want %s/%s", got.Primary.Relay.ID, backupID(got), err, tt.primary, tt.backup)
			}
		})
	}
	// A deny list refuses a relay of unknown country: it could be anywhere.
	if got, err := Rank(NewSnapshot(rs(fra1())), Request{Client: berlin, Within: relay.Deny(us)}, t0); !errors.Is(err, relay.ErrOutsideJurisdiction) {
		t.Errorf("unknown country under a deny list: Rank() = %s, %v; want ErrOutsideJurisdiction", got.Primary.Relay.ID, err)
	}
}

// TestRankNeverOutsideJurisdiction is the property: over random worlds,
// clients, measurements (right and wildly wrong, so calibration recentres
// and explores), previous primaries, exploration seeds and policies, no
// answer names a relay the policy refuses, and the answer is an error only
// when no eligible relay is permitted, ErrOutsideJurisdiction exactly when
// some eligible relay was refused by the policy alone.
func TestRankNeverOutsideJurisdiction(t *testing.T) {
	pool := []relay.Country{0, relay.MustParseCountry("DE"), relay.MustParseCountry("FR"), relay.MustParseCountry("US"), relay.MustParseCountry("JP"), relay.MustParseCountry("BR"), relay.MustParseCountry("ZA")}
	worlds := 3000
	if testing.Short() {
		worlds = 300
	}
	for seed := range uint64(worlds) {
		rng := rand.New(rand.NewPCG(seed, 77))
		relays := randomRelays(seed, 1+rng.IntN(60))
		for i := range relays {
			relays[i].Country = pool[rng.IntN(len(pool))]
			if rng.IntN(10) == 0 {
				relays[i].Probe = relay.Probe{Health: relay.HealthDown}
			}
		}
		pick := func() []relay.Country {
			var cs []relay.Country
			for range rng.IntN(3) {
				if c := pool[rng.IntN(len(pool))]; c != 0 {
					cs = append(cs, c)
				}
			}
			return cs
		}
		within := relay.NewJurisdiction(pick(), pick()).Narrow(relay.NewJurisdiction(pick(), pick()))
		req := Request{
			Client: relay.Client{Prefix: relay.ClientPrefix(netip.AddrFrom4([4]byte{198, 51, byte(rng.IntN(256)), 1})),
				Location: relay.Location{Latitude: rng.Float64()*180 - 90, Longitude: rng.Float64()*360 - 180}, Located: rng.IntN(4) != 0},
			Within: within,
		}
		for range rng.IntN(5) {
			m := relay.Measurement{RelayID: relays[rng.IntN(len(relays))].ID, RTT: time.Duration(rng.IntN(300)) * time.Millisecond}
			if rng.IntN(2) == 0 {
				req.Measurements = append(req.Measurements, m)
			} else {
				req.PrefixMeasurements = append(req.PrefixMeasurements, m)
			}
		}
		if rng.IntN(2) == 0 {
			req.Previous = relays[rng.IntN(len(relays))].ID
		}
		if rng.IntN(3) == 0 {
			req.Explore = rng.Uint64() | 1
		}
		if rng.IntN(4) == 0 {
			req.Transports = []relay.Transport{relay.Transports()[rng.IntN(relay.NumTransports)]}
		}
		s := NewSnapshot(relays)
		for _, exhaustive := range []bool{false, true} {
			got, err := rank(s, req, t0, exhaustive)
			name := fmt.Sprintf("world %d (exhaustive %v)", seed, exhaustive)
			var eligible, permitted int
			for i := range relays {
				if eligibleRelay(&relays[i], req.Transports, t0) && !relays[i].Down() {
					eligible++
					if within.Permits(relays[i].Country) {
						permitted++
					}
				}
			}
			switch {
			case permitted == 0 && eligible > 0:
				if !errors.Is(err, relay.ErrOutsideJurisdiction) {
					t.Fatalf("%s: %d eligible, none permitted: Rank() error = %v, want ErrOutsideJurisdiction", name, eligible, err)
				}
				continue
			case permitted == 0:
				if !errors.Is(err, relay.ErrNoCandidate) || errors.Is(err, relay.ErrOutsideJurisdiction) {
					t.Fatalf("%s: nothing eligible: Rank() error = %v, want ErrNoCandidate only", name, err)
				}
				continue
			case err != nil:
				t.Fatalf("%s: %d permitted, Rank() error = %v", name, permitted, err)
			}
			for _, c := range append([]relay.Choice{got.Primary}, backupChoice(got)...) {
				r, _ := s.Relay(c.Relay.ID)
				if !within.Permits(r.Country) || !eligibleRelay(&r, req.Transports, t0) {
					t.Fatalf("%s: Rank() chose %s in %q, outside the policy %v or ineligible", name, r.ID, r.Country, within.Countries())
				}
			}
			if permitted > 1 && got.Backup == nil {
				t.Fatalf("%s: %d permitted relays, no backup", name, permitted)
			}
		}
	}
}

func backupChoice(p relay.Pair) []relay.Choice {
	if p.Backup == nil {
		return nil
	}
	return []relay.Choice{*p.Backup}
}
