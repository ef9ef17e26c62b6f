package gateway

import (
	"net/netip"
	"sync"
)

// primaries remembers the primary relay last given to each client prefix,
// so selection can keep it (hysteresis) instead of flapping between
// near-equal relays. It lives in one gateway's memory: writing it to a
// shared store would cost a round trip per request, and a prefix that
// alternates between replicas still gets stable answers because ties are
// broken by rendezvous hashing, the same on every replica.
//
// Memory is bounded by two generations of at most limit entries each: when
// the current one fills, it becomes the old one and the old one is dropped,
// so a prefix not seen for a generation is forgotten (approximate LRU at
// O(1) per operation). Safe for concurrent use.
type primaries struct {
	limit int

	mu       sync.Mutex // guards below
	cur, old map[netip.Prefix]string
}

// newPrimaries keeps up to about 2×limit prefixes; limit must be positive
// (Config.HysteresisPrefixes).
func newPrimaries(limit int) *primaries {
	return &primaries{limit: limit, cur: make(map[netip.Prefix]string)}
}

// Get returns the prefix's last primary, "" if none is remembered.
func (p *primaries) Get(prefix netip.Prefix) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.cur[prefix]; ok {
		return id
	}
	return p.old[prefix]
}

// Set remembers id as the prefix's primary.
func (p *primaries) Set(prefix netip.Prefix, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.cur[prefix]; ok && old == id {
		return
	}
	if len(p.cur) >= p.limit {
		p.old, p.cur = p.cur, make(map[netip.Prefix]string, p.limit)
	}
	p.cur[prefix] = id
}

// Len is the number of prefixes remembered (both generations).
func (p *primaries) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cur) + len(p.old)
}
