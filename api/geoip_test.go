package api_test

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/relaygate/relaygate/geoip"
	"github.com/relaygate/relaygate/internal/geoiptest"
)

// geoDB is a GeoLite2-City-layout database that locates the test clients
// (Berlin, New York) and one relay address (in Tokyo, Japan), and nothing
// else.
var geoDB = sync.OnceValues(func() ([]byte, error) {
	return geoiptest.DB("GeoLite2-City",
		geoiptest.Place{Network: netip.MustParsePrefix(berlinIP + "/32"), Lat: 52.52, Lon: 13.40, City: "Berlin"},
		geoiptest.Place{Network: netip.MustParsePrefix(newYorkIP + "/32"), Lat: 40.71, Lon: -74.01, City: "New York"},
		geoiptest.Place{Network: netip.MustParsePrefix(tokyoRelayIP + "/32"), Lat: 35.69, Lon: 139.69, City: "Tokyo", Country: "JP"},
	)
})

// openGeoIP opens geoDB as the gateway does its --geoip-db.
func openGeoIP(t *testing.T, log *slog.Logger) *geoip.DB {
	t.Helper()
	data, err := geoDB()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(path, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
