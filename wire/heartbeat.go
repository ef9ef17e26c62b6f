package wire

import (
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/relaygate/relaygate/relay"
)

// MaxAddresses bounds a relay's advertised addresses (Heartbeat.addresses):
// a credentials answer carries a URL per address and transport.
const MaxAddresses = 16

// Heartbeat is openapi.yaml's Heartbeat, the body of PUT /v1/relays/{id}:
// what a relay node reports about itself. Latitude and Longitude are
// pointers so that a missing coordinate is told from 0; Capacity and Load
// may be absent.
//
// The yaml tags are the static relays file's (staticrelay): the fields an
// operator states, under their JSON names. What only a live relay reports
// (load, draining, version, usage) has none, so such a file refuses it as
// an unknown key.
type Heartbeat struct {
	Region    string     `json:"region" yaml:"region"`
	Site      string     `json:"site" yaml:"site"`
	Latitude  *float64   `json:"latitude" yaml:"latitude"`
	Longitude *float64   `json:"longitude" yaml:"longitude"`
	Country   string     `json:"country,omitempty" yaml:"country"` // ISO 3166-1 alpha-2; absent: the gateway asks GeoIP
	Addresses []string   `json:"addresses" yaml:"addresses"`
	Hostname  string     `json:"hostname,omitempty" yaml:"hostname"`
	Ports     Ports      `json:"ports" yaml:"ports"`
	Capacity  *Resources `json:"capacity,omitempty" yaml:"capacity"`
	Load      *Resources `json:"load,omitempty" yaml:"-"`
	Draining  bool       `json:"draining" yaml:"-"`
	// Drained is the operator's drain mark as the gateway's last answer
	// gave it (HeartbeatAck.Drained), reasserted so that the mark survives
	// the registry losing its data; the registry's own mark wins while it
	// knows the relay. In a static relays file: listed, never selected.
	Drained bool   `json:"drained,omitempty" yaml:"drained"`
	Version string `json:"version,omitempty" yaml:"-"`
	// Usage is what the relay carried per pseudonym since its last
	// acknowledged report; absent when it has nothing to report.
	Usage *UsageReport `json:"usage,omitempty" yaml:"-"`
}

// Ports is openapi.yaml's Ports as a request carries it: TURN listening
// ports by transport name, a transport the relay lacks left out. It is a
// map so that a name the gateway does not know, or a port out of range,
// reaches Heartbeat.Validate, which names it. Answers carry relay.Ports,
// whose JSON form is the same object written from relay's transport table.
type Ports map[string]int

// Resources is openapi.yaml's Resources: TURN allocations and relayed
// bandwidth, what a relay can take (capacity) or carries now (load).
type Resources struct {
	Allocations  int64 `json:"allocations" yaml:"allocations"`
	BandwidthBPS int64 `json:"bandwidth_bps" yaml:"bandwidth_bps"` // bits per second
}

// HeartbeatAck is openapi.yaml's HeartbeatAck, the answer to a heartbeat.
type HeartbeatAck struct {
	TTLSeconds               int  `json:"ttl_seconds"`                // the relay vanishes unless it heartbeats within this
	HeartbeatIntervalSeconds int  `json:"heartbeat_interval_seconds"` // send the next heartbeat after this
	Drained                  bool `json:"drained"`                    // an operator drained the relay: reassert it in Heartbeat.Drained
	// Revocations are the users revoked now, by pseudonym (at most
	// gateway.MaxRelayRevocations, newest first): the relay refuses them
	// and ends their allocations. The list replaces the last one; absent
	// is none.
	Revocations []RelayRevocation `json:"revocations,omitempty"`
	// RevocationsTruncated says Revocations leaves older ones out.
	RevocationsTruncated bool `json:"revocations_truncated,omitempty"`
	// UsageAck is the seq of the heartbeat's usage report, once the
	// gateway has counted it; absent (0) when there was none or it could
	// not be counted now (the relay sends it again).
	UsageAck uint64 `json:"usage_ack,omitempty"`
}

