package gateway_test

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/relay"
)

// TestPickRemembersPrimaryPerPrefix: a prefix whose measured RTTs to two
// twin relays wobble keeps one primary, because the Gateway remembers the
// last one per prefix; a client without a prefix, which it cannot
// remember, flips.
func TestPickRemembersPrimaryPerPrefix(t *testing.T) {
	f := newFixture(t, fra1(), relayAt("fra-9", "fra9", 50.11, 8.68)) // twins
	noPrefix := berlin
	noPrefix.Prefix = netip.Prefix{}
	flips := map[bool]int{}
	last := map[bool]string{}
	for i := range 50 {
		wobble := time.Duration(i%2) * 2 * time.Millisecond
		ms := []relay.Measurement{{RelayID: "fra-1", RTT: 20*time.Millisecond + wobble}, {RelayID: "fra-9", RTT: 21*time.Millisecond - wobble}}
		for withPrefix, c := range map[bool]relay.Client{true: berlin, false: noPrefix} {
			primary, _ := f.pick(c, ms...)
			if last[withPrefix] != "" && primary != last[withPrefix] {
				flips[withPrefix]++
			}
			last[withPrefix] = primary
		}
	}
	if flips[true] != 0 {
		t.Errorf("with a prefix the primary changed %d times, want 0", flips[true])
	}
	if flips[false] == 0 {
		t.Errorf("the test does not wobble: without a prefix the primary never changed")
	}
}

// TestPickExplores: with an exploration share, the answers the random bits
// pick keep the primary and spread the backup over the other sites' relays;
// without one, or when the bits never fall within the share, the backup is
// always the best other-site relay.
func TestPickExplores(t *testing.T) {
	relays := []relay.Relay{fra1(), ams2(), nyc1(), relayAt("waw-1", "waw", 52.23, 21.01), relayAt("mad-1", "mad", 40.42, -3.70)}
	pcg := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name    string
		share   float64
		rand    func() uint64
		backups int // distinct backups over the picks
	}{
		{name: "off", share: 0, rand: pcg.Uint64, backups: 1},
		{name: "bits above the share", share: 0.5, rand: func() uint64 { return math.MaxUint64 }, backups: 1},
		{name: "half the answers", share: 0.5, rand: pcg.Uint64, backups: len(relays) - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, gateway.Config{ExploreShare: tt.share}, gateway.Deps{Rand: tt.rand}, relays...)
			seen := map[string]int{}
			for range 200 {
				primary, backup := f.pick(berlin)
				if primary != "fra-1" {
					t.Fatalf("primary = %s, want fra-1 (exploring never moves the primary)", primary)
				}
				seen[backup]++
			}
			if len(seen) != tt.backups {
				t.Errorf("backups %v, want %d distinct", seen, tt.backups)
			}
			if tt.backups == 1 && seen["waw-1"] != 200 {
				t.Errorf("backups %v, want waw-1, the nearest other-site relay, every time", seen)
			}
		})
	}
}
