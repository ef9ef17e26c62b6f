package store_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

func TestSnapshotsFollowTheRegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := storetest.NewClock(storetest.T0)
		reg := store.NewMemory(store.MemoryConfig{Now: clk.Now})
		snaps := store.NewSnapshots(reg, time.Second, nil)
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
