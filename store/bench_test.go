package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// benchRelays is the registry size for BenchmarkRelays: a large deployment.
const benchRelays = 1000

// benchStores runs bench against each implementation; Redis is skipped
// when RELAYGATE_TEST_REDIS_URL is unset.
func benchStores(b *testing.B, bench func(b *testing.B, s store.Registry)) {
	benchStoresAt(b, time.Now, bench)
}

// benchStoresAt is benchStores on the clock now.
func benchStoresAt(b *testing.B, now func() time.Time, bench func(b *testing.B, s store.Registry)) {
	b.Run("memory", func(b *testing.B) {
		bench(b, storetest.NewMemory(b, store.MemoryConfig{Now: now}))
	})
	b.Run("redis", func(b *testing.B) {
		bench(b, storetest.OpenRedis(b, store.RedisConfig{Prefix: storetest.KeyPrefix(b), Now: now}))
	})
}

// benchMeasurements is what one client reports: its RTT to a few relays.
var benchMeasurements = []relay.Measurement{
	{RelayID: "fra-1", RTT: 21 * time.Millisecond},
	{RelayID: "ams-2", RTT: 28 * time.Millisecond, Loss: 0.01},
	{RelayID: "par-1", RTT: 35 * time.Millisecond},
}

// BenchmarkAddMeasurements folds one client's report into one of 10k
// prefixes, as POST /v1/measurements does.
func BenchmarkAddMeasurements(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Registry) {
		ctx := b.Context()
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := s.AddMeasurements(ctx, clientPrefix(i%10_000), "bench-reporter", benchMeasurements); err != nil {
				b.Fatalf("AddMeasurements() error = %v", err)
			}
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchMeasurements)), "ns/measurement")
	})
}

// Sizes for BenchmarkMeasurementsIncremental: a large deployment's
// prefixes, and how many of them a second's refresh finds updated.
const (
	benchPrefixes = 100_000
	benchUpdated  = 1_000
)

// BenchmarkMeasurementsIncremental is a gateway's once-a-second refresh:
// 100k prefixes stored, 1k of them measured since the last cursor.
func BenchmarkMeasurementsIncremental(b *testing.B) {
	clock := storetest.NewClock(storetest.T0)
	benchStoresAt(b, clock.Now, func(b *testing.B, s store.Registry) {
		ctx := b.Context()
		clock.Set(storetest.T0)
		addAll(b, s, 0, benchPrefixes)
		clock.Advance(time.Minute)
		since := clock.Now()
		addAll(b, s, 0, benchUpdated)
		b.ReportAllocs()
		for b.Loop() {
			got, _, err := s.Measurements(ctx, since)
			if err != nil || len(got) != benchUpdated {
				b.Fatalf("Measurements() = %d prefixes, %v; want %d", len(got), err, benchUpdated)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchUpdated), "ns/prefix")
	})
}

// addAll measures prefixes from..to-1, from a few goroutines.
func addAll(b *testing.B, s store.Registry, from, to int) {
	const workers = 32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := from + w; i < to; i += workers {
				if err := s.AddMeasurements(b.Context(), clientPrefix(i), "bench-reporter", benchMeasurements); err != nil {
					b.Errorf("AddMeasurements() error = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
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
