package relay

import (
	"cmp"
	"math"
	"time"
)

// Measurement is one client-reported round trip to a relay.
type Measurement struct {
	RelayID string
	RTT     time.Duration
	Loss    float64 // fraction lost, [0, 1]
}

// MaxMeasuredRTT caps a reported RTT wherever it is used: a minute is no
// longer a round trip, and a cap keeps sums and scores finite.
const MaxMeasuredRTT = time.Minute

// AggregateConfig says how client measurements are folded together.
type AggregateConfig struct {
	// HalfLife is how fast old samples fade: a sample this old weighs half
	// a new one; default 30 min. Routes change over hours, congestion over
	// minutes: half an hour follows the first without chasing the second.
	HalfLife time.Duration
	// MinSamples is the number of samples before an aggregate is trusted;
	// default 3, so one odd report cannot steer a whole prefix.
	MinSamples int
	// MaxAge is how long after its last sample an aggregate is still used
	// (and kept: stores drop older ones); default 2h, four half-lives, when
	// the old samples weigh a sixteenth of a new one.
	MaxAge time.Duration
}

// WithDefaults fills in the zero fields.
func (c AggregateConfig) WithDefaults() AggregateConfig {
	c.HalfLife = cmp.Or(c.HalfLife, 30*time.Minute)
	c.MinSamples = cmp.Or(c.MinSamples, 3)
	c.MaxAge = cmp.Or(c.MaxAge, 2*time.Hour)
	return c
}

// Aggregate is the decaying summary of what clients in one prefix measured
// to one relay: an exponentially time-weighted mean of RTT and loss and the
// decayed sample weight. It is a plain value, safe to copy and to store.
type Aggregate struct {
	RTTMillis float64   // weighted mean RTT, ms
	Loss      float64   // weighted mean loss fraction
	Weight    float64   // decayed number of samples, the means' denominator
	Samples   int       // samples folded in, capped at maxSamples
	Updated   time.Time // time of the last sample
}

// maxSamples caps Aggregate.Samples; only the floor matters.
const maxSamples = 1 << 20

// decay is the factor the weight of samples dt old has shrunk by.
func decay(dt, halfLife time.Duration) float64 {
	if dt <= 0 {
		return 1
	}
	return math.Exp2(-float64(dt) / float64(halfLife))
}

// Add folds one measurement taken at now into a.
func (a Aggregate) Add(m Measurement, now time.Time, cfg AggregateConfig) Aggregate {
	cfg = cfg.WithDefaults()
	rtt := min(max(float64(m.RTT)/float64(time.Millisecond), 0), float64(MaxMeasuredRTT/time.Millisecond))
	loss := min(max(m.Loss, 0), 1)
	if math.IsNaN(loss) {
		loss = 0
	}
	w := a.Weight * decay(now.Sub(a.Updated), cfg.HalfLife)
	n := w + 1
	out := Aggregate{
		RTTMillis: (a.RTTMillis*w + rtt) / n,
		Loss:      (a.Loss*w + loss) / n,
		Weight:    n,
		Samples:   min(a.Samples+1, maxSamples),
		Updated:   now,
	}
	if a.Updated.After(now) { // out-of-order sample: keep the newer stamp
		out.Updated = a.Updated
	}
	return out
}

// Trusted returns the aggregate as a measurement for relayID when it has at
// least MinSamples samples and the last is at most MaxAge old at now.
func (a Aggregate) Trusted(relayID string, now time.Time, cfg AggregateConfig) (Measurement, bool) {
	cfg = cfg.WithDefaults()
	if a.Samples < cfg.MinSamples || now.Sub(a.Updated) > cfg.MaxAge {
		return Measurement{}, false
	}
	return Measurement{RelayID: relayID, RTT: time.Duration(math.Round(a.RTTMillis * float64(time.Millisecond))), Loss: a.Loss}, true
}
