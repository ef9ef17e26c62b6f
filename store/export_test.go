package store

import "github.com/redis/go-redis/v9"

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
