package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"

	"github.com/relaygate/relaygate/internal/geoiptest"
)

// The bench's clients stand where production clients do: behind a proxy
// the gateway trusts (the loadgen itself, on 127.0.0.1), at addresses a
// GeoIP database places in the cities the relays are in. The addresses are
// 10.C.X.Y (RFC 1918), C the city's index: data in a header, never a
// destination. writeCityDB writes the GeoLite2-City-layout database that
// places them: each city's /16 in sixteen /20 blocks, each block at the
// city's coordinates moved by up to a degree (a metro area).

// clientBlocksPerCity is the number of located blocks in a city's /16.
const clientBlocksPerCity = 16

// writeCityDB writes the bench's GeoIP database to path.
func writeCityDB(path string) error {
	rng := rand.New(rand.NewPCG(1918, 2)) //nolint:gosec // G404: seeded for the same database every run; nothing secret
	var places []geoiptest.Place
	for ci, c := range cities {
		for b := range clientBlocksPerCity {
			places = append(places, geoiptest.Place{
				Network: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(ci), byte(b << 4), 0}), 20),
				Lat:     c.lat + (rng.Float64()*2 - 1),
				Lon:     c.lon + (rng.Float64()*2 - 1),
				City:    c.slug,
			})
		}
	}
	data, err := geoiptest.DB("GeoLite2-City", places...)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// clientAddrs returns n client addresses spread over the cities, each in
// a random /24 of its city's /16 (so the gateway sees thousands of client
// prefixes), the same n for the same seed.
func clientAddrs(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 10)) //nolint:gosec // G404: seeded for the same addresses every run; nothing secret
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.%d", rng.IntN(len(cities)), rng.IntN(256), 1+rng.IntN(254))
	}
	return out
}
