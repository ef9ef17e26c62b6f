package store

import (
	"net/netip"
	"sync"
)

// Primaries remembers the primary relay last given to each client prefix,
// so selection can keep it (hysteresis) instead of flapping between
// near-equal relays. It lives in one gateway's memory: writing it to a
// shared store would cost a round trip per request, and a prefix that
// alternates between replicas still gets stable answers because ties are
// broken by rendezvous hashing, the same on every replica.
//
// Memory is bounded by two generations of at most Max entries each: when
// the current one fills, it becomes the old one and the old one is dropped,
// so a prefix not seen for a generation is forgotten (approximate LRU at
// O(1) per operation). Safe for concurrent use.
type Primaries struct {
	max int

	mu       sync.Mutex // guards below
	cur, old map[netip.Prefix]string
}

// NewPrimaries keeps up to about 2×max prefixes; max <= 0 means 100,000.
func NewPrimaries(max int) *Primaries {
	if max <= 0 {
		max = 100_000
	}
	return &Primaries{max: max, cur: make(map[netip.Prefix]string)}
}

// Get returns the prefix's last primary, "" if none is remembered.
func (p *Primaries) Get(prefix netip.Prefix) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.cur[prefix]; ok {
		return id
	}
	return p.old[prefix]
}

// Set remembers id as the prefix's primary.
func (p *Primaries) Set(prefix netip.Prefix, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.cur[prefix]; ok && old == id {
		return
	}
	if len(p.cur) >= p.max {
		p.old, p.cur = p.cur, make(map[netip.Prefix]string, p.max)
	}
	p.cur[prefix] = id
}

// Len is the number of prefixes remembered (both generations).
func (p *Primaries) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cur) + len(p.old)
}
