package pionclient

import (
	"time"

	"github.com/pion/transport/v5"
)

// Test hooks.
var (
	DecodeAnswer    = decodeAnswer
	ParseRetryAfter = parseRetryAfter
)

// NewSealedNet is the hardened network over base.
func NewSealedNet(base transport.Net) transport.Net { return sealedNet{base} }

// Detector is the stall detector, for tests of its decisions.
type Detector struct{ d detector }

// NewDetector is a detector with the given windows.
func NewDetector(stall, restartTimeout time.Duration, iceOnly bool) *Detector {
	return &Detector{detector{stall: stall, restartTimeout: restartTimeout, iceOnly: iceOnly}}
}

// Observe returns the action's name ("", "stalled", "retry",
// "recovered") and its duration.
func (d *Detector) Observe(now time.Time, received uint64, connected, bad bool) (string, time.Duration) {
	a, dur := d.d.observe(now, received, connected, bad)
	return [...]string{actNone: "", actStalled: "stalled", actRetry: "retry", actRecovered: "recovered"}[a], dur
}
