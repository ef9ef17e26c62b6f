package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/relaygate/relaygate/relay"
)

var _ Usage = (*Memory)(nil)

// memoryUsage is Memory's usage: hour buckets and report marks, swept of
// what is older than UsageRetention once an hour.
type memoryUsage struct {
	mu        sync.Mutex                        // guards below
	users     map[string]map[int64]*relay.Usage // pseudonym → Unix hour → usage
	relays    map[string]map[int64]*relay.Usage // relay ID → Unix hour → usage
	userMarks map[[2]string]memoryMark          // (pseudonym, relay ID) → last counted
	relayMark map[string]memoryMark             // relay ID → last counted
	sweep     int64                             // the Unix hour of the last sweep
}

// memoryMark is a reportMark with the hour it was set, for the sweep.
type memoryMark struct {
	reportMark
	hour int64
}

// AddUsage counts a relay's usage report once (see Usage).
func (m *Memory) AddUsage(ctx context.Context, relayID string, rep relay.UsageReport) error {
	if err := checkUsageReport(relayID, rep); err != nil {
		return err
	}
	if err := m.usageOpen(ctx, "add usage"); err != nil {
		return err
	}
	hour := floorHour(m.now())
	u := &m.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sweepLocked(hour)
	if u.users == nil {
		u.users, u.relays = map[string]map[int64]*relay.Usage{}, map[string]map[int64]*relay.Usage{}
		u.userMarks, u.relayMark = map[[2]string]memoryMark{}, map[string]memoryMark{}
	}
	mark := memoryMark{reportMark{rep.Epoch, rep.Seq}, hour}
	for _, e := range rep.Entries {
		k := [2]string{e.Pseudonym, relayID}
		if u.userMarks[k].covers(rep.Epoch, rep.Seq) {
			continue
		}
		u.userMarks[k] = mark
		addHour(u.users, e.Pseudonym, hour, e.Usage)
	}
	if !u.relayMark[relayID].covers(rep.Epoch, rep.Seq) {
		u.relayMark[relayID] = mark
		addHour(u.relays, relayID, hour, sumEntries(rep))
	}
	return nil
}

// usageOpen fails when ctx is done or the store closed.
func (m *Memory) usageOpen(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	m.mu.RLock()
	closed := m.closed
	m.mu.RUnlock()
	if closed {
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	return nil
}

func addHour(byKey map[string]map[int64]*relay.Usage, key string, hour int64, add relay.Usage) {
	if add.IsZero() {
		return
	}
	hours := byKey[key]
	if hours == nil {
		hours = map[int64]*relay.Usage{}
		byKey[key] = hours
	}
	h := hours[hour]
	if h == nil {
		h = &relay.Usage{}
		hours[hour] = h
	}
	h.Add(add)
}

// retainedHours is how many hours back from now usage is kept.
const retainedHours = int64(UsageRetention / time.Hour)

// sweepLocked drops hours and marks older than UsageRetention, at most
// once an hour.
func (u *memoryUsage) sweepLocked(now int64) {
	if now == u.sweep {
		return
	}
	u.sweep = now
	cutoff := now - retainedHours
	for _, byKey := range []map[string]map[int64]*relay.Usage{u.users, u.relays} {
		for key, hours := range byKey {
			for h := range hours {
				if h < cutoff {
					delete(hours, h)
				}
			}
			if len(hours) == 0 {
				delete(byKey, key)
			}
		}
	}
	for k, mk := range u.userMarks {
		if mk.hour < cutoff {
			delete(u.userMarks, k)
		}
	}
	for k, mk := range u.relayMark {
		if mk.hour < cutoff {
			delete(u.relayMark, k)
		}
	}
}

// UsageOf returns the pseudonyms' summed hourly usage (see Usage).
func (m *Memory) UsageOf(ctx context.Context, pseudonyms []string, from, to time.Time) ([]relay.UsagePeriod, error) {
	if err := checkPseudonyms(pseudonyms); err != nil {
		return nil, err
	}
	total := sums[int64]{}
	err := m.scanUsage(ctx, "usage", from, to, func(u *memoryUsage, first, end int64) {
		for _, p := range pseudonyms {
			for h, v := range u.users[p] {
				if h >= first && h < end {
					total.add(h, *v)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return periods(total), nil
}

// RelayUsage returns each relay's usage over the hours (see Usage).
func (m *Memory) RelayUsage(ctx context.Context, from, to time.Time) ([]relay.UsageOnRelay, error) {
	total := sums[string]{}
	err := m.scanUsage(ctx, "relay usage", from, to, func(u *memoryUsage, first, end int64) {
		for id, hours := range u.relays {
			for h, v := range hours {
				if h >= first && h < end {
					total.add(id, *v)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return relays(total), nil
}

// scanUsage checks a query (usageWindow) and calls scan with the usage
// locked and the query's hours.
func (m *Memory) scanUsage(ctx context.Context, op string, from, to time.Time, scan func(u *memoryUsage, first, end int64)) error {
	first, end, err := usageWindow(from, to, m.now())
	if err != nil {
		return err
	}
	if err := m.usageOpen(ctx, op); err != nil {
		return err
	}
	u := &m.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	scan(u, first, end)
	return nil
}
