package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// benchRelays is the registry size for BenchmarkRelays: a large deployment.
const benchRelays = 1000

// benchStores runs bench against each implementation; Redis is skipped
// when RELAYGATE_TEST_REDIS_URL is unset.
func benchStores(b *testing.B, bench func(b *testing.B, s store.Registry)) {
	b.Run("memory", func(b *testing.B) {
		m := store.NewMemory(store.MemoryConfig{})
		b.Cleanup(func() { _ = m.Close() })
		bench(b, m)
	})
	b.Run("redis", func(b *testing.B) {
		bench(b, openRedis(b, store.RedisConfig{Prefix: testPrefix(b)}))
	})
}

func BenchmarkHeartbeat(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Registry) {
		ctx := b.Context()
		r := storetest.Fra1()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Heartbeat(ctx, r, time.Minute); err != nil {
				b.Fatalf("Heartbeat() error = %v", err)
			}
		}
	})
}

func BenchmarkRelays(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Registry) {
		ctx := b.Context()
		for i := range benchRelays {
			r := storetest.Fra1()
			r.ID = fmt.Sprintf("relay-%04d", i)
			if err := s.Heartbeat(ctx, r, time.Hour); err != nil {
				b.Fatalf("Heartbeat() error = %v", err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			rs, err := s.Relays(ctx)
			if err != nil || len(rs) != benchRelays {
				b.Fatalf("Relays() = %d relays, %v; want %d", len(rs), err, benchRelays)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRelays), "ns/relay")
	})
}
