package selector

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
)

var worldCities = []struct {
	name     string
	lat, lon float64
}{
	{"fra", 50.11, 8.68}, {"lon", 51.51, -0.13}, {"nyc", 40.71, -74.01}, {"sfo", 37.77, -122.42},
	{"syd", -33.87, 151.21}, {"sin", 1.35, 103.82}, {"tyo", 35.68, 139.69}, {"sao", -23.55, -46.63},
	{"jnb", -26.20, 28.05}, {"bom", 19.08, 72.88}, {"dxb", 25.20, 55.27}, {"chi", 41.88, -87.63},
}

// trueRTT is a world unlike the model: 1.9x route inflation and 12 ms of
// access delay.
func trueRTT(a, b relay.Location) time.Duration {
	pa, _ := unitVector(a)
	pb, _ := unitVector(b)
	km := 2 * math.Asin(min(math.Sqrt(chord2(pa, pb))/2, 1)) * earthRadiusKM
	return time.Duration((12 + 2*1.9*km/fibreKMPerMS) * float64(time.Millisecond))
}

// TestWronglyLocatedClientFindsItsRelays: GeoIP puts a Sydney network in
// Berlin. Its users measuring only what they are offered, it must end up on
// the Sydney relay within a few answers.
func TestWronglyLocatedClientFindsItsRelays(t *testing.T) {
	var relays []relay.Relay
	for _, c := range worldCities {
		r := relayAt(c.name+"-1", c.name, c.lat, c.lon)
		r.Region = "region-" + c.name
		r.ExpiresAt = t0.Add(24 * time.Hour)
		relays = append(relays, r)
	}
	s := NewSnapshot(relays)
	truth := relay.Location{Latitude: -33.9, Longitude: 151.0}
	client := berlin // where GeoIP puts it
	aggs := map[string]relay.Aggregate{}
	cfg := relay.AggregateConfig{}.WithDefaults()
	now := t0
	var prev string
	for round := range 30 {
		var pm []relay.Measurement
		for id, a := range aggs {
			if m, ok := a.Trusted(id, now, cfg); ok {
				pm = append(pm, m)
			}
		}
		got, err := Rank(s, Request{Client: client, PrefixMeasurements: pm, Previous: prev}, now)
		if err != nil {
			t.Fatal(err)
		}
		prev = got.Primary.Relay.ID
		if prev == "syd-1" {
			t.Logf("found syd-1 as primary after %d answers", round+1)
			return
		}
		for _, c := range []*relay.Choice{&got.Primary, got.Backup} {
			if c == nil {
				continue
			}
			user := fmt.Sprintf("user-%d", round%3) // the prefix's users take turns
			aggs[c.Relay.ID] = aggs[c.Relay.ID].Add(user, relay.Measurement{RelayID: c.Relay.ID, RTT: trueRTT(truth, c.Relay.Location)}, now, cfg)
		}
		now = now.Add(5 * time.Minute)
		t.Logf("round %d: primary %s (%s) backup %v; trusted %d", round, got.Primary.Relay.ID, got.Primary.Basis, fmtBackup(got), len(pm))
	}
	t.Fatalf("a Sydney client located in Berlin never got syd-1 as primary")
}

func fmtBackup(p relay.Pair) string {
	if p.Backup == nil {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", p.Backup.Relay.ID, p.Backup.Basis)
}

// TestAsin: the model's asin agrees with math.Asin over [0, 1] (and its
// ends exactly), and never decreases.
func TestAsin(t *testing.T) {
	if asin(0) != 0 || asin(1) != math.Pi/2 {
		t.Fatalf("asin(0), asin(1) = %v, %v; want 0, π/2", asin(0), asin(1))
	}
	prev := 0.0
	for i := range 2_000_001 {
		x := float64(i) / 2e6
		got := asin(x)
		if d := math.Abs(got - math.Asin(x)); d > 2e-14 {
			t.Fatalf("asin(%v) = %v, math.Asin %v: off by %g", x, got, math.Asin(x), d)
		}
		if got < prev {
			t.Fatalf("asin(%v) = %v < asin of the previous point %v", x, got, prev)
		}
		prev = got
	}
}

// TestPlacementSearchFindsTheClient: in a world that follows the model
// (RTT = model + 10 ms of access), a client with wrong GeoIP sits at one of
// 128 anchors and measured 8 relays anywhere in the world. The
// coarse-to-fine search tries about a quarter of the anchors; it places the
// client where the measurements fit about as well as at the exhaustive
// search's place (within the slack calibrate itself allows) for 161 of
// these 200 clients. The others are the price of not trying every anchor
// (an exact branch and bound tried most of them: 6-7 µs at 10k relays);
// relaysim, whose prefixes measured what they were offered, shows no loss
// (see anchorTop). A search that does worse fails this.
func TestPlacementSearchFindsTheClient(t *testing.T) {
	relays := worldRelays(4000) // 1,000 regions: 128 anchors
	s := NewSnapshot(relays)
	if len(s.anchors) != maxAnchors {
		t.Fatalf("%d anchors, want %d", len(s.anchors), maxAnchors)
	}
	rng := rand.New(rand.NewPCG(11, 11))
	misses := 0
	for range 200 {
		truth := s.regionPos[s.anchors[rng.IntN(len(s.anchors))]]
		var pm []relay.Measurement
		for range 8 {
			r := relays[rng.IntN(len(relays))]
			p, _ := unitVector(r.Location)
			pm = append(pm, relay.Measurement{RelayID: r.ID, RTT: time.Duration((geoRTT(chord2(p, truth)) + 10) * float64(time.Millisecond))})
		}
		req := Request{Client: relay.Client{Prefix: netip.MustParsePrefix("198.51.100.0/24")}, PrefixMeasurements: pm}
		var cs calSet
		for _, m := range pm {
			j, _ := s.index(m.RelayID)
			cs.add(j, s.posOf[j], float64(m.RTT)/float64(time.Millisecond))
		}
		fast := ranking{s: s, req: req}
		slow := ranking{s: s, req: req, exhaustive: true}
		got, _ := fast.calibrate(vec3{}, false)
		want, _ := slow.calibrate(vec3{}, false)
		if gc, wc := cs.placementCost(got), cs.placementCost(want); gc > wc+placementSlackMS*float64(cs.n) {
			misses++
		}
	}
	if misses > 45 {
		t.Errorf("%d of 200 clients placed clearly worse than by trying every anchor, want at most 45", misses)
	}
}
