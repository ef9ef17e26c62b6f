package geoip_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/geoip"
	"github.com/relaygate/relaygate/internal/geoiptest"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
)

var (
	london  = geoiptest.Place{Network: netip.MustParsePrefix("198.51.100.0/24"), Lat: 51.5142, Lon: -0.0931}
	berlin  = geoiptest.Place{Network: netip.MustParsePrefix("2001:db8:100::/48"), Lat: 52.5200, Lon: 13.4050}
	country = geoiptest.Place{Network: netip.MustParsePrefix("203.0.113.0/24"), NoCoordinates: true}
	tokyo   = geoiptest.Place{Network: netip.MustParsePrefix("198.51.100.0/24"), Lat: 35.6897, Lon: 139.6922} // london's network, moved
)

// mmdb builds a database of type dbType holding places.
func mmdb(t testing.TB, dbType string, places ...geoiptest.Place) []byte {
	t.Helper()
	data, err := geoiptest.DB(dbType, places...)
	if err != nil {
		t.Fatalf("geoiptest.DB() error = %v", err)
	}
	return data
}

// open writes a database of places and opens it, logging into the
// returned buffer.
func open(t *testing.T, places ...geoiptest.Place) (*geoip.DB, string, *bytes.Buffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	testenv.ReplaceFile(t, path, mmdb(t, "GeoLite2-City", places...))
	var logs bytes.Buffer
	db, err := geoip.New(geoip.Config{Path: path, PollInterval: time.Second}, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path, &logs
}

func TestLocate(t *testing.T) {
	db, _, _ := open(t, london, berlin, country)
	tests := []struct {
		name string
		ip   string
		want relay.Location
		ok   bool
	}{
		{name: "IPv4", ip: "198.51.100.7", want: relay.Location{Latitude: london.Lat, Longitude: london.Lon}, ok: true},
		{name: "IPv6", ip: "2001:db8:100:1::7", want: relay.Location{Latitude: berlin.Lat, Longitude: berlin.Lon}, ok: true},
		{name: "IPv4-mapped IPv6", ip: "::ffff:198.51.100.7", want: relay.Location{Latitude: london.Lat, Longitude: london.Lon}, ok: true},
		{name: "IPv6 with zone", ip: "2001:db8:100::1%eth0", want: relay.Location{Latitude: berlin.Lat, Longitude: berlin.Lon}, ok: true},
		{name: "IPv4 not found", ip: "192.0.2.1"},
		{name: "IPv6 not found", ip: "2001:db8:200::1"},
		{name: "record without coordinates", ip: "203.0.113.9"},
		{name: "zero address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ip netip.Addr
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			got, ok := db.Locate(ip)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Locate(%s) = %v, %v, want %v, %v", tt.ip, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCountry(t *testing.T) {
	gb := london
	gb.Country = "gb"
	nl := country
	nl.Country = "NL" // a network known only by country
	db, _, _ := open(t, gb, berlin, nl)
	tests := []struct {
		ip, want string
	}{
		{"198.51.100.7", "GB"},
		{"::ffff:198.51.100.7", "GB"},
		{"203.0.113.9", "NL"},
		{"2001:db8:100::1", ""}, // the record's code is XX: no assigned country
		{"192.0.2.1", ""},       // no record
		{"", ""},
	}
	for _, tt := range tests {
		var ip netip.Addr
		if tt.ip != "" {
			ip = netip.MustParseAddr(tt.ip)
		}
		got, ok := db.Country(ip)
		if got.String() != tt.want || ok != (tt.want != "") {
			t.Errorf("Country(%s) = %q, %v; want %q", tt.ip, got, ok, tt.want)
		}
	}
}

// reloadTo replaces the file at path with a database of p, which Reload
// must then swap in, and checks that ip is located at p: what is true
// after both a replacement and a repair.
func reloadTo(t *testing.T, db *geoip.DB, path string, ip netip.Addr, p geoiptest.Place, city string) {
	t.Helper()
	testenv.ReplaceFile(t, path, mmdb(t, "GeoLite2-City", p))
	if swapped, err := db.Reload(); !swapped || err != nil {
		t.Fatalf("Reload() of a file now holding %s = %v, %v, want true, nil", city, swapped, err)
	}
	if got, ok := db.Locate(ip); !ok || got.Latitude != p.Lat {
		t.Errorf("Locate() after the reload = %v, %v, want %s", got, ok, city)
	}
}

func TestReload(t *testing.T) {
	db, path, _ := open(t, london)
	ip := netip.MustParseAddr("198.51.100.7")

	if swapped, err := db.Reload(); swapped || err != nil {
		t.Fatalf("Reload() of an unchanged file = %v, %v, want false, nil", swapped, err)
	}
	reloadTo(t, db, path, ip, tokyo, "Tokyo")

	for _, bad := range []struct {
		name string
		data []byte
	}{
		{name: "garbage", data: []byte("not an mmdb file")},
		{name: "empty", data: nil},
		{name: "truncated", data: mmdb(t, "GeoLite2-City", london)[:100]},
		{name: "another kind of database", data: mmdb(t, "GeoLite2-ASN", london)},
	} {
		t.Run(bad.name, func(t *testing.T) {
			testenv.ReplaceFile(t, path, bad.data)
			if swapped, err := db.Reload(); swapped || err == nil {
				t.Fatalf("Reload() of a broken file = %v, %v, want false and an error", swapped, err)
			}
			if got, ok := db.Locate(ip); !ok || got.Latitude != tokyo.Lat {
				t.Errorf("Locate() after a broken replacement = %v, %v, want Tokyo still", got, ok)
			}
			if swapped, err := db.Reload(); swapped || err != nil {
				t.Errorf("second Reload() of the same broken file = %v, %v, want false, nil (tried once)", swapped, err)
			}
		})
	}

	reloadTo(t, db, path, ip, london, "London") // repaired
}

func TestReloadMissingFile(t *testing.T) {
	db, path, _ := open(t, london)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Reload() of a missing file error = %v, want ErrNotExist", err)
	}
	if _, ok := db.Locate(netip.MustParseAddr("198.51.100.7")); !ok {
		t.Errorf("Locate() after the file vanished found nothing, want the loaded database")
	}
}

func TestRunFollowsReplacements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, path, logs := open(t, london)
		ip := netip.MustParseAddr("198.51.100.7")
		testenv.RunUntilCleanup(t, "Run()", db.Run)

		testenv.ReplaceFile(t, path, mmdb(t, "GeoLite2-City", tokyo))
		time.Sleep(time.Second) // one poll interval, on the bubble's fake clock
		synctest.Wait()
		if got, _ := db.Locate(ip); got.Latitude != tokyo.Lat {
			t.Errorf("Locate() after a poll = %v, want Tokyo", got)
		}

		testenv.ReplaceFile(t, path, []byte("broken"))
		time.Sleep(3 * time.Second) // three polls, one failure
		synctest.Wait()
		if got, _ := db.Locate(ip); got.Latitude != tokyo.Lat {
			t.Errorf("Locate() after a broken replacement = %v, want Tokyo still", got)
		}
		if n := strings.Count(logs.String(), "not reloaded"); n != 1 {
			t.Errorf("logged the failure %d times, want once:\n%s", n, logs)
		}
		if !strings.Contains(logs.String(), "geoip database reloaded") {
			t.Errorf("reload not logged:\n%s", logs)
		}
	})
}

func TestRunStopsWhenClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, _, _ := open(t, london)
		done := make(chan error)
		go func() { done <- db.Run(t.Context()) }()
		db.Close()
		if err := <-done; !errors.Is(err, geoip.ErrClosed) {
			t.Errorf("Run() after Close = %v, want ErrClosed", err)
		}
	})
}

func TestClose(t *testing.T) {
	db, _, _ := open(t, london)
	if err := db.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if _, ok := db.Locate(netip.MustParseAddr("198.51.100.7")); ok {
		t.Errorf("Locate() after Close found something")
	}
	if _, err := db.Reload(); !errors.Is(err, geoip.ErrClosed) {
		t.Errorf("Reload() after Close error = %v, want ErrClosed", err)
	}
}

// TestConcurrentReload runs lookups while the database is swapped under
// them; run with -race.
func TestConcurrentReload(t *testing.T) {
	db, path, _ := open(t, london)
	versions := [][]byte{mmdb(t, "GeoLite2-City", tokyo), mmdb(t, "GeoLite2-City", london)}
	ip := netip.MustParseAddr("::ffff:198.51.100.7")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got, ok := db.Locate(ip); !ok || (got.Latitude != london.Lat && got.Latitude != tokyo.Lat) {
					t.Errorf("Locate() during reloads = %v, %v", got, ok)
					return
				}
			}
		})
	}
	for i := range 20 {
		testenv.ReplaceFile(t, path, versions[i%2])
		if _, err := db.Reload(); err != nil {
			t.Errorf("Reload() error = %v", err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestNewRejects(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	good := filepath.Join(dir, "city.mmdb")
	testenv.ReplaceFile(t, good, mmdb(t, "GeoLite2-City", london))
	tests := []struct {
		name string
		cfg  geoip.Config
		log  *slog.Logger
	}{
		{name: "empty path", cfg: geoip.Config{}, log: log},
		{name: "negative poll interval", cfg: geoip.Config{Path: good, PollInterval: -time.Second}, log: log},
		{name: "no logger", cfg: geoip.Config{Path: good}},
		{name: "missing file", cfg: geoip.Config{Path: filepath.Join(dir, "nope.mmdb")}, log: log},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if db, err := geoip.New(tt.cfg, tt.log); err == nil {
				db.Close()
				t.Errorf("New(%+v) error = nil, want one", tt.cfg)
			}
		})
	}
	if db, err := geoip.Open(good, log); err != nil {
		t.Errorf("Open() error = %v", err)
	} else {
		db.Close()
	}
}

// TestLogsNoClientAddress: lookups never log, and reload logs name only
// the file.
func TestLogsNoClientAddress(t *testing.T) {
	db, path, logs := open(t, london)
	db.Locate(netip.MustParseAddr("198.51.100.77"))
	testenv.ReplaceFile(t, path, []byte("broken"))
	if _, err := db.Reload(); err == nil {
		t.Fatal("Reload() of a broken file: error = nil")
	}
	if strings.Contains(logs.String(), "198.51.100") {
		t.Errorf("logs contain a client address:\n%s", logs)
	}
}

func BenchmarkLocate(b *testing.B) {
	path := filepath.Join(b.TempDir(), "city.mmdb")
	data := mmdb(b, "GeoLite2-City", london, berlin, country)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	db, err := geoip.Open(path, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ip := netip.MustParseAddr("198.51.100.7")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := db.Locate(ip); !ok {
			b.Fatal("not found")
		}
	}
}
