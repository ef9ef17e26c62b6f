package gateway

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
			snaps := testSnapshots(reg, clock.Now)
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
