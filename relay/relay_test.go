package relay

import (
	"encoding/json"
	"testing"
)

func TestTransportTable(t *testing.T) {
	for _, tr := range Transports() {
		got, ok := ParseTransport(tr.String())
		if !ok || got != tr {
			t.Errorf("ParseTransport(%q) = %v, %v; want %v", tr.String(), got, ok, tr)
		}
	}
	if _, ok := ParseTransport("sctp"); ok {
		t.Error(`ParseTransport("sctp") succeeded`)
	}
	if Transport(NumTransports).Valid() {
		t.Error("Transport(NumTransports).Valid() = true")
	}
	want := map[Transport][3]string{UDP: {"udp", "turn", "udp"}, TCP: {"tcp", "turn", "tcp"}, TLS: {"tls", "turns", "tcp"}}
	for tr, w := range want {
		if got := [3]string{tr.String(), tr.Scheme(), tr.Query()}; got != w {
			t.Errorf("%v: name, scheme, query = %v, want %v", tr, got, w)
		}
	}
	if UDP.NeedsHostname() || TCP.NeedsHostname() || !TLS.NeedsHostname() {
		t.Error("only TLS needs a hostname")
	}
}

func TestTransportJSON(t *testing.T) {
	b, err := json.Marshal([]Transport{UDP, TLS})
	if err != nil || string(b) != `["udp","tls"]` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var ts []Transport
	if err := json.Unmarshal([]byte(`["tcp"]`), &ts); err != nil || len(ts) != 1 || ts[0] != TCP {
		t.Fatalf("Unmarshal = %v, %v", ts, err)
	}
	if err := json.Unmarshal([]byte(`["quic"]`), &ts); err == nil {
		t.Fatal("Unmarshal of an unknown transport succeeded")
	}
}

func TestOffers(t *testing.T) {
	r := Relay{Ports: Ports{UDP: 3478, TLS: 5349}}
	if !r.Offers(UDP) || r.Offers(TCP) {
		t.Error("Offers follows the ports")
	}
	if r.Offers(TLS) {
		t.Error("TLS without a hostname is not offered")
	}
	r.Hostname = "relay.example"
	if !r.Offers(TLS) {
		t.Error("TLS with a hostname is offered")
	}
}

func TestState(t *testing.T) {
	full := Relay{Capacity: Capacity{Allocations: 1}, Load: Load{Allocations: 1}}
	tests := []struct {
		name string
		r    Relay
		want State
	}{
		{"available", Relay{}, StateAvailable},
		{"degraded", Relay{Probe: Probe{Health: HealthDegraded}}, StateDegraded},
		{"full", full, StateFull},
		{"down beats full", func() Relay { r := full; r.Probe.Health = HealthDown; return r }(), StateDown},
		{"draining beats down", Relay{Draining: true, Probe: Probe{Health: HealthDown}}, StateDraining},
		{"drained beats draining", Relay{Drained: true, Draining: true}, StateDrained},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.State(); got != tt.want {
				t.Errorf("State() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPortsJSON(t *testing.T) {
	b, err := json.Marshal(Ports{UDP: 3478, TLS: 5349})
	if err != nil || string(b) != `{"udp":3478,"tls":5349}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var p Ports
	if err := json.Unmarshal([]byte(`{"tls":5349,"udp":3478,"quic":443}`), &p); err != nil || p != (Ports{UDP: 3478, TLS: 5349}) {
		t.Fatalf("Unmarshal = %v, %v; want udp and tls, the unknown transport ignored", p, err)
	}
	for _, bad := range []string{`{"udp":0}`, `{"tcp":65536}`, `{"udp":-1}`, `[]`, `{"udp":"x"}`} {
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}
