package wire

import (
	"math"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// RelayState is openapi.yaml's RelayState: the selector's view of a relay,
// relay.State's values (see relay.Relay.State).
type RelayState = relay.State

// RelayStatus is openapi.yaml's RelayStatus: one relay of the registry as
// operators see it (GET /v1/relays/{id}, the drain operations, and each
// entry of RelayList). Ports is relay.Ports, written as an object keyed by
// transport name in the order of relay's transport table.
type RelayStatus struct {
	ID                  string        `json:"id"`
	Region              string        `json:"region"`
	Site                string        `json:"site"`
	Latitude            float64       `json:"latitude"`
	Longitude           float64       `json:"longitude"`
	Country             relay.Country `json:"country,omitempty"` // zero (left out) when unknown
	Addresses           []string      `json:"addresses"`
	Hostname            string        `json:"hostname,omitempty"`
	Ports               relay.Ports   `json:"ports"`
	Capacity            Resources     `json:"capacity"` // 0: no limit declared
	Load                Resources     `json:"load"`
	Draining            bool          `json:"draining"` // the relay's own report
	Drained             bool          `json:"drained"`  // the operator's mark
	Version             string        `json:"version,omitempty"`
	LastSeen            time.Time     `json:"last_seen"`
	ExpiresAt           time.Time     `json:"expires_at"`
	HeartbeatAgeSeconds float64       `json:"heartbeat_age_seconds"`
	State               RelayState    `json:"state"`
	Probe               *Probe        `json:"probe,omitempty"`  // nil when not probed
	Static              bool          `json:"static,omitempty"` // listed in the gateway's static relays file; never heartbeats
}

// Probe is openapi.yaml's Probe: the gateway's latest STUN probe figures
// for a relay. The gateway states every figure; durations are in
// milliseconds to 0.01 ms.
type Probe struct {
	RTTMs    float64      `json:"rtt_ms"`     // smoothed
	MinRTTMs float64      `json:"min_rtt_ms"` // over the probe window
	JitterMs float64      `json:"jitter_ms"`
	Loss     float64      `json:"loss"` // fraction lost, [0, 1]
	Health   relay.Health `json:"health"`
	ProbedAt time.Time    `json:"probed_at"`
}

// RelayList is openapi.yaml's RelayList, GET /v1/relays' answer.
type RelayList struct {
	Relays []RelayStatus `json:"relays"` // sorted by ID
}

// NewRelayStatus is r as operators see it at now: times in UTC, the
// heartbeat's age to the millisecond, probe figures only when r was probed.
func NewRelayStatus(r relay.Relay, now time.Time) RelayStatus {
	st := RelayStatus{
		ID: r.ID, Region: r.Region, Site: r.Site,
		Latitude: r.Location.Latitude, Longitude: r.Location.Longitude, Country: r.Country,
		Addresses: make([]string, 0, len(r.Addresses)),
		Hostname:  r.Hostname,
		Ports:     r.Ports,
		Capacity:  Resources{Allocations: r.Capacity.Allocations, BandwidthBPS: r.Capacity.BandwidthBPS},
		Load:      Resources{Allocations: r.Load.Allocations, BandwidthBPS: r.Load.BandwidthBPS},
		Draining:  r.Draining, Drained: r.Drained, Version: r.Version, Static: r.Static,
		LastSeen: r.LastSeen.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		HeartbeatAgeSeconds: math.Round(max(now.Sub(r.LastSeen), 0).Seconds()*1000) / 1000,
	}
	for _, a := range r.Addresses {
		st.Addresses = append(st.Addresses, a.String())
	}
	if p := r.Probe; p.Health != relay.HealthUnknown {
		st.Probe = &Probe{RTTMs: millis(p.RTT), MinRTTMs: millis(p.MinRTT), JitterMs: millis(p.Jitter),
			Loss: p.Loss, Health: p.Health, ProbedAt: p.ProbedAt.UTC()}
	}
	st.State = r.State()
	return st
}

// NewRelayList is the registry rs as operators see it at now, in rs's
// order; never a nil list.
func NewRelayList(rs []relay.Relay, now time.Time) RelayList {
	out := RelayList{Relays: make([]RelayStatus, 0, len(rs))}
	for _, r := range rs {
		out.Relays = append(out.Relays, NewRelayStatus(r, now))
	}
	return out
}

// millis is d in milliseconds, rounded to 0.01 ms.
func millis(d time.Duration) float64 { return math.Round(d.Seconds()*1e5) / 100 }
