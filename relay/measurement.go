package relay

import (
	"cmp"
	"math"
	"slices"
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

// MaxReporters is how many reporters one Aggregate keeps; past it the least
// recently heard is forgotten. Eight is enough for a median that a couple
// of odd reporters cannot move, and it bounds what one (prefix, relay)
// costs however many clients a network has: the reporters that count are
// the recent ones.
const MaxReporters = 8

// AggregateConfig says how client measurements are folded together.
type AggregateConfig struct {
	// HalfLife is how fast a reporter's old samples fade against its new
	// ones: a sample this old weighs half a new one; default 30 min.
	// Routes change over hours, congestion over minutes: half an hour
	// follows the first without chasing the second.
	HalfLife time.Duration
	// MinReporters is how many distinct reporters, each heard within
	// MaxAge, an aggregate needs before it is trusted; default 3, range
	// 1..MaxReporters. It replaces a floor on samples, which one client
	// reporting three times could meet: with three, one reporter is never
	// enough, and the median of three cannot be dragged outside what the
	// other two reported.
	MinReporters int
	// MaxAge is how long after its last sample a reporter still counts,
	// and an aggregate is still used (and kept: stores drop older ones);
	// default 2h, four half-lives, when old samples weigh a sixteenth of a
	// new one.
	MaxAge time.Duration
}

// WithDefaults fills in the zero fields.
func (c AggregateConfig) WithDefaults() AggregateConfig {
	c.HalfLife = cmp.Or(c.HalfLife, 30*time.Minute)
	c.MinReporters = cmp.Or(c.MinReporters, 3)
	c.MaxAge = cmp.Or(c.MaxAge, 2*time.Hour)
	return c
}

// Aggregate is what the clients of one prefix reported for one relay: for
// each of up to MaxReporters distinct reporters, a time-decayed mean of its
// own reports. Across reporters it counts the median, each reporter once
// however often it reports, so one client cannot steer its prefix by
// repetition or by outlandish figures. It is a plain value, safe to copy:
// Add returns a new one and never changes the Reporters of the old.
type Aggregate struct {
	// Reporters in the order they were first heard, the least recently
	// heard going first when a new one needs room.
	Reporters []Reporter
	Samples   int       // samples folded in from every reporter, capped at maxSamples
	Updated   time.Time // time of the last sample
}

// Reporter is one reporter's share of an Aggregate.
type Reporter struct {
	// ID stands for the reporter: an opaque keyed hash chosen by whoever
	// stores the aggregate, never a user's name.
	ID        string
	RTTMillis float64   // its weighted mean RTT, ms
	Loss      float64   // its weighted mean loss fraction
	Weight    float64   // its decayed number of samples, the means' denominator
	Updated   time.Time // time of its last sample
}

// maxSamples caps Aggregate.Samples, which is only informative.
const maxSamples = 1 << 20

// decay is the factor the weight of samples dt old has shrunk by.
func decay(dt, halfLife time.Duration) float64 {
	if dt <= 0 {
		return 1
	}
	return math.Exp2(-float64(dt) / float64(halfLife))
}

// Clamp returns m's RTT in milliseconds and its loss as Add folds them:
// RTT within [0, MaxMeasuredRTT], loss within [0, 1] (NaN as 0).
func (m Measurement) Clamp() (rttMillis, loss float64) {
	rtt := min(max(float64(m.RTT)/float64(time.Millisecond), 0), float64(MaxMeasuredRTT/time.Millisecond))
	loss = min(max(m.Loss, 0), 1)
	if math.IsNaN(loss) {
		loss = 0
	}
	return rtt, loss
}

// Add folds one measurement that reporter took at now into a. Reporters not
// heard from within MaxAge are dropped; a new reporter past MaxReporters
// replaces the least recently heard (the first, on a tie).
func (a Aggregate) Add(reporter string, m Measurement, now time.Time, cfg AggregateConfig) Aggregate {
	cfg = cfg.WithDefaults()
	rtt, loss := m.Clamp()
	out := Aggregate{
		Reporters: make([]Reporter, 0, min(len(a.Reporters)+1, MaxReporters)),
		Samples:   min(a.Samples+1, maxSamples),
		Updated:   a.Updated,
	}
	if now.After(out.Updated) { // an out-of-order sample keeps the newer stamp
		out.Updated = now
	}
	mine := -1
	oldest := now.Add(-cfg.MaxAge)
	for _, r := range a.Reporters {
		switch {
		case r.ID == reporter:
			mine = len(out.Reporters)
		case r.Updated.Before(oldest):
			continue
		}
		out.Reporters = append(out.Reporters, r)
	}
	if mine < 0 {
		if len(out.Reporters) >= MaxReporters {
			lru := 0
			for i, r := range out.Reporters {
				if r.Updated.Before(out.Reporters[lru].Updated) {
					lru = i
				}
			}
			out.Reporters = slices.Delete(out.Reporters, lru, lru+1)
		}
		out.Reporters = append(out.Reporters, Reporter{ID: reporter})
		mine = len(out.Reporters) - 1
	}
	r := &out.Reporters[mine]
	w := r.Weight * decay(now.Sub(r.Updated), cfg.HalfLife)
	n := w + 1
	r.RTTMillis = (r.RTTMillis*w + rtt) / n
	r.Loss = (r.Loss*w + loss) / n
	r.Weight = n
	if now.After(r.Updated) {
		r.Updated = now
	}
	return out
}

// Counted returns how many reporters count at now: those heard within
// MaxAge.
func (a Aggregate) Counted(now time.Time, cfg AggregateConfig) int {
	cfg = cfg.WithDefaults()
	n := 0
	oldest := now.Add(-cfg.MaxAge)
	for _, r := range a.Reporters {
		if !r.Updated.Before(oldest) {
			n++
		}
	}
	return n
}

// Trusted returns the aggregate as a measurement for relayID when at least
// MinReporters reporters count at now (see Counted): the median over them
// of each one's mean RTT, and likewise of loss. Every reporter has the same
// say, whatever it reported and however often.
func (a Aggregate) Trusted(relayID string, now time.Time, cfg AggregateConfig) (Measurement, bool) {
	cfg = cfg.WithDefaults()
	var rtts, losses [MaxReporters]float64
	n := 0
	oldest := now.Add(-cfg.MaxAge) // time.Sub per reporter would cost more than the rest together
	for _, r := range a.Reporters {
		if n < MaxReporters && !r.Updated.Before(oldest) {
			rtts[n], losses[n] = r.RTTMillis, r.Loss
			n++
		}
	}
	if n == 0 || n < cfg.MinReporters {
		return Measurement{}, false
	}
	rtt := median(rtts[:n])
	return Measurement{RelayID: relayID, RTT: time.Duration(math.Round(rtt * float64(time.Millisecond))), Loss: median(losses[:n])}, true
}

// Own returns reporter's own figures for relayID, its mean RTT and loss,
// when it has reported them within MaxAge at now. They are what that one
// reporter measured, fit to steer its own picks (as its inline measurements
// do) when the aggregate is not Trusted, and never anyone else's.
func (a Aggregate) Own(reporter, relayID string, now time.Time, cfg AggregateConfig) (Measurement, bool) {
	cfg = cfg.WithDefaults()
	for _, r := range a.Reporters {
		if r.ID == reporter && !r.Updated.Before(now.Add(-cfg.MaxAge)) {
			return Measurement{RelayID: relayID, RTT: time.Duration(math.Round(r.RTTMillis * float64(time.Millisecond))), Loss: r.Loss}, true
		}
	}
	return Measurement{}, false
}

// median sorts xs (not empty, at most MaxReporters long, no NaN) and
// returns its median: the middle value, or the mean of the middle two. An
// insertion sort: at this size it is several times faster than
// slices.Sort, and Trusted runs per relay on the request path.
func median(xs []float64) float64 {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
	h := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[h]
	}
	return (xs[h-1] + xs[h]) / 2
}
