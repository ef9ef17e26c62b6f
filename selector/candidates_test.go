package selector

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
)

func candidateIDs(rs []relay.Relay) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

func TestCandidatesNearestSites(t *testing.T) {
	s := NewSnapshot(rs(fra1(), loaded(0.5)(fra2()), ams2(), nyc1(), relayAt("lon-1", "lon", 51.51, -0.13)))
	got := candidateIDs(Candidates(s, berlin, nil, relay.Jurisdiction{}, t0, 4))
	// One relay per site (fra-1, not the loaded fra-2), the two nearest
	// first, then two spread ones (the anchors, farthest-point order from
	// the first region, fra's).
	if want := []string{"fra-1", "ams-2", "nyc-1", "lon-1"}; !slices.Equal(got, want) {
		t.Errorf("Candidates(Berlin, 4) = %q, want %q", got, want)
	}
	if got := Candidates(s, berlin, nil, relay.Jurisdiction{}, t0, 100); len(got) != 4 {
		t.Errorf("Candidates(Berlin, 100) = %q, want the 4 sites", candidateIDs(got))
	}
	us, _ := relay.ParseCountry("US")
	withCountry := NewSnapshot(rs(fra1(), func() relay.Relay { r := nyc1(); r.Country = us; return r }()))
	if got := candidateIDs(Candidates(withCountry, berlin, nil, relay.Allow(us), t0, 8)); !slices.Equal(got, []string{"nyc-1"}) {
		t.Errorf("Candidates within US = %q, want only nyc-1", got)
	}
	if got := Candidates(s, berlin, nil, relay.Jurisdiction{}, t0.Add(time.Hour), 8); len(got) != 0 {
		t.Errorf("Candidates after every relay expired = %q, want none", candidateIDs(got))
	}
}

// TestCandidatesMatchesScan: on a large world the index walk lists exactly
// what scoring every eligible relay and keeping each site's best would,
// then spread sites: eligible, one per site.
func TestCandidatesMatchesScan(t *testing.T) {
	relays := worldRelays(4000)
	s := NewSnapshot(relays)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 300 {
		c := randomClient(rng, i, true)
		var want []relay.Transport
		if i%3 == 0 {
			want = []relay.Transport{relay.TLS}
		}
		n := 1 + i%MaxCandidates
		got := candidateIDs(Candidates(s, c, want, relay.Jurisdiction{}, t0, n))
		// The reference: every eligible candidate scored, best per site.
		q, _ := unitVector(c.Location)
		r := ranking{s: s, now: unixNanoSat(t0), want: wantTransports(want)}
		type scored struct {
			score float64
			cand  int32
		}
		bySite := map[int32]scored{}
		for ci := range s.cands {
			c32 := int32(ci)
			if !s.cands[ci].located || !r.eligible(c32) {
				continue
			}
			e := scored{geoRTT(chord2(s.pos[ci], q)) + s.cands[ci].penalty, c32}
			if b, ok := bySite[s.cands[ci].site]; !ok || e.score < b.score || e.score == b.score && c32 < b.cand {
				bySite[s.cands[ci].site] = e
			}
		}
		var all []scored
		for _, e := range bySite {
			all = append(all, e)
		}
		slices.SortFunc(all, func(a, b scored) int { return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.cand, b.cand)) })
		var wantIDs []string
		near := n - n*spreadShare/8
		for _, e := range all[:min(near, len(all))] {
			wantIDs = append(wantIDs, s.relays[s.cands[e.cand].relay].ID)
		}
		if len(got) != n || !slices.Equal(got[:near], wantIDs) {
			t.Fatalf("client %d: Candidates(%d) = %q, want %d starting with the scan's %q", i, n, got, n, wantIDs)
		}
		sites := map[string]bool{}
		for _, id := range got {
			rl, _ := s.Relay(id)
			j, _ := s.index(id)
			if sites[rl.Site] || !r.eligible(s.candOf[j]) {
				t.Fatalf("client %d: Candidates = %q: %s repeats its site or is not eligible", i, got, id)
			}
			sites[rl.Site] = true
		}
	}
}

func TestCandidatesUnlocatedSpread(t *testing.T) {
	s := NewSnapshot(worldRelays(4000))
	got := Candidates(s, unlocated, nil, relay.Jurisdiction{}, t0, MaxCandidates)
	if len(got) != MaxCandidates {
		t.Fatalf("Candidates(unlocated) = %d relays, want %d", len(got), MaxCandidates)
	}
	// Spread: no two within 2,000 km of each other.
	for i := range got {
		for j := range i {
			a, _ := unitVector(got[i].Location)
			b, _ := unitVector(got[j].Location)
			if km := 2 * asin(min(1, math.Sqrt(chord2(a, b))/2)) * earthRadiusKM; km < 2000 {
				t.Errorf("%s and %s are %.0f km apart", got[i].ID, got[j].ID, km)
			}
		}
	}
}
