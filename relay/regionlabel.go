package relay

import "sync"

// MaxRegionLabels bounds a metric's region label: regions come from
// relays' heartbeats, so a misconfigured (or hostile) node must not be
// able to grow the series without limit. A fleet has a few dozen regions.
const MaxRegionLabels = 64

// RegionLabels hands out region label values for metrics: the first
// MaxRegionLabels distinct regions as they are, later ones as "other", and
// "none" for a relay that names no region. The zero value is ready; it is
// safe for concurrent use, and a region seen before costs a read lock.
type RegionLabels struct {
	mu   sync.RWMutex // guards seen
	seen map[string]struct{}
}

// Label is region's label value.
func (l *RegionLabels) Label(region string) string {
	if region == "" {
		return "none"
	}
	l.mu.RLock()
	_, ok := l.seen[region]
	l.mu.RUnlock()
	if ok {
		return region
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[region]; ok {
		return region
	}
	if len(l.seen) >= MaxRegionLabels {
		return "other"
	}
	if l.seen == nil {
		l.seen = make(map[string]struct{})
	}
	l.seen[region] = struct{}{}
	return region
}
