package relay

import (
	"fmt"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func ms(x float64) Measurement {
	return Measurement{RelayID: "fra-1", RTT: time.Duration(x * float64(time.Millisecond))}
}

// report folds one report per reporter, each at its RTT, a second apart.
func report(a Aggregate, cfg AggregateConfig, at time.Time, rtts map[string]float64) Aggregate {
	for id, rtt := range rtts {
		a = a.Add(id, ms(rtt), at, cfg)
		at = at.Add(time.Second)
	}
	return a
}

func TestAggregateTrustsDistinctReportersOnly(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	var a Aggregate
	for i := range 1000 {
		a = a.Add("mallory", ms(1), t0.Add(time.Duration(i)*time.Millisecond), cfg)
	}
	if m, ok := a.Trusted("fra-1", t0.Add(time.Second), cfg); ok {
		t.Fatalf("one reporter, 1000 reports: Trusted() = %+v, true; want untrusted", m)
	}
	if n := a.Counted(t0.Add(time.Second), cfg); n != 1 || a.Samples != 1000 || len(a.Reporters) != 1 {
		t.Fatalf("Counted() = %d, Samples = %d, %d reporters; want 1, 1000, 1", n, a.Samples, len(a.Reporters))
	}
	a = a.Add("alice", ms(40), t0.Add(2*time.Second), cfg)
	if _, ok := a.Trusted("fra-1", t0.Add(2*time.Second), cfg); ok {
		t.Fatalf("two reporters: trusted, want untrusted below MinReporters %d", cfg.MinReporters)
	}
	a = a.Add("bob", ms(50), t0.Add(3*time.Second), cfg)
	m, ok := a.Trusted("fra-1", t0.Add(3*time.Second), cfg)
	if !ok || m.RTT != 40*time.Millisecond || m.RelayID != "fra-1" {
		t.Fatalf("three reporters at 1, 40, 50 ms: Trusted() = %+v, %v; want the median, 40 ms", m, ok)
	}
}

func TestAggregateMedianResistsOneReporter(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	tests := []struct {
		name string
		rtts map[string]float64
		want float64 // ms
	}{
		{"slow liar", map[string]float64{"a": 20, "b": 30, "liar": 60000}, 30},
		{"fast liar", map[string]float64{"a": 20, "b": 30, "liar": 0}, 20},
		{"even count: mean of the middle two", map[string]float64{"a": 20, "b": 30, "c": 40, "liar": 60000}, 35},
		{"out of range figures are clamped", map[string]float64{"a": 20, "b": 30, "liar": 1e12}, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Aggregate
			// The liar reports a hundred times: it still has one say.
			for i := range 100 {
				a = a.Add("liar", ms(tt.rtts["liar"]), t0.Add(time.Duration(i)*time.Millisecond), cfg)
			}
			a = report(a, cfg, t0.Add(time.Second), tt.rtts)
			m, ok := a.Trusted("fra-1", t0.Add(time.Minute), cfg)
			if !ok || math.Abs(float64(m.RTT)/1e6-tt.want) > 1e-6 {
				t.Errorf("Trusted() = %v, %v; want %v ms", m.RTT, ok, tt.want)
			}
		})
	}
}

func TestAggregateLossIsAMedianToo(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	var a Aggregate
	for i, l := range []float64{0.01, 0.02, 1} {
		a = a.Add(fmt.Sprint(i), Measurement{RelayID: "fra-1", RTT: 20 * time.Millisecond, Loss: l}, t0, cfg)
	}
	if m, ok := a.Trusted("fra-1", t0, cfg); !ok || m.Loss != 0.02 {
		t.Errorf("Trusted().Loss = %v, %v; want 0.02", m.Loss, ok)
	}
}

func TestAggregateKeepsAFewRecentReporters(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	var a Aggregate
	for i := range 3 * MaxReporters {
		a = a.Add(fmt.Sprintf("r%02d", i), ms(float64(i)), t0.Add(time.Duration(i)*time.Second), cfg)
	}
	if len(a.Reporters) != MaxReporters {
		t.Fatalf("%d reporters kept, want %d", len(a.Reporters), MaxReporters)
	}
	for i, r := range a.Reporters {
		if want := fmt.Sprintf("r%02d", 2*MaxReporters+i); r.ID != want {
			t.Fatalf("Reporters[%d] = %s, want %s: the most recent, in the order first heard", i, r.ID, want)
		}
	}
	// A reporter heard again is not the one to go.
	a = a.Add(a.Reporters[0].ID, ms(1), t0.Add(time.Hour), cfg)
	kept := a.Reporters[0].ID
	a = a.Add("newcomer", ms(1), t0.Add(time.Hour+time.Second), cfg)
	if a.Reporters[0].ID != kept || a.Reporters[len(a.Reporters)-1].ID != "newcomer" || len(a.Reporters) != MaxReporters {
		t.Fatalf("after a newcomer: first %s, last %s, %d kept; want %s kept, newcomer last", a.Reporters[0].ID, a.Reporters[len(a.Reporters)-1].ID, len(a.Reporters), kept)
	}
}

func TestAggregateForgetsReportersPastMaxAge(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	a := report(Aggregate{}, cfg, t0, map[string]float64{"a": 20, "b": 20})
	late := t0.Add(cfg.MaxAge + time.Minute)
	a = a.Add("c", ms(20), late, cfg)
	if len(a.Reporters) != 1 || a.Counted(late, cfg) != 1 {
		t.Fatalf("after MaxAge: %d reporters stored, %d counted; want 1, 1", len(a.Reporters), a.Counted(late, cfg))
	}
	b := report(Aggregate{}, cfg, t0, map[string]float64{"a": 20, "b": 20, "c": 20})
	if _, ok := b.Trusted("fra-1", t0.Add(cfg.MaxAge), cfg); !ok {
		t.Error("untrusted at MaxAge, want trusted up to it")
	}
	if _, ok := b.Trusted("fra-1", t0.Add(cfg.MaxAge+3*time.Second), cfg); ok {
		t.Error("still trusted past every reporter's MaxAge")
	}
}

