package wire_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// decodeStrict decodes as the gateway does: unknown members are errors.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func TestHeartbeatRelay(t *testing.T) {
	r := ams2()
	h := wire.NewHeartbeat(r)
	if fe := h.Validate(); len(fe) > 0 {
		t.Fatalf("NewHeartbeat(ams2).Validate() = %v", fe)
	}
	got := h.Relay(r.ID)
	want := relay.Relay{ID: r.ID, Region: r.Region, Site: r.Site, Location: r.Location, Country: r.Country, Addresses: r.Addresses,
		Hostname: r.Hostname, Ports: r.Ports, Capacity: r.Capacity, Load: r.Load, Draining: r.Draining, Drained: r.Drained, Version: r.Version}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NewHeartbeat(r).Relay() = %+v\nwant what a heartbeat carries of r: %+v", got, want)
	}
	h.Hostname = "AMS-2.Relay.Example."
	if got := h.Relay("ams-2").Hostname; got != "ams-2.relay.example" {
		t.Errorf("Relay().Hostname = %q, want it lower-cased without the trailing dot", got)
	}
}

func TestPorts(t *testing.T) {
	p := relay.Ports{relay.UDP: 3478, relay.TLS: 5349}
	if got, want := wire.PortsOf(p), (wire.Ports{"udp": 3478, "tls": 5349}); !reflect.DeepEqual(got, want) {
		t.Errorf("PortsOf(%v) = %v, want %v", p, got, want)
	}
	if got := (wire.Ports{"udp": 3478, "tls": 5349, "quic": 443, "tcp": 0}).Relay(); got != p {
		t.Errorf("Relay() = %v, want %v: unknown names and bad ports left out", got, p)
	}
}

func TestMeasurementRelay(t *testing.T) {
	m := relay.Measurement{RelayID: "fra-1", RTT: 21500 * time.Microsecond, Loss: 0.25}
	if got := wire.NewMeasurement(m).Relay(); got != m {
		t.Errorf("NewMeasurement(%+v).Relay() = %+v", m, got)
	}
	if got := *wire.NewMeasurement(relay.Measurement{RTT: 2 * relay.MaxMeasuredRTT}).RTTMs; got != 60000 {
		t.Errorf("an RTT of two minutes is reported as %v ms, want the 60000 cap", got)
	}
}

func FuzzHeartbeat(f *testing.F) {
	f.Add([]byte(`{"region":"eu","site":"fra","latitude":50,"longitude":8,"addresses":["203.0.113.5"],"ports":{"udp":3478}}`))
	f.Add([]byte(`{"latitude":1e400}`))
	f.Add([]byte(`{"addresses":["::ffff:1.2.3.4","fe80::1%x"],"ports":{"tls":1}}`))
	f.Add([]byte(`{"region":"eu","site":"fra","latitude":-90,"longitude":180,"addresses":["2001:db8::5"],"hostname":"A.example.","ports":{"tls":5349,"quic":1},"version":"x"}`))
	f.Add([]byte(`{"region":"eu","site":"fra","latitude":50,"longitude":8,"addresses":["203.0.113.5"],"ports":{"udp":3478},` +
		`"usage":{"epoch":"e1","seq":1,"entries":[{"pseudonym":"p","bytes_to_peer":1,"bytes_from_peer":9007199254740992,"allocation_seconds":1.5}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var h wire.Heartbeat
		if err := decodeStrict(body, &h); err != nil {
			return
		}
		if fe := h.Validate(); len(fe) > 0 {
			return
		}
		if h.Usage != nil {
			// A valid report converts and back without loss.
			u := h.Usage.Relay()
			for i, e := range u.Entries {
				if e.AllocationTime < 0 || e.Pseudonym != h.Usage.Entries[i].Pseudonym {
					t.Fatalf("usage entry %d = %+v from %+v", i, e, h.Usage.Entries[i])
				}
			}
			if back := wire.NewUsageReport(u); len(back.Entries) != len(h.Usage.Entries) || back.Seq != h.Usage.Seq {
				t.Fatalf("usage round trip: %+v, want %+v", back, *h.Usage)
			}
		}
		r := h.Relay("x") // must not panic on anything Validate lets through
		if len(r.Addresses) != len(h.Addresses) || r.Location.Latitude < -90 || r.Location.Latitude > 90 || !r.Ports.Any() {
			t.Fatalf("validated heartbeat produced %+v", r)
		}
		// What the registry keeps, sent again, is valid and means the same.
		again := wire.NewHeartbeat(r)
		if fe := again.Validate(); len(fe) > 0 {
			t.Fatalf("NewHeartbeat(%+v).Validate() = %v", r, fe)
		}
		if r2 := again.Relay("x"); !reflect.DeepEqual(r2, r) {
			t.Fatalf("round trip: %+v, want %+v", r2, r)
		}
	})
}
