package selector

import (
	"fmt"
	"math"
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
