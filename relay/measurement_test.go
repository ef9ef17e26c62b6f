package relay

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestAggregate(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	var a Aggregate
	for i := range cfg.MinSamples - 1 {
		a = a.Add(Measurement{RelayID: "fra-1", RTT: 20 * time.Millisecond}, t0.Add(time.Duration(i)*time.Second), cfg)
	}
	if _, ok := a.Trusted("fra-1", t0.Add(time.Minute), cfg); ok {
		t.Fatalf("trusted after %v samples, floor is %v", cfg.MinSamples-1, cfg.MinSamples)
	}
	a = a.Add(Measurement{RelayID: "fra-1", RTT: 40 * time.Millisecond, Loss: 0.1}, t0.Add(time.Minute), cfg)
	m, ok := a.Trusted("fra-1", t0.Add(time.Minute), cfg)
	if !ok || m.RTT <= 20*time.Millisecond || m.RTT >= 40*time.Millisecond || m.Loss <= 0 {
		t.Fatalf("Trusted() = %+v, %v; want a blend of 20 and 40 ms with some loss", m, ok)
	}
	// Old aggregates are dropped.
	if _, ok := a.Trusted("fra-1", t0.Add(time.Minute+cfg.MaxAge+time.Second), cfg); ok {
		t.Error("still trusted past MaxAge without a sample")
	}
	// A fresh sample after a long gap dominates the old ones.
	b := a.Add(Measurement{RelayID: "fra-1", RTT: 100 * time.Millisecond}, t0.Add(5*cfg.HalfLife), cfg)
	if b.RTTMillis < 90 {
		t.Errorf("after a long gap the mean is %.1f ms, want the new sample to dominate", b.RTTMillis)
	}
}
