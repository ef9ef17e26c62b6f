package wire_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// TestValidate pins the field names and messages the gateway answers in
// problem+json for each rule of the request types.
func TestValidate(t *testing.T) {
	hb := func(f func(*wire.Heartbeat)) wire.Heartbeat {
		h := wire.NewHeartbeat(ams2())
		f(&h)
		return h
	}
	fe := func(kv ...string) []wire.FieldError {
		var out []wire.FieldError
		for i := 0; i < len(kv); i += 2 {
			out = append(out, wire.FieldError{Field: kv[i], Message: kv[i+1]})
		}
		return out
	}
	rtt, loss := 21.5, 1.5
	measurements := func(n int) []wire.Measurement {
		ms := make([]wire.Measurement, n)
		for i := range ms {
			ms[i] = wire.Measurement{RelayID: "ams-2", RTTMs: &rtt}
		}
		return ms
	}
	zero := int64(0)
	tests := []struct {
		name string
		v    interface{ Validate() []wire.FieldError }
		want []wire.FieldError
	}{
		{name: "valid heartbeat", v: hb(func(*wire.Heartbeat) {})},
		{name: "everything missing", v: wire.Heartbeat{}, want: fe(
			"region", "required: 1-63 lowercase letters, digits or '-', starting with a letter or digit",
			"site", "required: 1-63 lowercase letters, digits or '-', starting with a letter or digit",
			"latitude", "required: a number in [-90, 90]",
			"longitude", "required: a number in [-180, 180]",
			"addresses", "required: 1 to 16 IP addresses",
			"ports", "required: at least one of udp, tcp, tls")},
		{name: "addresses", v: hb(func(h *wire.Heartbeat) {
			h.Addresses = []string{"::ffff:198.51.100.7", "224.0.0.1", "198.51.100.7", "198.51.100.7", "fe80::1%eth0"}
		}), want: fe(
			"addresses[0]", "must be a plain IPv4 address, not IPv4-mapped IPv6",
			"addresses[1]", "must be a unicast address",
			"addresses[3]", "duplicate address",
			"addresses[4]", "must be an IPv4 or IPv6 address without zone")},
		{name: "too many addresses", v: hb(func(h *wire.Heartbeat) { h.Addresses = make([]string, 17) }),
			want: fe("addresses", "at most 16 IP addresses")},
		{name: "ports by name, sorted", v: hb(func(h *wire.Heartbeat) {
			h.Hostname = ""
			h.Ports = wire.Ports{"udp": 0, "tls": 5349, strings.Repeat("q", 20): 1}
		}), want: fe(
			"ports.qqqqqqqqqqqqqqqq…", "not a transport: one of udp, tcp, tls",
			"hostname", "required with ports.tls: turns: URLs name the certificate's host",
			"ports.udp", "must be a port in 1-65535")},
		{name: "resources and version", v: hb(func(h *wire.Heartbeat) {
			h.Capacity.BandwidthBPS, h.Load.Allocations, h.Version, h.Hostname = -1, -1, "0.1\n", "-x.example"
		}), want: fe(
			"hostname", "must be a DNS name",
			"capacity.bandwidth_bps", "must be >= 0",
			"load.allocations", "must be >= 0",
			"version", "at most 64 printable ASCII characters")},
		{name: "heartbeat country", v: hb(func(h *wire.Heartbeat) { h.Country = "XX" }),
			want: fe("country", "must be an assigned ISO 3166-1 alpha-2 country code")},
		{name: "heartbeat country in lower case", v: hb(func(h *wire.Heartbeat) { h.Country = "nl" })},
		{name: "country lists", v: wire.CredentialsRequest{AllowedCountries: []string{"DE", "de"}, ExcludeCountries: []string{"USA"}}, want: fe(
			"allowed_countries", "each country at most once",
			"exclude_countries", "each must be an assigned ISO 3166-1 alpha-2 country code")},
		{name: "empty country list", v: wire.CredentialsRequest{ExcludeCountries: []string{}},
			want: fe("exclude_countries", "1 to 249 ISO 3166-1 alpha-2 country codes")},
		{name: "empty credentials request", v: wire.CredentialsRequest{}},
		{name: "credentials request", v: wire.CredentialsRequest{TTLSeconds: &zero, Transports: []string{"udp", "udp"},
			Measurements: []wire.Measurement{{RelayID: "AMS", Loss: &loss}}}, want: fe(
			"ttl_seconds", "must be between 60 and 172800 seconds",
			"transports", "each transport at most once",
			"measurements[0].relay_id", "required: a relay id",
			"measurements[0].rtt_ms", "required: a number in [0, 60000]",
			"measurements[0].loss", "must be a fraction in [0, 1]")},
		{name: "empty transport list", v: wire.CredentialsRequest{Transports: []string{}},
			want: fe("transports", "1 to 3 of udp, tcp, tls")},
		{name: "too many inline measurements", v: wire.CredentialsRequest{Measurements: measurements(65)},
			want: fe("measurements", "at most 64 measurements")},
		{name: "measurements required", v: wire.MeasurementsRequest{},
			want: fe("measurements", "required: 1 to 64 measurements")},
		{name: "64 measurements", v: wire.MeasurementsRequest{Measurements: measurements(64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.Validate(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate() = %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCredentialsRequestWithin(t *testing.T) {
	de, _ := relay.ParseCountry("DE")
	fr, _ := relay.ParseCountry("FR")
	within := wire.CredentialsRequest{AllowedCountries: []string{"de", "FR"}, ExcludeCountries: []string{"fr"}}.Within()
	if !within.Permits(de) || within.Permits(fr) || within.Permits(0) {
		t.Errorf("allow de,FR exclude fr permits %v, want [DE]", within.Countries())
	}
	if !(wire.CredentialsRequest{}).Within().Any() {
		t.Error("a request without lists must leave the policy as it is")
	}
	// A list Validate would refuse must never widen: it permits nothing.
	if got := wire.Jurisdiction(nil, []string{"DE", "XX"}); got.Permits(fr) {
		t.Errorf("deny DE,XX permits FR: an invalid list widened the policy")
	}
}
