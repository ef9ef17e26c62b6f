package probe

import (
	"net/netip"
	"time"
)

// Target is one relay to probe: its ID and its STUN/TURN UDP address.
// Two relays may share an address; a relay whose address changes starts
// over with empty statistics.
type Target struct {
	RelayID string
	Addr    netip.AddrPort
}

// Health is a relay's state as seen by the prober.
type Health string

// Health states. A relay moves to HealthDown after Config.DownAfter
// consecutive misses and back only after Config.UpAfter consecutive answers;
// otherwise it is HealthDegraded when slow or lossy and HealthUp when not.
const (
	HealthUp       Health = "up"
	HealthDegraded Health = "degraded"
	HealthDown     Health = "down"
)

// Result is the prober's view of one relay. A relay appears in results once
// it has answered a probe or has been declared down.
type Result struct {
	RelayID string
	Addr    netip.AddrPort
	// RTT is the smoothed round-trip time (EWMA with gain 1/8, as RFC 6298's
	// SRTT); zero until the first answer.
	RTT time.Duration
	// MinRTT is the smallest RTT among the answered probes in the window.
	MinRTT time.Duration
	// LastRTT is the RTT of the most recent answer.
	LastRTT time.Duration
	// Jitter is the mean deviation of consecutive RTT samples, smoothed with
	// gain 1/16 as RFC 3550's interarrival jitter.
	Jitter time.Duration
	// Loss is the fraction of probes in the window that went unanswered.
	Loss   float64
	Health Health
	// Sent and Received count the probes in the window.
	Sent, Received int
	// ProbedAt is when the latest probe was answered or timed out.
	ProbedAt time.Time
}
