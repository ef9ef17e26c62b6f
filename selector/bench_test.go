package selector

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// worldRelays is n relays, four per site, at sites scattered over the
// inhabited latitudes, with varied load and transports; all fresh.
func worldRelays(n int) []relay.Relay {
	rng := rand.New(rand.NewPCG(42, 42))
	out := make([]relay.Relay, 0, n)
	var lat, lon float64
	for i := range n {
		if i%4 == 0 {
			lat, lon = rng.Float64()*130-60, rng.Float64()*360-180
		}
		r := relayAt(fmt.Sprintf("r%06d", i), fmt.Sprintf("s%05d", i/4), lat, lon)
		r.Load.Allocations = rng.Int64N(r.Capacity.Allocations)
		if i%3 == 0 {
			r = withTLS(r)
		}
		out = append(out, r)
	}
	return out
}

func BenchmarkRank(b *testing.B) {
	for _, n := range []int{100, 1000, 10000, 100000} {
		relays := worldRelays(n)
		s := NewSnapshot(relays)
		req := Request{Client: berlin, Measurements: []relay.Measurement{{RelayID: relays[n/2].ID, RTT: 40e6}}}
		b.Run(fmt.Sprintf("relays=%d", n), func(b *testing.B) {
			rankEachPrefix(b, s, req)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/relay")
		})
	}
}

// metroRelays is n relays in 50 metros, four sites each, every relay within
// about 20 km of its metro's centre, with varied load: a big deployment,
// where distance cannot tell a metro's relays apart and load must.
func metroRelays(n int) []relay.Relay {
	rng := rand.New(rand.NewPCG(43, 43))
	type metro struct{ lat, lon float64 }
	metros := make([]metro, 50)
	for i := range metros {
		metros[i] = metro{rng.Float64()*130 - 60, rng.Float64()*360 - 180}
	}
	out := make([]relay.Relay, 0, n)
	for i := range n {
		m := metros[i%len(metros)]
		r := relayAt(fmt.Sprintf("r%06d", i), fmt.Sprintf("m%02d-s%d", i%len(metros), (i/len(metros))%4),
			m.lat+(rng.Float64()-0.5)*0.4, m.lon+(rng.Float64()-0.5)*0.4)
		r.Load.Allocations = rng.Int64N(r.Capacity.Allocations * 6 / 10)
		out = append(out, r)
	}
	return out
}

// rankEachPrefix ranks req in a benchmark loop, for client i's prefix in
// iteration i.
func rankEachPrefix(b *testing.B, s *Snapshot, req Request) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req.Client.Prefix = testPrefix(i)
		if _, err := Rank(s, req, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// testPrefix is client i's prefix: 10.x.y.0/24.
func testPrefix(i int) netip.Prefix {
	return relay.ClientPrefix(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}))
}

// randomClient is client i at a random place, located or not.
func randomClient(rng *rand.Rand, i int, located bool) relay.Client {
	return relay.Client{
		Prefix:   testPrefix(i),
		Location: relay.Location{Latitude: rng.Float64()*180 - 90, Longitude: rng.Float64()*360 - 180},
		Located:  located,
	}
}