func TestAggregateReporterMeanDecays(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	a := Aggregate{}.Add("a", ms(20), t0, cfg)
	a = a.Add("a", Measurement{RelayID: "fra-1", RTT: 40 * time.Millisecond, Loss: 0.1}, t0.Add(time.Minute), cfg)
	r := a.Reporters[0]
	if r.RTTMillis <= 30 || r.RTTMillis >= 40 || r.Loss <= 0 || r.Weight <= 1 || r.Weight >= 2 {
		t.Fatalf("reporter after 20 then 40 ms = %+v; want a blend nearer the newer sample, weight in (1, 2)", r)
	}
	b := a.Add("a", ms(100), t0.Add(5*cfg.HalfLife), cfg)
	if b.Reporters[0].RTTMillis < 90 {
		t.Errorf("after a long gap the mean is %.1f ms, want the new sample to dominate", b.Reporters[0].RTTMillis)
	}
	// Out-of-order samples keep the newer stamp.
	c := b.Add("a", ms(100), t0, cfg)
	if !c.Updated.Equal(t0.Add(5*cfg.HalfLife)) || !c.Reporters[0].Updated.Equal(t0.Add(5*cfg.HalfLife)) {
		t.Errorf("an older sample moved Updated to %v", c.Updated)
	}
}

func TestAggregateAddDoesNotAlias(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	a := report(Aggregate{}, cfg, t0, map[string]float64{"a": 20, "b": 30})
	before := a.Reporters[0]
	_ = a.Add(before.ID, ms(500), t0.Add(time.Minute), cfg)
	if a.Reporters[0] != before {
		t.Errorf("Add changed the old aggregate's reporter: %+v, was %+v", a.Reporters[0], before)
	}
}

func TestAggregateOwnFigures(t *testing.T) {
	cfg := AggregateConfig{}.WithDefaults()
	a := report(Aggregate{}, cfg, t0, map[string]float64{"a": 20, "b": 30})
	m, ok := a.Own("b", "fra-1", t0.Add(time.Minute), cfg)
	if !ok || m.RTT != 30*time.Millisecond || m.RelayID != "fra-1" {
		t.Errorf("Own(b) = %+v, %v; want b's own 30 ms", m, ok)
	}
	if _, ok := a.Own("c", "fra-1", t0, cfg); ok {
		t.Error("Own(c) found figures c never reported")
	}
	if _, ok := a.Own("a", "fra-1", t0.Add(cfg.MaxAge+time.Minute), cfg); ok {
		t.Error("Own(a) past MaxAge found figures")
	}
}

func TestMeasurementClamp(t *testing.T) {
	tests := []struct {
		m         Measurement
		rtt, loss float64
	}{
		{Measurement{RTT: -time.Second, Loss: -1}, 0, 0},
		{Measurement{RTT: time.Hour, Loss: 2}, 60000, 1},
		{Measurement{RTT: 1500 * time.Microsecond, Loss: math.NaN()}, 1.5, 0},
	}
	for _, tt := range tests {
		if rtt, loss := tt.m.Clamp(); rtt != tt.rtt || loss != tt.loss {
			t.Errorf("Clamp(%+v) = %v, %v; want %v, %v", tt.m, rtt, loss, tt.rtt, tt.loss)
		}
	}
}

func BenchmarkTrusted(b *testing.B) {
	cfg := AggregateConfig{}.WithDefaults()
	var a Aggregate
	for i := range MaxReporters {
		a = a.Add(fmt.Sprint(i), ms(float64(20+i)), t0, cfg)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := a.Trusted("fra-1", t0, cfg); !ok {
			b.Fatal("untrusted")
		}
	}
}

// FuzzAggregate: whatever reporters report, an aggregate keeps at most
// MaxReporters, counts each once, and a trusted figure lies within what the
// reporters it counts measured themselves.
func FuzzAggregate(f *testing.F) {
	f.Add([]byte{0, 10, 1, 20, 2, 30, 0, 255})
	f.Add([]byte{7, 0, 7, 0, 7, 0, 7, 0, 1, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := AggregateConfig{}.WithDefaults()
		var a Aggregate
		at := t0
		for i := 0; i+1 < len(in); i += 2 {
			who, rtt := fmt.Sprint(in[i]%12), float64(in[i+1])*250
			a = a.Add(who, ms(rtt), at, cfg)
			at = at.Add(time.Duration(in[i+1]) * time.Minute)
		}
		if len(a.Reporters) > MaxReporters {
			t.Fatalf("%d reporters kept, at most %d", len(a.Reporters), MaxReporters)
		}
		seen := map[string]bool{}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range a.Reporters {
			if seen[r.ID] {
				t.Fatalf("reporter %s kept twice", r.ID)
			}
			seen[r.ID] = true
			if !r.Updated.Before(at.Add(-cfg.MaxAge)) {
				lo, hi = min(lo, r.RTTMillis), max(hi, r.RTTMillis)
			}
		}
		m, ok := a.Trusted("fra-1", at, cfg)
		if n := a.Counted(at, cfg); ok != (n >= cfg.MinReporters) {
			t.Fatalf("Trusted() = %v with %d reporters counted", ok, n)
		}
		if got := float64(m.RTT) / float64(time.Millisecond); ok && (got < lo-1e-6 || got > hi+1e-6) {
			t.Fatalf("trusted RTT %v ms outside the reporters' %v..%v", got, lo, hi)
		}
	})
}
