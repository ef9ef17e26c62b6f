package pionclient_test

import (
	"testing"
	"time"

	"github.com/relaygate/relaygate/client/pionclient"
)

// reading is one poll of a call: at ms since the start, bytes received
// so far, ICE connected or disconnected/failed, and what the detector
// must decide.
type reading struct {
	ms        int
	bytes     uint64
	connected bool
	bad       bool
	want      string
	wantMs    int // the duration the decision carries
}

func TestDetector(t *testing.T) {
	for _, tc := range []struct {
		name    string
		iceOnly bool
		polls   []reading
	}{
		{name: "no stall before the call received anything", polls: []reading{
			{ms: 0}, {ms: 1000}, {ms: 5000, bad: true}, {ms: 6000, bad: true},
		}},
		{name: "silence for the window stalls once, progress recovers", polls: []reading{
			{ms: 0, bytes: 100}, {ms: 150, bytes: 200}, {ms: 300, bytes: 200}, {ms: 449, bytes: 200},
			{ms: 450, bytes: 200, want: "stalled", wantMs: 300},
			{ms: 600, bytes: 200}, {ms: 900, bytes: 200},
			{ms: 1050, bytes: 250, want: "recovered", wantMs: 900},
			{ms: 1200, bytes: 300},
		}},
		{name: "a restart that does not recover is retried after the timeout", polls: []reading{
			{ms: 0, bytes: 1}, {ms: 300, bytes: 1, want: "stalled", wantMs: 300}, {ms: 2300, bytes: 1}, {ms: 2301, bytes: 1, want: "retry", wantMs: 2301},
			{ms: 2400, bytes: 1}, {ms: 4302, bytes: 1, want: "retry", wantMs: 4302}, {ms: 4400, bytes: 9, want: "recovered", wantMs: 4400},
		}},
		{name: "ICE disconnected for the window stalls even while bytes trickle", polls: []reading{
			{ms: 0, bytes: 1}, {ms: 100, bytes: 2, bad: true}, {ms: 200, bytes: 3, bad: true}, {ms: 350, bytes: 4, bad: true},
			{ms: 400, bytes: 4, bad: true, want: "stalled", wantMs: 50},
		}},
		{name: "ICE only: silence is no stall, a lost connection is", iceOnly: true, polls: []reading{
			{ms: 0, connected: true}, {ms: 5000}, {ms: 5100, bad: true}, {ms: 5399, bad: true},
			{ms: 5400, bad: true, want: "stalled", wantMs: 5400}, {ms: 5600}, {ms: 6000, connected: true, want: "recovered", wantMs: 6000},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := pionclient.NewDetector(300*time.Millisecond, 2*time.Second, tc.iceOnly)
			t0 := time.Unix(1_800_000_000, 0)
			for _, r := range tc.polls {
				got, dur := d.Observe(t0.Add(time.Duration(r.ms)*time.Millisecond), r.bytes, r.connected, r.bad)
				if got != r.want || (got != "" && dur != time.Duration(r.wantMs)*time.Millisecond) {
					t.Fatalf("at %d ms: %q %v; want %q %d ms", r.ms, got, dur, r.want, r.wantMs)
				}
			}
		})
	}
}
