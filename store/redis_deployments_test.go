package store_test

import (
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv/redistest"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// The conformance suite against Redis deployments the tests start from
// redis-server: a Cluster of three masters and a Sentinel set (a master, a
// replica, three sentinels). Each subtest has a key prefix of its own on
// the one deployment.

func TestRedisCluster(t *testing.T) {
	url := redistest.StartCluster(t, 3).URL()
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) store.Registry {
		return storetest.OpenRedis(t, store.RedisConfig{URL: url, Prefix: storetest.KeyPrefix(t), Now: cfg.Now, MaxPrefixes: cfg.MaxPrefixes})
	})
}

// Usage on a Cluster: each pseudonym's script keeps to its slot.
func TestRedisClusterUsage(t *testing.T) {
	url := redistest.StartCluster(t, 3).URL()
	storetest.RunUsage(t, func(t *testing.T, cfg storetest.Config) store.Usage {
		return storetest.OpenRedis(t, store.RedisConfig{URL: url, Prefix: storetest.KeyPrefix(t), Now: cfg.Now})
	})
}

func TestRedisSentinel(t *testing.T) {
	url := redistest.StartSentinel(t, redistest.SentinelConfig{}).URL()
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) store.Registry {
		return storetest.OpenRedis(t, store.RedisConfig{URL: url, Prefix: storetest.KeyPrefix(t), Now: cfg.Now, MaxPrefixes: cfg.MaxPrefixes})
	})
}

// On a Cluster, client measurements spread over every master while the
// registry keeps to one slot.
func TestRedisClusterSpreadsMeasurements(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	clock := storetest.NewClock(storetest.T0)
	prefix := storetest.KeyPrefix(t)
	s := storetest.OpenRedis(t, store.RedisConfig{URL: c.URL(), Prefix: prefix, Now: clock.Now})
	const prefixes = 300
	for i := range prefixes {
		addOne(t, s, clientPrefix(i))
	}
	heartbeatN(t, s, "relay", 10)
	got, _, err := s.Measurements(t.Context(), time.Time{})
	if err != nil || len(got) != prefixes {
		t.Fatalf("Measurements() = %d prefixes, %v; want %d", len(got), err, prefixes)
	}
	pattern := globEscaper.Replace(prefix)
	total, holding := 0, 0
	for _, m := range c.Masters {
		hashes := len(read(t, m.Client().Keys(t.Context(), pattern+"{*}:prefix")))
		registry := len(read(t, m.Client().Keys(t.Context(), pattern+"{registry}:*")))
		t.Logf("master %s: %d prefix hashes, %d registry keys", m.Addr, hashes, registry)
		// An even spread puts 100 on each; a third of that is far outside chance.
		if hashes < prefixes/len(c.Masters)/3 {
			t.Errorf("master %s holds %d of %d prefix hashes, want about a third", m.Addr, hashes, prefixes)
		}
		total += hashes
		if registry > 0 {
			holding++
		}
	}
	if total != prefixes || holding != 1 {
		t.Errorf("%d prefix hashes in all, registry on %d masters; want %d, and one", total, holding, prefixes)
	}
}
