// Package geoiptest writes small GeoIP2/GeoLite2 City-layout databases for
// tests and benches, so none of them needs MaxMind's licensed files. It is
// the one place that knows how such a record looks.
package geoiptest

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is one network's record.
type Place struct {
	Network       netip.Prefix
	Lat, Lon      float64
	NoCoordinates bool   // leave out latitude and longitude, as MaxMind does for networks known only by country
	City          string // the English city name; "Somewhere" when empty
	Country       string // the ISO 3166-1 code; "XX" (no assigned country) when empty
}

// DB returns a database of type dbType ("GeoLite2-City", or another kind to
// test refusals) holding places. Reserved networks (documentation,
// benchmarking, RFC 1918) are allowed: tests use nothing else.
func DB(dbType string, places ...Place) ([]byte, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true, RecordSize: 28})
	if err != nil {
		return nil, err
	}
	for i, p := range places {
		country := p.Country
		if country == "" {
			country = "XX"
		}
		if !p.Network.IsValid() {
			return nil, fmt.Errorf("place %d: invalid network", i)
		}
		loc := mmdbtype.Map{"accuracy_radius": mmdbtype.Uint16(20), "time_zone": mmdbtype.String("Etc/UTC")}
		if !p.NoCoordinates {
			loc["latitude"] = mmdbtype.Float64(p.Lat)
			loc["longitude"] = mmdbtype.Float64(p.Lon)
		}
		city := p.City
		if city == "" {
			city = "Somewhere"
		}
		record := mmdbtype.Map{
			"city":     mmdbtype.Map{"geoname_id": mmdbtype.Uint32(uint32(i + 1)), "names": mmdbtype.Map{"en": mmdbtype.String(city)}},
			"country":  mmdbtype.Map{"iso_code": mmdbtype.String(country)},
			"location": loc,
		}
		n := p.Network.Masked()
		ipnet := &net.IPNet{IP: n.Addr().AsSlice(), Mask: net.CIDRMask(n.Bits(), n.Addr().BitLen())}
		if err := tree.Insert(ipnet, record); err != nil {
			return nil, fmt.Errorf("insert %s: %w", n, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
