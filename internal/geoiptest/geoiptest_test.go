package geoiptest_test

import (
	"net/netip"
	"testing"

	"github.com/oschwald/geoip2-golang/v2"

	"github.com/relaygate/relaygate/internal/geoiptest"
)

func TestDB(t *testing.T) {
	data, err := geoiptest.DB("GeoLite2-City",
		geoiptest.Place{Network: netip.MustParsePrefix("10.1.0.0/16"), Lat: 50.11, Lon: 8.68, City: "Frankfurt"},
		geoiptest.Place{Network: netip.MustParsePrefix("2001:db8:1::/48"), NoCoordinates: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := geoip2.OpenBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.City(netip.MustParseAddr("10.1.2.3"))
	if err != nil || !rec.Location.HasCoordinates() || *rec.Location.Latitude != 50.11 || *rec.Location.Longitude != 8.68 || rec.City.Names.English != "Frankfurt" {
		t.Errorf("City(10.1.2.3) = %+v, %v; want Frankfurt at 50.11, 8.68", rec, err)
	}
	if rec, err := r.City(netip.MustParseAddr("2001:db8:1::1")); err != nil || rec.Location.HasCoordinates() {
		t.Errorf("City(2001:db8:1::1) = %+v, %v; want a record without coordinates", rec.Location, err)
	}
	if _, err := geoiptest.DB("GeoLite2-City", geoiptest.Place{}); err == nil {
		t.Errorf("DB() with an invalid network: no error")
	}
}
