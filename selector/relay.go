package selector

import (
	"net/netip"
	"slices"
	"time"
)

// Transport is a way to reach a TURN relay: "udp", "tcp" or "tls" (TURN over
// TLS over TCP, the turns: scheme).
type Transport string

// The transports a relay can offer, in the order URLs list them.
const (
	UDP Transport = "udp"
	TCP Transport = "tcp"
	TLS Transport = "tls"
)

// Transports lists every transport in URL order.
var Transports = []Transport{UDP, TCP, TLS}

// Valid reports whether t is one of the known transports.
func (t Transport) Valid() bool { return t == UDP || t == TCP || t == TLS }

// Location is a point on Earth in decimal degrees (WGS 84).
type Location struct {
	Latitude  float64 // [-90, 90]
	Longitude float64 // [-180, 180]
}

// Ports are a relay's listening ports; 0 means the transport is not offered.
type Ports struct {
	UDP, TCP, TLS int
}

// Port returns the port for t, 0 when the relay does not offer it.
func (p Ports) Port(t Transport) int {
	switch t {
	case UDP:
		return p.UDP
	case TCP:
		return p.TCP
	case TLS:
		return p.TLS
	}
	return 0
}

// Capacity is what a relay can carry. Zero means "not stated": the relay is
// then never considered full on that axis.
type Capacity struct {
	Allocations  int64
	BandwidthBPS int64 // bits per second
}

// Load is what a relay carries now, as it last reported.
type Load struct {
	Allocations  int64
	BandwidthBPS int64 // bits per second, in plus out
}

// Relay is one relay node as the registry knows it: what it reported in its
// last heartbeat plus what the gateway keeps about it.
type Relay struct {
	ID        string
	Region    string
	Site      string
	Location  Location
	Addresses []netip.Addr // advertised to clients, IPv4 and/or IPv6
	Hostname  string       // name on its TLS certificate; empty without TLS
	Ports     Ports
	Capacity  Capacity
	Load      Load
	Draining  bool   // the relay itself reported that it is shutting down
	Drained   bool   // an operator drained it (POST /v1/relays/{id}/drain)
	Version   string // software version it reported

	LastSeen  time.Time // when its last heartbeat arrived
	ExpiresAt time.Time // LastSeen + heartbeat TTL: past this it is gone

	Probe Probe // what this gateway's STUN probes found; zero when not probed
}

// Health is a relay's state as STUN probes see it.
type Health string

// The health states. The zero value, HealthUnknown, means not probed (yet):
// such a relay is judged by its heartbeats alone.
const (
	HealthUnknown  Health = ""
	HealthUp       Health = "up"
	HealthDegraded Health = "degraded" // answers, but slowly or lossily
	HealthDown     Health = "down"     // stopped answering: never selected
)

// Probe is the gateway's latest view of a relay from STUN probing.
type Probe struct {
	Health   Health
	RTT      time.Duration // smoothed, gateway to relay
	MinRTT   time.Duration // minimum over the probe window
	Jitter   time.Duration
	Loss     float64 // fraction of probes lost over the window
	ProbedAt time.Time
}

// Offers reports whether r listens on transport t. TLS also needs a
// hostname, since turns: URLs must name the certificate's host.
func (r *Relay) Offers(t Transport) bool {
	if t == TLS && r.Hostname == "" {
		return false
	}
	return r.Ports.Port(t) > 0
}

// Full reports whether the relay has reached a stated capacity.
func (r *Relay) Full() bool {
	return (r.Capacity.Allocations > 0 && r.Load.Allocations >= r.Capacity.Allocations) ||
		(r.Capacity.BandwidthBPS > 0 && r.Load.BandwidthBPS >= r.Capacity.BandwidthBPS)
}

// Fresh reports whether the relay's last heartbeat is still within its TTL.
func (r *Relay) Fresh(now time.Time) bool { return now.Before(r.ExpiresAt) }

// Clone returns a deep copy of r, so a caller may keep or change it without
// touching a shared snapshot.
func (r Relay) Clone() Relay {
	r.Addresses = slices.Clone(r.Addresses)
	return r
}
