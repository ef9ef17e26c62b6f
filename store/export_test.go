package store

import (
	"context"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/relay"
)

// Test-only hooks.

// KeysForTest returns the Redis keys the store uses.
func (s *Redis) KeysForTest() []string { return s.keys.all() }

// ClientForTest returns the store's Redis client.
func (s *Redis) ClientForTest() redis.UniversalClient { return s.client }

// LenForTest returns how many relays the Memory store holds, expired or not.
func (m *Memory) LenForTest() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.relays)
}

// NewRedisClient exposes URL parsing.
var NewRedisClient = newRedisClient

// ProbesLenForTest returns how many probe views the Memory store holds,
// stale or not.
func (m *Memory) ProbesLenForTest() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.probes)
}

// PrefixesLenForTest returns how many prefixes the Memory store holds and
// how long its touch log is (consumed entries excluded).
func (m *Memory) PrefixesLenForTest() (prefixes, log int) {
	m.meas.mu.RLock()
	defer m.meas.mu.RUnlock()
	return len(m.meas.prefixes), len(m.meas.log) - m.meas.head
}

// PrefixKeyForTest returns the key of the hash that holds p's aggregates.
func (s *Redis) PrefixKeyForTest(p netip.Prefix) string {
	return s.keys.prefixKey(s.privacy.prefixTag(p))
}

// DropPrefixForTest runs the script that trimming runs on p's hash once it
// has removed p from the index, having seen it there at seen, and reports
// whether it deleted the hash.
func (s *Redis) DropPrefixForTest(ctx context.Context, p netip.Prefix, seen time.Time) (bool, error) {
	n, err := dropPrefixScript.Run(ctx, s.client, []string{s.PrefixKeyForTest(p)}, floorMS(seen)).Int()
	return n == 1, err
}

// AddUsageEntriesForTest counts rep's entries but not its relay's total,
// as an AddUsage that failed part-way would have.
func (s *Redis) AddUsageEntriesForTest(ctx context.Context, relayID string, rep relay.UsageReport) error {
	return s.addUsage(ctx, relayID, rep, false)
}
