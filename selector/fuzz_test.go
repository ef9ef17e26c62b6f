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

// randomRelays builds n relays at a few sites from seed: some co-located,
// some stale, draining, drained, full, lacking transports or a location.
func randomRelays(seed uint64, n int) []relay.Relay {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type site struct {
		name     string
		lat, lon float64
	}
	sites := make([]site, 1+rng.IntN(5))
	for i := range sites {
		sites[i] = site{fmt.Sprintf("s%d", i), rng.Float64()*180 - 90, rng.Float64()*360 - 180}
	}
	out := make([]relay.Relay, 0, n)
	for i := range n {
		st := sites[rng.IntN(len(sites))]
		r := relayAt(fmt.Sprintf("%s-%d", st.name, i), st.name, st.lat, st.lon)
		if rng.IntN(2) == 0 { // not exactly co-located
			r.Location.Latitude = min(max(r.Location.Latitude+rng.NormFloat64(), -90), 90)
		}
		r.Load.Allocations = rng.Int64N(r.Capacity.Allocations + 1)
		r.Ports = relay.Ports{relay.UDP: uint16(rng.IntN(2)) * 3478, relay.TCP: uint16(rng.IntN(2)) * 3478, relay.TLS: uint16(rng.IntN(2)) * 5349}
		if rng.IntN(2) == 0 {
			r.Hostname = r.ID + ".relay.example"
		}
		switch rng.IntN(12) {
		case 0:
			r = stale(r)
		case 1:
			r = draining(r)
		case 2:
			r = drained(r)
		case 3:
			r.Location.Longitude = 500 // unusable
		}
		out = append(out, r)
	}
	return out
}

// eligibleRelay is the definition of eligibility, spelled out from Relay's
// methods, independent of the snapshot's index.
func eligibleRelay(r *relay.Relay, want []relay.Transport, now time.Time) bool {
	if !r.Fresh(now) || r.Draining || r.Drained || r.Full() {
		return false
	}
	if len(want) == 0 {
		return r.Offers(relay.UDP) || r.Offers(relay.TCP) || r.Offers(relay.TLS)
	}
	for _, t := range want {
		if !r.Offers(t) {
			return false
		}
	}
	return true
}

func FuzzRank(f *testing.F) {
	f.Add(uint64(1), uint8(10), 52.5, 13.4, true, []byte{198, 51, 100, 7}, uint8(0), uint8(3), int64(20e6), 0.0)
	f.Add(uint64(2), uint8(40), -33.9, 151.2, false, []byte{0x20, 1, 0xd, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint8(5), uint8(0), int64(-1), 0.5)
	f.Add(uint64(3), uint8(64), 0.0, 0.0, true, []byte{}, uint8(1), uint8(7), int64(1e6), 0.03)
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, lat, lon float64, located bool, addr []byte, want uint8, measured uint8, rtt int64, loss float64) {
		relays := randomRelays(seed, int(n%80))
		a, _ := netip.AddrFromSlice(addr)
		req := Request{Client: relay.Client{Prefix: relay.ClientPrefix(a), Location: relay.Location{Latitude: lat, Longitude: lon}, Located: located}}
		for i, tr := range relay.Transports() {
			if want&(1<<i) != 0 {
				req.Transports = append(req.Transports, tr)
			}
		}
		if len(relays) > 0 {
			req.Measurements = []relay.Measurement{{RelayID: relays[int(measured)%len(relays)].ID, RTT: time.Duration(rtt), Loss: loss}}
		}
		s := NewSnapshot(relays)
		got, err := Rank(s, req, t0)
		ref, refErr := rank(s, req, t0, true)

		// Candidates: at most what was asked (and MaxCandidates), each
		// eligible, one per site.
		cands := Candidates(s, req.Client, req.Transports, relay.Jurisdiction{}, t0, int(measured%12))
		if len(cands) > min(int(measured%12), MaxCandidates) {
			t.Fatalf("Candidates(%d) = %d relays", measured%12, len(cands))
		}
		sites := map[string]bool{}
		for i := range cands {
			if !eligibleRelay(&cands[i], req.Transports, t0) || sites[cands[i].Site] {
				t.Fatalf("Candidates lists %s: not eligible, or its site twice", cands[i].ID)
			}
			sites[cands[i].Site] = true
		}

		var eligible []*relay.Relay
		for i := range relays {
			if eligibleRelay(&relays[i], req.Transports, t0) {
				eligible = append(eligible, &relays[i])
			}
		}
		if len(eligible) == 0 {
			if !errors.Is(err, relay.ErrNoCandidate) || !errors.Is(refErr, relay.ErrNoCandidate) {
				t.Fatalf("nothing eligible, Rank() error = %v, exhaustive %v", err, refErr)
			}
			return
		}
		if err != nil || refErr != nil {
			t.Fatalf("%d eligible, Rank() error = %v, exhaustive %v", len(eligible), err, refErr)
		}
		if got.Primary.Relay.ID != ref.Primary.Relay.ID || backupID(got) != backupID(ref) {
			t.Fatalf("Rank() = %s/%s, exhaustive = %s/%s", got.Primary.Relay.ID, backupID(got), ref.Primary.Relay.ID, backupID(ref))
		}
		find := func(id string) *relay.Relay {
			for _, r := range eligible {
				if r.ID == id {
					return r
				}
			}
			t.Fatalf("Rank() chose %s, not eligible", id)
			return nil
		}
		primary := find(got.Primary.Relay.ID)
		if len(eligible) == 1 {
			if got.Backup != nil {
				t.Fatalf("one eligible relay, Rank().Backup = %s", got.Backup.Relay.ID)
			}
			return
		}
		if got.Backup == nil {
			t.Fatalf("%d eligible relays, Rank().Backup = nil", len(eligible))
		}
		backup := find(got.Backup.Relay.ID)
		if backup.ID == primary.ID {
			t.Fatalf("Rank() = %s twice", primary.ID)
		}
		if backup.Site == primary.Site {
			for _, r := range eligible {
				if r.Site != primary.Site {
					t.Fatalf("Rank() = %s/%s at one site, but %s is at %s", primary.ID, backup.ID, r.ID, r.Site)
				}
			}
		}
	})
}
