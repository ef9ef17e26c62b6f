package relay

import "time"

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