// BenchmarkRankMetro: clients in the metros (GeoIP puts them within a degree
// of the centre) of metroRelays.
func BenchmarkRankMetro(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		relays := metroRelays(n)
		s := NewSnapshot(relays)
		b.Run(fmt.Sprintf("relays=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				r := relays[(i*7919)%len(relays)].Location
				req := Request{Client: relay.Client{
					Prefix:   testPrefix(i),
					Location: relay.Location{Latitude: r.Latitude + float64(i%7)/7 - 0.5, Longitude: r.Longitude + float64(i%5)/5 - 0.5},
					Located:  true,
				}}
				if _, err := Rank(s, req, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRankUnlocated(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		s := NewSnapshot(worldRelays(n))
		req := Request{Client: unlocated}
		b.Run(fmt.Sprintf("relays=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Rank(s, req, t0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/relay")
		})
	}
}

func BenchmarkNewSnapshot(b *testing.B) {
	relays := worldRelays(10000)
	b.ReportAllocs()
	for b.Loop() {
		NewSnapshot(relays)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(relays)), "ns/relay")
}

// TestRankPruningMatchesExhaustive checks on a large, realistic snapshot that
// skipping far relays never changes the answer.
func TestRankPruningMatchesExhaustive(t *testing.T) {
	relays := worldRelays(4000)
	s := NewSnapshot(relays)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 2000 {
		req := Request{Client: randomClient(rng, i, i%10 != 0)}
		if i%3 == 0 {
			req.Transports = []relay.Transport{relay.TLS}
		}
		if i%5 == 0 {
			req.Measurements = []relay.Measurement{{RelayID: relays[rng.IntN(len(relays))].ID, RTT: time.Duration(rng.Int64N(200e6))}}
		}
		matchesExhaustive(t, s, req, i)
	}
}

// matchesExhaustive fails t unless Rank (with the index and pruning) and
// the exhaustive scan in index order give client i the same pair.
func matchesExhaustive(t *testing.T, s *Snapshot, req Request, i int) {
	t.Helper()
	got, err := Rank(s, req, t0)
	want, wantErr := rank(s, req, t0, true)
	if err != nil || wantErr != nil {
		t.Fatalf("client %d: Rank() error = %v, exhaustive %v", i, err, wantErr)
	}
	if got.Primary.Relay.ID != want.Primary.Relay.ID || backupID(got) != backupID(want) {
		t.Fatalf("client %d: Rank() = %s/%s, exhaustive = %s/%s", i, got.Primary.Relay.ID, backupID(got), want.Primary.Relay.ID, backupID(want))
	}
}

// BenchmarkRankPrefixMeasured: a prefix with 8 trusted measurements, located
// where GeoIP says (the usual case) and located elsewhere (GeoIP says
// Berlin, the RTTs say Sydney: calibrate searches for the place the
// measurements fit, the worst case), at 10k and 100k relays.
func BenchmarkRankPrefixMeasured(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		relays := worldRelays(n)
		s := NewSnapshot(relays)
		// What a prefix has measured: the relays it was offered, near where
		// it was placed (Berlin), plus two explored elsewhere.
		byDist := slices.Clone(relays)
		slices.SortFunc(byDist, func(a, b relay.Relay) int {
			return cmp.Compare(trueRTT(berlin.Location, a.Location), trueRTT(berlin.Location, b.Location))
		})
		measuredRelays := slices.Concat(byDist[:6], []relay.Relay{relays[n/3], relays[2*n/3]})
		for _, tc := range []struct {
			name  string
			where relay.Location
		}{{"geoip-right", berlin.Location}, {"geoip-wrong", relay.Location{Latitude: -33.9, Longitude: 151.2}}} {
			var pm []relay.Measurement
			for _, r := range measuredRelays {
				pm = append(pm, relay.Measurement{RelayID: r.ID, RTT: trueRTT(tc.where, r.Location)})
			}
			req := Request{Client: berlin, PrefixMeasurements: pm}
			b.Run(fmt.Sprintf("%s/relays=%d", tc.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Rank(s, req, t0); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRankWithin: BenchmarkRank's world at 10k and 100k relays, each in
// one of eight countries, with a policy in force: a deny list of the
// client's own country (the nearest relays are all refused) and an allow
// list of two.
func BenchmarkRankWithin(b *testing.B) {
	codes := []string{"DE", "FR", "NL", "US", "JP", "BR", "ZA", "AU"}
	de, _ := relay.ParseCountry("DE")
	fr, _ := relay.ParseCountry("FR")
	nl, _ := relay.ParseCountry("NL")
	for _, n := range []int{10000, 100000} {
		relays := worldRelays(n)
		for i := range relays {
			relays[i].Country, _ = relay.ParseCountry(codes[i%len(codes)])
		}
		s := NewSnapshot(relays)
		for _, p := range []struct {
			name   string
			within relay.Jurisdiction
		}{{"none", relay.Jurisdiction{}}, {"deny=DE", relay.Deny(de)}, {"allow=FR,NL", relay.Allow(fr, nl)}} {
			req := Request{Client: berlin, Within: p.within}
			b.Run(fmt.Sprintf("%s/relays=%d", p.name, n), func(b *testing.B) { rankEachPrefix(b, s, req) })
		}
	}
}

// BenchmarkCandidates: the sites a Berlin client measures before its first
// call (MaxCandidates of them), in BenchmarkRank's world.
func BenchmarkCandidates(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		s := NewSnapshot(worldRelays(n))
		b.Run(fmt.Sprintf("relays=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(Candidates(s, berlin, nil, relay.Jurisdiction{}, t0, MaxCandidates)) != MaxCandidates {
					b.Fatal("short list")
				}
			}
		})
	}
}
