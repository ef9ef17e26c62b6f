package staticrelay_test

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/staticrelay"
)

// docLocator locates 198.51.100.0/24 in Frankfurt and nothing else, as a
// GeoIP database would.
type docLocator struct{}

func (docLocator) Locate(a netip.Addr) (relay.Location, bool) {
	if netip.MustParsePrefix("198.51.100.0/24").Contains(a) {
		return relay.Location{Latitude: 50.11, Longitude: 8.68}, true
	}
	return relay.Location{}, false
}

const twoRelays = `# coturn fleet
relays:
  - id: coturn-fra-1
    region: eu-central
    site: fra
    latitude: 50.11
    longitude: 8.68
    country: de
    addresses: [203.0.113.5, "2001:db8::5"]
    hostname: Turn.Example.
    ports: {udp: 3478, tcp: 3478, tls: 5349}
    capacity: {allocations: 5000, bandwidth_bps: 1000000000}
  - id: coturn-fra-2
    region: eu-central
    site: fra
    addresses: [198.51.100.7]
    ports:
      udp: 3479
    drained: true
`

var de, _ = relay.ParseCountry("DE")

func TestParse(t *testing.T) {
	got, err := staticrelay.Parse([]byte(twoRelays), docLocator{})
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	want := []relay.Relay{{
		ID: "coturn-fra-1", Region: "eu-central", Site: "fra", Location: relay.Location{Latitude: 50.11, Longitude: 8.68},
		Country:   de,
		Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::5")},
		Hostname:  "turn.example", Ports: relay.Ports{relay.UDP: 3478, relay.TCP: 3478, relay.TLS: 5349},
		Capacity: relay.Capacity{Allocations: 5000, BandwidthBPS: 1e9}, Static: true,
	}, {
		ID: "coturn-fra-2", Region: "eu-central", Site: "fra", Location: relay.Location{Latitude: 50.11, Longitude: 8.68},
		Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.7")}, Ports: relay.Ports{relay.UDP: 3479},
		Drained: true, Static: true,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse() =\n%+v\nwant\n%+v", got, want)
	}
	if got, err := staticrelay.Parse([]byte("relays: []\n"), nil); err != nil || len(got) != 0 {
		t.Errorf("Parse(relays: []) = %v, %v; want no relays", got, err)
	}
}

// entry is one valid entry, indented as a list item under relays:, with
// extra lines appended.
func entry(id string, extra ...string) string {
	lines := append([]string{"  - id: " + id, "    region: eu", "    site: fra", "    latitude: 50", "    longitude: 8",
		"    addresses: [203.0.113.5]", "    ports: {udp: 3478}"}, extra...)
	return strings.Join(lines, "\n") + "\n"
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		file string
		loc  staticrelay.Locator
		want []string // each in the error, in order
	}{
		{name: "empty file", file: "", want: []string{"empty: want a list under relays:"}},
		{name: "comment only", file: "# nothing\n", want: []string{"empty"}},
		{name: "no relays key", file: "other: 1\n", want: []string{`line 1: unknown key "other"`}},
		{name: "relays null", file: "relays:\n", want: []string{"no relays: key"}},
		{name: "not yaml", file: "relays: [\n", want: []string{"line 1: did not find expected node content"}},
		{name: "unknown key names key and line",
			file: "relays:\n" + entry("a-1") + entry("b-1", "    load: {allocations: 3}"),
			want: []string{`line 16: relays[1]: unknown key "load"`}},
		{name: "misspelt nested key", file: "relays:\n" + entry("a-1", "    capacity: {allocation: 3}"),
			want: []string{`line 9: relays[0]: unknown key "allocation"`}},
		{name: "unknown top-level key after the list", file: "relays:\n" + entry("a-1") + "extra: true\n",
			want: []string{`line 9: unknown key "extra"`}},
		{name: "wrong type", file: "relays:\n" + strings.Replace(entry("a-1"), "latitude: 50", "latitude: north", 1),
			want: []string{"line 5: relays[0]: cannot unmarshal !!str `north` into float64"}},
		{name: "duplicate key", file: "relays:\n" + entry("a-1", "    site: ams"), want: []string{`line 9`, `"site" already defined`}},
		{name: "two documents", file: "relays: []\n---\nrelays: []\n", want: []string{"more than one YAML document"}},
		{name: "bad id", file: "relays:\n" + entry("A_1"), want: []string{"line 2: relays[0] id: required"}},
		{name: "repeated id", file: "relays:\n" + entry("a-1") + entry("a-1"),
			want: []string{"line 9: relays[1] (a-1) id: also the id of relays[0]"}},
		{name: "heartbeat's validation, with lines",
			file: "relays:\n" + strings.Replace(entry("a-1"), "[203.0.113.5]", "\n      - 203.0.113.5\n      - not-an-ip", 1),
			want: []string{"line 9: relays[0] (a-1) addresses[1]: must be an IPv4 or IPv6 address"}},
		{name: "port out of range", file: "relays:\n" + strings.Replace(entry("a-1"), "{udp: 3478}", "\n      udp: 3478\n      tcp: 70000", 1),
			want: []string{"line 10: relays[0] (a-1) ports.tcp: must be a port in 1-65535"}},
		{name: "no udp", file: "relays:\n" + strings.Replace(entry("a-1"), "{udp: 3478}", "{tcp: 3478}", 1),
			want: []string{"line 8: relays[0] (a-1) ports: udp required"}},
		{name: "tls without hostname", file: "relays:\n" + strings.Replace(entry("a-1"), "{udp: 3478}", "{udp: 3478, tls: 5349}", 1),
			want: []string{"hostname: required with ports.tls"}},
		{name: "no location without geoip", file: "relays:\n" + strings.Replace(strings.Replace(entry("a-1"), "    latitude: 50\n", "", 1), "    longitude: 8\n", "", 1),
			want: []string{"relays[0] (a-1) latitude: latitude and longitude required: no GeoIP database"}},
		{name: "no location geoip does not know", loc: docLocator{},
			file: "relays:\n" + strings.Replace(strings.Replace(entry("a-1"), "    latitude: 50\n", "", 1), "    longitude: 8\n", "", 1),
			want: []string{"the GeoIP database locates none of the addresses"}},
		{name: "one coordinate", loc: docLocator{}, file: "relays:\n" + strings.Replace(entry("a-1"), "    longitude: 8\n", "", 1),
			want: []string{"longitude: required"}},
		{name: "every problem, in order", file: "relays:\n" + strings.Replace(entry("a-1"), "site: fra", "site: Fra", 1) +
			strings.Replace(entry("b-1"), "latitude: 50", "latitude: 91", 1),
			want: []string{"line 4: relays[0] (a-1) site", "line 12: relays[1] (b-1) latitude"}},
		{name: "not a country", file: "relays:\n" + entry("a-1", "    country: EU"),
			want: []string{"line 9: relays[0] (a-1) country: must be an assigned ISO 3166-1 alpha-2 country code"}},
		{name: "too large", file: "relays: []\n" + strings.Repeat("#", staticrelay.MaxFileSize), want: []string{"larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := staticrelay.Parse([]byte(tt.file), tt.loc)
			var fe *staticrelay.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse() error = %v, want a *FileError", err)
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("Parse() error = %q, want %q (after offset %d)", msg, w, at)
				}
				at += i + len(w)
			}
		})
	}
}

func TestParseTooManyRelays(t *testing.T) {
	var b strings.Builder
	b.WriteString("relays:\n")
	for range staticrelay.MaxRelays + 1 {
		b.WriteString("- {}\n")
	}
	if _, err := staticrelay.Parse([]byte(b.String()), nil); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Parse(%d relays) error = %v, want at most %d", staticrelay.MaxRelays+1, err, staticrelay.MaxRelays)
	}
}

// TestExampleFile: the example in deployments/ parses, GeoIP placing the
// entry that states no coordinates.
func TestExampleFile(t *testing.T) {
	data, err := os.ReadFile("../deployments/static-relays.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := staticrelay.Parse(data, docLocator{})
	if err != nil {
		t.Fatalf("Parse(example) error = %v", err)
	}
	if len(rs) != 2 || rs[1].Location.Latitude != 50.11 || !rs[1].Drained {
		t.Errorf("Parse(example) = %+v, want 2 relays, the second located and drained", rs)
	}
}
