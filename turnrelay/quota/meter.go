package quota

import (
	"sync"
	"time"
)

// Meter turns a growing byte total into the bit rate between two readings,
// the load a relay reports in its heartbeats. Its zero value is ready.
type Meter struct {
	mu        sync.Mutex // guards below
	lastBytes uint64
	lastAt    time.Time
}

// BPS returns the bits per second total grew by since the previous call,
// and 0 on the first call or when now is not after it.
func (m *Meter) BPS(total uint64, now time.Time) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var bps int64
	if el := now.Sub(m.lastAt); !m.lastAt.IsZero() && el > 0 {
		bps = int64(float64(total-m.lastBytes) * 8 / el.Seconds())
	}
	m.lastBytes, m.lastAt = total, now
	return bps
}
