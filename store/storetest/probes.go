package storetest

import (
	"errors"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
)

// upProbe returns a healthy probe view taken at at, every field set.
func upProbe(at time.Time) relay.Probe {
	return relay.Probe{
		Health:   relay.HealthUp,
		RTT:      12_345_678 * time.Nanosecond,
		MinRTT:   11 * time.Millisecond,
		Jitter:   1_500 * time.Microsecond,
		Loss:     0.0125,
		ProbedAt: at,
	}
}

func (e *env) recordProbes(probes map[string]relay.Probe) {
	e.t.Helper()
	if err := e.s.RecordProbes(e.t.Context(), probes); err != nil {
		e.t.Fatalf("RecordProbes() error = %v", err)
	}
}

// wantProbe fails unless relay id, read through Relay and Relays, carries
// the probe view want.
func (e *env) wantProbe(id string, want relay.Probe) {
	e.t.Helper()
	check := func(what string, got relay.Probe) {
		e.t.Helper()
		w := want
		if !got.ProbedAt.Equal(w.ProbedAt) {
			e.t.Fatalf("%s(%q).Probe.ProbedAt = %v, want %v", what, id, got.ProbedAt, w.ProbedAt)
		}
		got.ProbedAt, w.ProbedAt = time.Time{}, time.Time{}
		if got != w {
			e.t.Fatalf("%s(%q).Probe = %+v, want %+v", what, id, got, want)
		}
	}
	check("Relay", e.relay(id).Probe)
	for _, r := range e.relays() {
		if r.ID == id {
			check("Relays", r.Probe)
			return
		}
	}
	e.t.Fatalf("Relays() has no %q", id)
}

var probeTests = []test{
	{name: "probe view fills relay and relays", run: func(e *env) {
		e.heartbeat(Fra1())
		e.heartbeat(smallRelay("ams-2"))
		e.wantProbe("fra-1", relay.Probe{})
		p := upProbe(T0.Add(-time.Second))
		e.recordProbes(map[string]relay.Probe{"fra-1": p})
		e.wantProbe("fra-1", p)
		e.wantProbe("ams-2", relay.Probe{})
		wantRelay(e.t, "Relay without its probe", func() relay.Relay {
			r := e.relay("fra-1")
			r.Probe = relay.Probe{}
			return r
		}(), stamped(Fra1(), T0, false))
	}},
	{name: "heartbeats neither carry nor clear probe views", run: func(e *env) {
		r := Fra1()
		r.Probe = upProbe(T0) // a relay cannot report its own probe
		e.heartbeat(r)
		e.wantProbe("fra-1", relay.Probe{})
		p := upProbe(T0)
		e.recordProbes(map[string]relay.Probe{"fra-1": p})
		e.clock.Advance(time.Second)
		e.heartbeat(Fra1())
		e.wantProbe("fra-1", p)
	}},
	{name: "record probes replaces only the views it names", run: func(e *env) {
		e.heartbeat(Fra1())
		e.heartbeat(smallRelay("ams-2"))
		first, ams := upProbe(T0), upProbe(T0)
		ams.Health, ams.Loss = relay.HealthDegraded, 0.05
		e.recordProbes(map[string]relay.Probe{"fra-1": first, "ams-2": ams})
		e.clock.Advance(5 * time.Second)
		second := relay.Probe{Health: relay.HealthDown, Loss: 1, ProbedAt: T0.Add(5 * time.Second)}
		e.recordProbes(map[string]relay.Probe{"fra-1": second})
		e.wantProbe("fra-1", second)
		e.wantProbe("ams-2", ams)
		e.recordProbes(nil) // nothing to record is fine
		e.wantProbe("fra-1", second)
	}},
	{name: "probe views older than the max age read as zero", run: func(e *env) {
		p := upProbe(T0)
		e.heartbeat(Fra1())
		e.recordProbes(map[string]relay.Probe{"fra-1": p})
		e.clock.Set(T0.Add(store.ProbeMaxAge))
		e.heartbeat(Fra1())
		e.wantProbe("fra-1", p)
		e.clock.Set(T0.Add(store.ProbeMaxAge + time.Nanosecond))
		e.wantProbe("fra-1", relay.Probe{})
		fresh := upProbe(T0.Add(store.ProbeMaxAge))
		e.recordProbes(map[string]relay.Probe{"fra-1": fresh})
		e.wantProbe("fra-1", fresh)
	}},
	{name: "invalid probes are rejected", run: func(e *env) {
		e.heartbeat(Fra1())
		for name, probes := range map[string]map[string]relay.Probe{
			"empty relay id": {"": upProbe(T0)},
			"no probed-at":   {"fra-1": {Health: relay.HealthUp}},
		} {
			if err := e.s.RecordProbes(e.t.Context(), probes); !errors.Is(err, store.ErrInvalid) {
				e.t.Errorf("RecordProbes(%s) error = %v, want ErrInvalid", name, err)
			}
		}
		e.wantProbe("fra-1", relay.Probe{})
	}},
}
