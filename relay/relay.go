package relay

import (
	"net/netip"
	"slices"
	"time"
)

// Location is a point on Earth in decimal degrees (WGS 84).
type Location struct {
	Latitude  float64 // [-90, 90]
	Longitude float64 // [-180, 180]
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
	ID       string
	Region   string
	Site     string
	Location Location
	// Country is where the relay is, for jurisdiction policies: what its
	// heartbeat or static entry named, else what GeoIP says of its first
	// address that it can place; zero (unknown) when neither knows.
	Country   Country
	Addresses []netip.Addr // advertised to clients, IPv4 and/or IPv6
	Hostname  string       // name on its TLS certificate; empty without TLS
	Ports     Ports
	Capacity  Capacity
	Load      Load
	Draining  bool   // the relay itself reported that it is shutting down
	Drained   bool   // an operator drained it (POST /v1/relays/{id}/drain)
	Version   string // software version it reported
	// Static marks a relay the operator listed in the gateway's static
	// relays file (a stock coturn, say) rather than one that heartbeats:
	// it never expires by the clock, reports no load, and is judged by
	// probes alone (see Down).
	Static bool

	LastSeen  time.Time // when its last heartbeat arrived
	ExpiresAt time.Time // LastSeen + heartbeat TTL: past this it is gone

	Probe Probe // what this gateway's STUN probes found; zero when not probed
}

// Offers reports whether r listens on transport t. A transport that needs a
// hostname (TLS: turns: URLs must name the certificate's host) is offered
// only when r has one.
func (r *Relay) Offers(t Transport) bool {
	if t.NeedsHostname() && r.Hostname == "" {
		return false
	}
	return r.Ports.Port(t) > 0
}

// Full reports whether the relay has reached a stated capacity.
func (r *Relay) Full() bool {
	return (r.Capacity.Allocations > 0 && r.Load.Allocations >= r.Capacity.Allocations) ||
		(r.Capacity.BandwidthBPS > 0 && r.Load.BandwidthBPS >= r.Capacity.BandwidthBPS)
}

// Down reports whether probes rule r out: they found it down, or it is
// static and no probe has found it up yet. A heartbeating relay vouches
// for itself until a probe says otherwise; a static relay has nothing but
// probes to vouch for it, so it waits for the first answer (one probe
// round after it is listed).
func (r *Relay) Down() bool {
	return r.Probe.Health == HealthDown || (r.Static && r.Probe.Health == HealthUnknown)
}

// Fresh reports whether the relay's last heartbeat is still within its TTL.
func (r *Relay) Fresh(now time.Time) bool { return now.Before(r.ExpiresAt) }

// Clone returns a deep copy of r, so a caller may keep or change it without
// touching a shared snapshot.
func (r Relay) Clone() Relay {
	r.Addresses = slices.Clone(r.Addresses)
	return r
}

// State is a relay's state as operators see it (RelayStatus.state), first
// match wins: drained (operator's mark), draining (the relay's own), down
// (probes fail, or a static relay not yet probed), full, degraded (probes show high RTT or loss), available.
func (r *Relay) State() State {
	switch {
	case r.Drained:
		return StateDrained
	case r.Draining:
		return StateDraining
	case r.Down():
		return StateDown
	case r.Full():
		return StateFull
	case r.Probe.Health == HealthDegraded:
		return StateDegraded
	default:
		return StateAvailable
	}
}

// State is a relay's state as operators see it; see Relay.State.
type State string

// The states of Relay.State. Only available and degraded relays are
// selected.
const (
	StateAvailable State = "available"
	StateDegraded  State = "degraded"
	StateFull      State = "full"
	StateDraining  State = "draining"
	StateDrained   State = "drained"
	StateDown      State = "down"
)
