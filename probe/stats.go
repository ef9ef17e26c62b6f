package probe

import (
	"net/netip"
	"time"
)

// minLostForDegraded: one lost probe is noise, not a lossy relay, and must
// never change a relay's health; with the default window of 20 a single loss
// is already 5 %, above the 2 % threshold.
const minLostForDegraded = 2

// Gains of the smoothed estimators: RFC 6298's alpha for the RTT and RFC
// 3550's 1/16 for jitter.
const (
	rttGain    = 8
	jitterGain = 16
)

// sample is one resolved probe.
type sample struct {
	rtt  time.Duration
	lost bool
}

// stats is the measurement state of one relay. It is a plain value with no
// clock or I/O, updated by record.
type stats struct {
	window []sample // ring of the last len(window) cap samples
	head   int      // next slot to write
	n      int      // samples in the ring

	srtt, jitter, last time.Duration
	reseed             bool // next answer restarts srtt and jitter (first answer, or back from down)

	misses, answers int // consecutive
	health          Health
	known           bool // has answered once or has been declared down
	probedAt        time.Time
}

func newStats(window int) stats {
	return stats{window: make([]sample, window), reseed: true}
}

// record folds one resolved probe into s and updates its health.
func (s *stats) record(smp sample, at time.Time, c *Config) {
	s.window[s.head] = smp
	s.head = (s.head + 1) % len(s.window)
	s.n = min(s.n+1, len(s.window))
	s.probedAt = at
	if smp.lost {
		s.misses++
		s.answers = 0
	} else {
		s.answers++
		s.misses = 0
		if s.reseed {
			s.srtt, s.jitter, s.reseed = smp.rtt, 0, false
		} else {
			d := smp.rtt - s.last
			s.jitter += (abs(d) - s.jitter) / jitterGain
			s.srtt += (smp.rtt - s.srtt) / rttGain
		}
		s.last = smp.rtt
		s.known = true
	}
	switch {
	case s.health == HealthDown && s.answers < c.UpAfter:
		// stays down until UpAfter answers in a row
	case s.misses >= c.DownAfter:
		s.health, s.known, s.reseed = HealthDown, true, true
	case !s.known:
		// no answer yet and not down: unknown, reported nowhere
	default:
		s.health = s.quality(c)
	}
}

// quality is the health of a relay that is not down.
func (s *stats) quality(c *Config) Health {
	sent, recv, _ := s.counts()
	lost := sent - recv
	if s.srtt > c.DegradedRTT || (lost >= minLostForDegraded && float64(lost)/float64(sent) > c.DegradedLoss) {
		return HealthDegraded
	}
	return HealthUp
}

// counts returns the probes in the window, those answered, and their minimum RTT.
func (s *stats) counts() (sent, recv int, minRTT time.Duration) {
	for i := range s.n {
		smp := s.window[(s.head-1-i+len(s.window))%len(s.window)]
		if smp.lost {
			continue
		}
		if recv == 0 || smp.rtt < minRTT {
			minRTT = smp.rtt
		}
		recv++
	}
	return s.n, recv, minRTT
}

// result renders s for relay id at addr.
func (s *stats) result(id string, addr netip.AddrPort) Result {
	sent, recv, minRTT := s.counts()
	r := Result{
		RelayID: id, Addr: addr,
		RTT: s.srtt, MinRTT: minRTT, LastRTT: s.last, Jitter: s.jitter,
		Health: s.health, Sent: sent, Received: recv, ProbedAt: s.probedAt,
	}
	if sent > 0 {
		r.Loss = float64(sent-recv) / float64(sent)
	}
	return r
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
