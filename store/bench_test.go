package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/selector"
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
			if err := s.AddMeasurements(ctx, clientPrefix(i%10_000), benchMeasurements); err != nil {
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
				if err := s.AddMeasurements(b.Context(), clientPrefix(i), benchMeasurements); err != nil {
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

// Sizes for BenchmarkSnapshotRefresh: a large deployment's relays, and how
// many of them heartbeat within a one-second refresh interval.
const (
	benchSnapshotRelays  = 10_000
	benchSnapshotChanged = 2_000
)

// fixedCursor is a Registry whose RelaysSince reads from one cursor
// whenever asked for an incremental read (0: a full read every time), so
// every refresh of a benchmark does the same work.
type fixedCursor struct {
	store.Registry
	cursor uint64
}

func (f fixedCursor) RelaysSince(ctx context.Context, cursor uint64) ([]relay.Relay, uint64, error) {
	if cursor != 0 {
		cursor = f.cursor
	}
	return f.Registry.RelaysSince(ctx, cursor)
}

// BenchmarkSnapshotRefresh is a gateway's once-a-second relay refresh from
// Redis: 10k relays stored, 2k of them heartbeated since the last refresh.
// "incremental" reads the 2k changed relays, "full" every relay through
// RelaysSince(0) (the minutely safety net), and "relays" is the refresh as
// it was before RelaysSince: Relays and a new snapshot.
func BenchmarkSnapshotRefresh(b *testing.B) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(b, store.RedisConfig{Prefix: storetest.KeyPrefix(b), Now: clock.Now})
	ctx := b.Context()
	heartbeatRange := func(from, to int) {
		const workers = 32
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := from + w; i < to; i += workers {
					r := storetest.Fra1()
					r.ID = fmt.Sprintf("relay-%05d", i)
					if err := s.Heartbeat(ctx, r, time.Hour); err != nil {
						b.Errorf("Heartbeat() error = %v", err)
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
	heartbeatRange(0, benchSnapshotRelays)
	_, cursor, err := s.RelaysSince(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	clock.Advance(time.Second)
	heartbeatRange(0, benchSnapshotChanged)
	if rs, _, err := s.RelaysSince(ctx, cursor); err != nil || len(rs) != benchSnapshotChanged {
		b.Fatalf("RelaysSince() = %d relays, %v; want %d", len(rs), err, benchSnapshotChanged)
	}

	for _, c := range []struct {
		name   string
		cursor uint64
	}{{"incremental", cursor}, {"full", 0}} {
		b.Run(c.name, func(b *testing.B) {
			reg := store.Registry(fixedCursor{Registry: s, cursor: c.cursor})
			if c.cursor == 0 {
				reg = fullReads{s}
			}
			snaps := store.NewSnapshots(reg, store.SnapshotsConfig{Now: clock.Now}, nil)
			if err := snaps.Refresh(ctx); err != nil { // the first refresh is full
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := snaps.Refresh(ctx); err != nil {
					b.Fatalf("Refresh() error = %v", err)
				}
			}
			if n := snaps.Load().Len(); n != benchSnapshotRelays {
				b.Fatalf("snapshot has %d relays, want %d", n, benchSnapshotRelays)
			}
		})
	}
	b.Run("relays", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rs, err := s.Relays(ctx)
			if err != nil || len(rs) != benchSnapshotRelays {
				b.Fatalf("Relays() = %d relays, %v; want %d", len(rs), err, benchSnapshotRelays)
			}
			selector.NewSnapshot(rs)
		}
	})
}

// fullReads is a Registry whose RelaysSince always reads every relay.
type fullReads struct{ store.Registry }

func (f fullReads) RelaysSince(ctx context.Context, _ uint64) ([]relay.Relay, uint64, error) {
	return f.Registry.RelaysSince(ctx, 0)
}