// Validate returns the heartbeat's invalid fields, in the order of its
// members; none when it is valid.
func (h Heartbeat) Validate() []FieldError {
	var fe []FieldError
	add := func(field, msg string) { fe = append(fe, FieldError{Field: field, Message: msg}) }
	for _, f := range []struct{ name, v string }{{"region", h.Region}, {"site", h.Site}} {
		if !ValidSlug(f.v) {
			add(f.name, "required: 1-63 lowercase letters, digits or '-', starting with a letter or digit")
		}
	}
	if h.Latitude == nil || math.IsNaN(*h.Latitude) || *h.Latitude < -90 || *h.Latitude > 90 {
		add("latitude", "required: a number in [-90, 90]")
	}
	if h.Longitude == nil || math.IsNaN(*h.Longitude) || *h.Longitude < -180 || *h.Longitude > 180 {
		add("longitude", "required: a number in [-180, 180]")
	}
	if h.Country != "" {
		if _, err := relay.ParseCountry(h.Country); err != nil {
			add("country", CountryMessage)
		}
	}
	switch {
	case len(h.Addresses) == 0:
		add("addresses", "required: 1 to 16 IP addresses")
	case len(h.Addresses) > MaxAddresses:
		add("addresses", "at most 16 IP addresses")
	default:
		seen := map[netip.Addr]bool{}
		for i, s := range h.Addresses {
			a, err := netip.ParseAddr(s)
			field := fmt.Sprintf("addresses[%d]", i)
			switch {
			case err != nil || a.Zone() != "":
				add(field, "must be an IPv4 or IPv6 address without zone")
			case a.Is4In6():
				add(field, "must be a plain IPv4 address, not IPv4-mapped IPv6")
			case a.IsUnspecified() || a.IsMulticast():
				add(field, "must be a unicast address")
			case seen[a]:
				add(field, "duplicate address")
			}
			seen[a] = true
		}
	}
	if h.Hostname != "" && !validHostname(h.Hostname) {
		add("hostname", "must be a DNS name")
	}
	if len(h.Ports) == 0 {
		add("ports", "required: at least one of "+transportNames)
	}
	for _, name := range slices.Sorted(maps.Keys(h.Ports)) {
		t, ok := relay.ParseTransport(name)
		switch {
		case !ok:
			add("ports."+truncate(name, 16), "not a transport: one of "+transportNames)
		case h.Ports[name] < 1 || h.Ports[name] > 65535:
			add("ports."+name, "must be a port in 1-65535")
		case t.NeedsHostname() && h.Hostname == "":
			add("hostname", "required with ports."+name+": "+t.Scheme()+": URLs name the certificate's host")
		}
	}
	for _, a := range []struct {
		name string
		v    *Resources
	}{{"capacity", h.Capacity}, {"load", h.Load}} {
		if a.v == nil {
			continue
		}
		if a.v.Allocations < 0 {
			add(a.name+".allocations", "must be >= 0")
		}
		if a.v.BandwidthBPS < 0 {
			add(a.name+".bandwidth_bps", "must be >= 0")
		}
	}
	if len(h.Version) > 64 || strings.ContainsFunc(h.Version, func(r rune) bool { return r < ' ' || r > '~' }) {
		add("version", "at most 64 printable ASCII characters")
	}
	if h.Usage != nil {
		h.Usage.validate("usage", add)
	}
	return fe
}

// Relay is the registry's value for relay id as a valid heartbeat (one
// Validate accepts) describes it: the hostname lower-cased without a
// trailing dot, absent capacity or load as zero, Drained the relay's
// reassertion of its drain mark (see store.Registry.Heartbeat). What Validate would refuse
// is left out rather than trusted.
func (h Heartbeat) Relay(id string) relay.Relay {
	r := relay.Relay{
		ID: id, Region: h.Region, Site: h.Site,
		Hostname: strings.ToLower(strings.TrimSuffix(h.Hostname, ".")),
		Ports:    h.Ports.Relay(),
		Draining: h.Draining, Drained: h.Drained, Version: h.Version,
	}
	r.Country, _ = relay.ParseCountry(h.Country) // unknown when absent or invalid
	if h.Latitude != nil && h.Longitude != nil {
		r.Location = relay.Location{Latitude: *h.Latitude, Longitude: *h.Longitude}
	}
	for _, s := range h.Addresses {
		if a, err := netip.ParseAddr(s); err == nil {
			r.Addresses = append(r.Addresses, a)
		}
	}
	if h.Capacity != nil {
		r.Capacity = relay.Capacity{Allocations: h.Capacity.Allocations, BandwidthBPS: h.Capacity.BandwidthBPS}
	}
	if h.Load != nil {
		r.Load = relay.Load{Allocations: h.Load.Allocations, BandwidthBPS: h.Load.BandwidthBPS}
	}
	return r
}

// NewHeartbeat is the heartbeat a relay node sends to describe r (its ID
// goes in the path, not the body). Capacity and load are always stated.
func NewHeartbeat(r relay.Relay) Heartbeat {
	lat, lon := r.Location.Latitude, r.Location.Longitude
	h := Heartbeat{
		Region: r.Region, Site: r.Site, Latitude: &lat, Longitude: &lon, Country: r.Country.String(),
		Addresses: make([]string, 0, len(r.Addresses)),
		Hostname:  r.Hostname,
		Ports:     PortsOf(r.Ports),
		Capacity:  &Resources{Allocations: r.Capacity.Allocations, BandwidthBPS: r.Capacity.BandwidthBPS},
		Load:      &Resources{Allocations: r.Load.Allocations, BandwidthBPS: r.Load.BandwidthBPS},
		Draining:  r.Draining, Drained: r.Drained, Version: r.Version,
	}
	for _, a := range r.Addresses {
		h.Addresses = append(h.Addresses, a.String())
	}
	return h
}

// PortsOf is p keyed by transport name, the transports p does not offer
// left out.
func PortsOf(p relay.Ports) Ports {
	out := make(Ports, relay.NumTransports)
	for _, t := range relay.Transports() {
		if port := p.Port(t); port > 0 {
			out[t.String()] = int(port)
		}
	}
	return out
}

// Relay is p indexed by relay's transports; names that are no transport
// and ports out of range (which Heartbeat.Validate refuses) are left out.
func (p Ports) Relay() relay.Ports {
	ports, _ := relay.PortsByName(p) // the error says what was left out
	return ports
}
