package quota

import (
	"sync/atomic"
	"time"
)

// Limiter is a lock-free GCRA token bucket over relayed bytes: tat is the
// theoretical arrival time of the next byte in ns since base. One atomic
// CAS per datagram, no allocation. A nil *Limiter is no budget: it allows
// everything and is never saturated.
type Limiter struct {
	bps   int64
	burst int64 // ns of credit a burst may use
	base  time.Time
	tat   atomic.Int64
}

// burstWindow is how much of the budget a burst may use at once: long
// enough for a video keyframe, short enough that a node at its budget
// refuses new allocations within a fraction of a second.
const burstWindow = 200 * time.Millisecond

// maxDatagram is the largest datagram the burst must always fit, so a low
// budget still passes whole datagrams.
const maxDatagram = 2048

// NewLimiter returns a budget of bps bits per second starting at now, or
// nil (no budget) when bps <= 0.
func NewLimiter(bps int64, now time.Time) *Limiter {
	if bps <= 0 {
		return nil
	}
	l := &Limiter{bps: bps, base: now}
	l.burst = max(int64(burstWindow), l.cost(maxDatagram))
	return l
}

// cost is the time n bytes take at the budget, in ns.
func (l *Limiter) cost(n int) int64 { return int64(n) * 8e9 / l.bps }

// Allow takes n bytes from the budget at now, or reports that they do not
// fit.
func (l *Limiter) Allow(n int, now time.Time) bool {
	if l == nil {
		return true
	}
	t := int64(now.Sub(l.base))
	c := l.cost(n)
	for range 16 { // bounded CAS retries; losing them all drops one datagram
		tat := l.tat.Load()
		next := max(tat, t) + c
		if next-t > l.burst {
			return false
		}
		if l.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
	return false
}

// Saturated reports that more than half of the burst is in use at now: the
// node is at its bandwidth budget and takes no new allocations.
func (l *Limiter) Saturated(now time.Time) bool {
	if l == nil {
		return false
	}
	return l.tat.Load()-int64(now.Sub(l.base)) > l.burst/2
}
