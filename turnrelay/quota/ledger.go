package quota

import (
	"sync"
	"sync/atomic"
	"time"
)

// Ledger holds a node's allocations against its Config: the total, the
// count per user, the draining switch and the bandwidth budget. A relay
// reserves before it binds an allocation's socket and releases when the
// socket closes, so concurrent allocations cannot overshoot a limit.
type Ledger struct {
	cfg       Config
	bandwidth *Limiter
	n         atomic.Int64
	draining  atomic.Bool
	idle      chan struct{} // poked when n drops to zero

	mu      sync.Mutex // guards below
	perUser map[string]int
}

// New returns an empty ledger for cfg whose bandwidth budget starts at now.
func New(cfg Config, now time.Time) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Ledger{cfg: cfg, bandwidth: NewLimiter(cfg.MaxBPS, now), idle: make(chan struct{}, 1), perUser: map[string]int{}}, nil
}

// Bandwidth is the node's relayed-bandwidth budget; nil when it has none.
func (l *Ledger) Bandwidth() *Limiter { return l.bandwidth }

// Allocations is the number of reserved allocations.
func (l *Ledger) Allocations() int { return int(l.n.Load()) }

// Idle receives when the number of allocations drops to zero (one signal
// is buffered, later ones merge into it); a waiter re-checks Allocations.
func (l *Ledger) Idle() <-chan struct{} { return l.idle }

// Drain makes every later Reserve fail with ErrDraining. It reports
// whether this call started draining.
func (l *Ledger) Drain() bool { return l.draining.CompareAndSwap(false, true) }

// Draining reports whether Drain was called.
func (l *Ledger) Draining() bool { return l.draining.Load() }

// UserFull reports whether user already holds UserQuota allocations: a
// cheap early answer for a request, re-checked by Reserve.
func (l *Ledger) UserFull(user string) bool {
	if l.cfg.UserQuota == 0 {
		return false
	}
	l.mu.Lock()
	n := l.perUser[user]
	l.mu.Unlock()
	return n >= l.cfg.UserQuota
}

// Reserve takes one allocation at now from the node's capacity and user's
// quota (an empty user has none), or returns which limit refused it:
// ErrDraining, ErrBandwidth, ErrFull or ErrUserQuota, checked in that order.
func (l *Ledger) Reserve(user string, now time.Time) error {
	switch {
	case l.draining.Load():
		return ErrDraining
	case l.bandwidth.Saturated(now):
		return ErrBandwidth
	}
	reserved := false
	for range 64 {
		n := l.n.Load()
		if l.cfg.MaxAllocations > 0 && n >= int64(l.cfg.MaxAllocations) {
			break
		}
		if l.n.CompareAndSwap(n, n+1) {
			reserved = true
			break
		}
	}
	if !reserved {
		return ErrFull
	}
	if l.cfg.UserQuota > 0 && user != "" {
		l.mu.Lock()
		if l.perUser[user] >= l.cfg.UserQuota {
			l.mu.Unlock()
			l.releaseOne()
			return ErrUserQuota
		}
		l.perUser[user]++
		l.mu.Unlock()
	}
	return nil
}

// Release returns what a successful Reserve of user took.
func (l *Ledger) Release(user string) {
	if l.cfg.UserQuota > 0 && user != "" {
		l.mu.Lock()
		l.perUser[user]--
		if l.perUser[user] <= 0 {
			delete(l.perUser, user)
		}
		l.mu.Unlock()
	}
	l.releaseOne()
}

// releaseOne takes one allocation off the total and signals Idle when none
// is left.
func (l *Ledger) releaseOne() {
	if l.n.Add(-1) <= 0 {
		select {
		case l.idle <- struct{}{}:
		default:
		}
	}
}
