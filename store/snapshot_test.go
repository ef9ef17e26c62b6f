package store_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/selector"

	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

func TestSnapshotsFollowTheRegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := storetest.NewClock(storetest.T0)
		reg, err := store.NewMemory(store.MemoryConfig{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		snaps := store.NewSnapshots(reg, store.SnapshotsConfig{Now: clk.Now}, nil)
		if n := snaps.Load().Len(); n != 0 {
			t.Fatalf("before the first refresh: %d relays, want 0", n)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- snaps.Run(ctx) }()

		if err := reg.Heartbeat(ctx, storetest.Fra1(), storetest.TTL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // fake time: one refresh interval
		synctest.Wait()
		if n := snaps.Load().Len(); n != 1 {
			t.Fatalf("after one interval: %d relays, want 1", n)
		}

		// A poke refreshes at once, without waiting for the ticker.
		if err := reg.SetDrained(ctx, "fra-1", true); err != nil {
			t.Fatal(err)
		}
		snaps.Poke()
		synctest.Wait()
		if rs := snaps.Load().Relays(); len(rs) != 1 || !rs[0].Drained {
			t.Fatalf("after a poke: %+v, want fra-1 drained", rs)
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil on cancel", err)
		}
	})
}

func TestSnapshotsPrefixMeasurements(t *testing.T) {
	clk := storetest.NewClock(storetest.T0)
	reg, err := store.NewMemory(store.MemoryConfig{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	snaps := store.NewSnapshots(reg, store.SnapshotsConfig{Now: clk.Now}, nil)
	home := netip.MustParsePrefix("198.51.100.0/24")
	m := []selector.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}
	for range 2 {
		if err := reg.AddMeasurements(ctx, home, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got := snaps.PrefixMeasurements(home, clk.Now()); len(got) != 0 {
		t.Fatalf("trusted after 2 samples: %+v (the floor is 3)", got)
	}
	clk.Advance(time.Second)
	if err := reg.AddMeasurements(ctx, home, m); err != nil {
		t.Fatal(err)
	}
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	got := snaps.PrefixMeasurements(home, clk.Now())
	if len(got) != 1 || got[0].RelayID != "fra-1" || got[0].RTT != 20*time.Millisecond {
		t.Fatalf("PrefixMeasurements() = %+v, want fra-1 at 20ms", got)
	}
	if other := snaps.PrefixMeasurements(netip.MustParsePrefix("203.0.113.0/24"), clk.Now()); other != nil {
		t.Errorf("another prefix sees %+v", other)
	}
	// Past MaxAge the aggregate is no longer used, and the cache forgets it.
	clk.Advance(3 * time.Hour)
	if err := snaps.RefreshMeasurements(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got := snaps.PrefixMeasurements(home, clk.Now()); len(got) != 0 || snaps.Prefixes() != 0 {
		t.Errorf("after MaxAge: %+v, %d prefixes held", got, snaps.Prefixes())
	}
}

// countingRegistry counts full reads.
type countingRegistry struct {
	store.Registry
	reads atomic.Int64
}

func (c *countingRegistry) Relays(ctx context.Context) ([]selector.Relay, error) {
	c.reads.Add(1)
	return c.Registry.Relays(ctx)
}

// TestSyncSeesTheWriteAndCoalesces: after Sync a write is in the snapshot,
// and a burst of concurrent writers shares a few refreshes.
func TestSyncSeesTheWriteAndCoalesces(t *testing.T) {
	clk := storetest.NewClock(storetest.T0)
	mem, err := store.NewMemory(store.MemoryConfig{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	reg := &countingRegistry{Registry: mem}
	snaps := store.NewSnapshots(reg, store.SnapshotsConfig{Now: clk.Now}, nil)
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := storetest.Fra1()
			r.ID = fmt.Sprintf("r-%d", i)
			if err := reg.Heartbeat(t.Context(), r, storetest.TTL); err != nil {
				t.Error(err)
				return
			}
			if err := snaps.Sync(t.Context()); err != nil {
				t.Error(err)
				return
			}
			if _, ok := snaps.Load().Relay(r.ID); !ok {
				t.Errorf("%s not in the snapshot after Sync", r.ID)
			}
		})
	}
	wg.Wait()
	if got := reg.reads.Load(); got > n/2 {
		t.Errorf("%d writers caused %d full reads, want them shared", n, got)
	}
	t.Logf("%d writers, %d full reads", n, reg.reads.Load())
}
