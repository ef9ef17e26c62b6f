package staticrelay_test

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/staticrelay"
	"github.com/relaygate/relaygate/wire"
)

// render writes rs back as a static relays file, every field stated.
func render(t *testing.T, rs []relay.Relay) []byte {
	t.Helper()
	entries := make([]map[string]any, len(rs))
	for i, r := range rs {
		h := wire.NewHeartbeat(r)
		e := map[string]any{"id": r.ID, "region": h.Region, "site": h.Site, "latitude": *h.Latitude, "longitude": *h.Longitude,
			"addresses": h.Addresses, "ports": map[string]int(h.Ports), "drained": r.Drained,
			"capacity": map[string]int64{"allocations": h.Capacity.Allocations, "bandwidth_bps": h.Capacity.BandwidthBPS}}
		if h.Hostname != "" {
			e["hostname"] = h.Hostname
		}
		if h.Country != "" {
			e["country"] = h.Country
		}
		entries[i] = e
	}
	b, err := yaml.Marshal(map[string]any{"relays": entries})
	if err != nil {
		t.Fatalf("yaml.Marshal() error = %v", err)
	}
	return b
}

// FuzzParse: any input gives relays or a *FileError, never a panic or a
// hang; what it accepts is valid (a relay ID each, unique, an address, a
// UDP port to probe, a location) and reads back the same when written out
// again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(twoRelays))
	f.Add([]byte("relays: []\n"))
	f.Add([]byte("relays:\n" + entry("a-1") + entry("a-1")))
	f.Add([]byte("relays:\n" + entry("a-1", "    load: {allocations: 3}")))
	f.Add([]byte("relays: &a [*a]\n"))
	f.Add([]byte("relays:\n  - id: x\n    addresses: [198.51.100.9]\n    region: r\n    site: s\n    ports: {udp: 1}\n"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nrelays: [*b, *b]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := staticrelay.Parse(data, docLocator{})
		if err != nil {
			if _, ok := err.(*staticrelay.FileError); !ok { //nolint:errorlint // Parse returns it unwrapped
				t.Fatalf("Parse() error = %T %v, want a *FileError", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range rs {
			if !wire.ValidSlug(r.ID) || seen[r.ID] || len(r.Addresses) == 0 || r.Ports[relay.UDP] == 0 || !r.Static {
				t.Fatalf("Parse() accepted %+v", r)
			}
			seen[r.ID] = true
		}
		again, err := staticrelay.Parse(render(t, rs), nil)
		if err != nil {
			t.Fatalf("Parse(render(Parse(data))) error = %v", err)
		}
		if !reflect.DeepEqual(again, rs) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", again, rs)
		}
	})
}
